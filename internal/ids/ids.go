// Package ids makes the gateway's resource identifiers: a typed prefix and
// a 26-character, time-ordered, base32 body (ULID layout: 48 bits of
// milliseconds, 80 random bits). Ordering by id is ordering by creation,
// which is what cursor paging (?beforeId=) relies on.
//
// The layout, encoding and in-millisecond monotonicity come from
// github.com/oklog/ulid/v2, the reference ULID implementation; it lays the
// bits out exactly as the hand-written encoder this package had, so ids made
// before and after sort together by time. Two things stay here: the lower
// case (ids are stored and compared as strings, and the ones already stored
// are lower case) and never going back in time when the clock does.
package ids

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// msMask keeps the 48 bits a ULID has for its time, as the hand-written
// encoder did for times before 1970 or after the year 10889.
const msMask = 1<<48 - 1

var (
	mu      sync.Mutex
	lastMs  uint64
	entropy = ulid.Monotonic(rand.Reader, 0)
	tail    [10]byte // entropy's output; a global, so it needs no allocation
)

// New returns prefix + "_" + a new time-ordered id. Ids made in the same
// millisecond by this process still sort in creation order.
func New(prefix string) string {
	return withPrefix(prefix, next(uint64(time.Now().UnixMilli())&msMask))
}

// withPrefix is prefix + "_" + encode(id) in one allocation.
func withPrefix(prefix string, id ulid.ULID) string {
	var buf [32 + ulid.EncodedSize]byte
	b := append(buf[:0], prefix...)
	b = append(b, '_')
	n := len(b)
	b = b[:n+ulid.EncodedSize]
	_ = id.MarshalTextTo(b[n:]) // b[n:] is the size it needs
	lower(b[n:])
	return string(b)
}

// At returns an id for time t with a random tail (no monotonic guarantee
// within a millisecond); for keys of records whose time is given.
func At(prefix string, t time.Time) string {
	var id ulid.ULID
	_ = id.SetTime(uint64(t.UnixMilli()) & msMask) // masked: never too big
	_, _ = rand.Read(id[6:])                       // crypto/rand.Read never fails
	return prefix + "_" + encode(id)
}

// next returns a ULID for ms that sorts after every one it returned before.
func next(ms uint64) ulid.ULID {
	mu.Lock()
	defer mu.Unlock()
	if ms < lastMs {
		ms = lastMs // clock went backwards: stay ordered
	}
	for {
		var id ulid.ULID
		_ = id.SetTime(ms) // masked by the caller: never too big
		// Not ulid.New(ms, entropy): the entropy's io.Reader would move id
		// to the heap, an allocation per id the old encoder did not have.
		if err := entropy.MonotonicRead(ms, tail[:]); err == nil {
			copy(id[6:], tail[:])
			lastMs = ms
			return id
		}
		// ulid.ErrMonotonicOverflow: the millisecond's 80 random bits are
		// used up; borrow the next millisecond rather than repeat or wrap.
		ms++
	}
}

// encode writes id as 26 lower-case Crockford base32 characters.
func encode(id ulid.ULID) string {
	var out [ulid.EncodedSize]byte
	_ = id.MarshalTextTo(out[:]) // out is the size it needs
	lower(out[:])
	return string(out[:])
}

func lower(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}
