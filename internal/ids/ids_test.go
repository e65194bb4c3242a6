package ids

import (
	"strings"
	"testing"
	"time"
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
