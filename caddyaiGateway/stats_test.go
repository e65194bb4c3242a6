package caddyaigateway

import (
	"testing"
	"time"
)

func TestLiveStatsWindow(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newLiveStats()
	s.now = func() time.Time { return now }
	for i, lat := range []time.Duration{100, 200, 300, 400} {
		s.observe("p:m", lat*time.Millisecond, time.Duration(i+1)*10*time.Millisecond, false)
	}
	s.observe("p:m", time.Second, 0, true)
	m := s.metrics("p:m")
	if m.RequestCount != 5 || m.ErrorRate != 0.2 || m.LatencyMsAvg != 250 || m.LatencyMsP95 != 400 || m.TTFTMsAvg != 25 {
		t.Fatalf("metrics %+v", m)
	}
	// samples older than the window fall out
	now = now.Add(statsWindow + time.Second)
	if m := s.metrics("p:m"); m.RequestCount != 0 {
		t.Fatalf("after the window %+v", m)
	}
	s.seed("p:x", 10, 50*time.Millisecond, 0, 0.5)
	if m := s.metrics("p:x"); m.RequestCount != 10 || m.ErrorRate != 0.5 || m.LatencyMsAvg != 50 {
		t.Fatalf("seeded %+v", m)
	}
}

func TestKeyHealthCooldown(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newKeyHealth()
	h.now = func() time.Time { return now }
	keys := []keyChoice{{value: "a"}, {value: "b"}, {value: "c"}}
	h.failed("p", "a", 429, 0)
	if got := h.order("p", keys); got[0].value != "b" || got[2].value != "a" {
		t.Fatalf("order %v", got)
	}
	// a 429's cooldown lasts 5s, doubling with each consecutive failure
	now = now.Add(5 * time.Second)
	if h.cooling("p", "a") {
		t.Fatal("still cooling after 5s")
	}
	h.failed("p", "a", 429, 0)
	now = now.Add(9 * time.Second)
	if !h.cooling("p", "a") {
		t.Fatal("second failure should cool 10s")
	}
	// Retry-After longer than the base wins; a refusal cools 60s
	h.failed("p", "b", 429, 30*time.Second)
	h.failed("p", "c", 401, 0)
	now = now.Add(29 * time.Second)
	if !h.cooling("p", "b") || !h.cooling("p", "c") {
		t.Fatal("cooldowns too short")
	}
	// success forgets
	h.succeeded("p", "c")
	if h.cooling("p", "c") {
		t.Fatal("success did not reset the key")
	}
	// keys are per provider
	if h.cooling("q", "b") {
		t.Fatal("cooldown leaked to another provider")
	}
}
