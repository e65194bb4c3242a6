package health

import (
	"fmt"
	"testing"
	"time"
)

// key stands for the gateway's key choice: a value and what else it carries.
type key struct{ value string }

func (k key) secret() string { return k.value }

func TestKeyHealthCooldown(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := NewKeyHealth()
	h.now = func() time.Time { return now }
	keys := []key{{value: "a"}, {value: "b"}, {value: "c"}}
	h.Failed("p", "a", 429, 0)
	if got := Order(h, "p", keys, key.secret); got[0].value != "b" || got[2].value != "a" {
		t.Fatalf("order %v", got)
	}
	// a 429's cooldown lasts 5s, doubling with each consecutive failure
	now = now.Add(5 * time.Second)
	if h.Cooling("p", "a") {
		t.Fatal("still cooling after 5s")
	}
	h.Failed("p", "a", 429, 0)
	now = now.Add(9 * time.Second)
	if !h.Cooling("p", "a") {
		t.Fatal("second failure should cool 10s")
	}
	// Retry-After longer than the base wins; a refusal cools 60s
	h.Failed("p", "b", 429, 30*time.Second)
	h.Failed("p", "c", 401, 0)
	now = now.Add(29 * time.Second)
	if !h.Cooling("p", "b") || !h.Cooling("p", "c") {
		t.Fatal("cooldowns too short")
	}
	// success forgets
	h.Succeeded("p", "c")
	if h.Cooling("p", "c") {
		t.Fatal("success did not reset the key")
	}
	// keys are per provider
	if h.Cooling("q", "b") {
		t.Fatal("cooldown leaked to another provider")
	}
}

// TestKeyHealthBounded: rotated and deleted keys do not pile up.
func TestKeyHealthBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := NewKeyHealth()
	h.now = func() time.Time { return now }
	h.Failed("p", "live", 401, 0)
	for i := range 10_000 {
		now = now.Add(10 * time.Millisecond)
		h.Failed("p", fmt.Sprintf("key-%d", i), 429, 0)
		if len(h.m) > maxKeyStates {
			t.Fatalf("%d keys remembered after %d failures", len(h.m), i+1)
		}
		if i == 5_000 {
			now = now.Add(2 * cooldownCap) // the first half cooled down long ago
			h.Failed("p", "live", 401, 0)
		}
	}
	if !h.Cooling("p", "live") {
		t.Fatal("a cooling key was forgotten")
	}
}
