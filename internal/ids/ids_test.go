package ids

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

func TestOrderedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 10000; i++ {
		id := New("ak")
		if !strings.HasPrefix(id, "ak_") || len(id) != 3+26 {
			t.Fatalf("bad id %q", id)
		}
		if id <= prev {
			t.Fatalf("not increasing: %q after %q", id, prev)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
		prev = id
	}
}

func TestAtOrdersByTime(t *testing.T) {
	a := At("x", time.Unix(100, 0))
	b := At("x", time.Unix(200, 0))
	if !(a < b) {
		t.Fatalf("%s !< %s", a, b)
	}
}

// oldEncode is the hand-written encoder this package had before it used
// github.com/oklog/ulid/v2, kept to prove the layout did not change.
func oldEncode(ms uint64, r [10]byte) string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	copy(b[6:], r[:])
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

func TestSameLayoutAsOldEncoder(t *testing.T) {
	cases := []struct {
		ms uint64
		r  [10]byte
	}{
		{0, [10]byte{}},
		{msMask, [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{uint64(time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC).UnixMilli()), [10]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for i := 0; i < 1000; i++ {
		var c struct {
			ms uint64
			r  [10]byte
		}
		var m [8]byte
		_, _ = rand.Read(m[:])
		_, _ = rand.Read(c.r[:])
		c.ms = binary.BigEndian.Uint64(m[:]) & msMask
		cases = append(cases, c)
	}
	for _, c := range cases {
		var id ulid.ULID
		if err := id.SetTime(c.ms); err != nil {
			t.Fatal(err)
		}
		copy(id[6:], c.r[:])
		if got, want := encode(id), oldEncode(c.ms, c.r); got != want {
			t.Fatalf("ms=%d r=%x: got %s, old encoder %s", c.ms, c.r, got, want)
		}
	}
}

func TestNewSortsAfterOldIDs(t *testing.T) {
	now := uint64(time.Now().UnixMilli())
	old := "ak_" + oldEncode(now-1, [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if id := New("ak"); id <= old {
		t.Fatalf("new id %s does not sort after an older id %s", id, old)
	}
}

func TestClockBackwardsStaysOrdered(t *testing.T) {
	a := encode(next(uint64(time.Now().UnixMilli()) + 50))
	b := encode(next(uint64(time.Now().UnixMilli())))
	if !(a < b) {
		t.Fatalf("%s !< %s after the clock went back", a, b)
	}
}
