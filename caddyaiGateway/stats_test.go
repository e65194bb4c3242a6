package caddyaigateway

import (
	"fmt"
	"math/rand/v2"
	"sync"
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

// TestLiveStatsBounded: pass-through model names are the client's choice;
// 10,000 distinct ones leave the map at its bound, and a model in steady
// use keeps its window through the flood.
func TestLiveStatsBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newLiveStats()
	s.now = func() time.Time { return now }
	for range 20 {
		s.observe("openai:gpt-4o", 100*time.Millisecond, 0, false)
	}
	for i := range 10_000 {
		now = now.Add(time.Millisecond)
		s.observe(fmt.Sprintf("openai:made-up-%d-%d", i, rand.Int64()), time.Millisecond, 0, i%2 == 0)
		if len(s.m) > maxTrackedModels {
			t.Fatalf("%d refs tracked after %d observations", len(s.m), i+1)
		}
	}
	if m := s.metrics("openai:gpt-4o"); m.RequestCount != 20 || m.LatencyMsAvg != 100 {
		t.Fatalf("the model in use lost its window: %+v", m)
	}
	// Refs whose samples left the window go first, all at once.
	s.observe("anthropic:old", time.Second, 0, false)
	now = now.Add(statsWindow + time.Second)
	for range 20 {
		s.observe("openai:gpt-4o", 100*time.Millisecond, 0, false)
	}
	for i := 0; len(s.m) < maxTrackedModels; i++ {
		s.observe(fmt.Sprintf("p:fill-%d", i), time.Millisecond, 0, false)
	}
	s.observe("p:new", time.Millisecond, 0, false)
	if _, ok := s.m["anthropic:old"]; ok || len(s.m) > maxTrackedModels {
		t.Fatalf("stale ref kept (%d refs)", len(s.m))
	}
	for ref, ms := range s.m {
		if last := ms.samples[len(ms.samples)-1].at; now.Sub(last) > statsWindow {
			t.Fatalf("stale %s kept", ref)
		}
	}
	if s.metrics("p:new").RequestCount != 1 || s.metrics("openai:gpt-4o").RequestCount != 20 {
		t.Fatal("new or active ref missing")
	}
	for i := range 2 * maxTrackedModels {
		s.seed(fmt.Sprintf("p:seed-%d", i), 1, time.Millisecond, 0, 0)
	}
	if len(s.m) > maxTrackedModels {
		t.Fatalf("seed grew the map to %d", len(s.m))
	}
}

// TestKeyHealthBounded: rotated and deleted keys do not pile up.
func TestKeyHealthBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newKeyHealth()
	h.now = func() time.Time { return now }
	h.failed("p", "live", 401, 0)
	for i := range 10_000 {
		now = now.Add(10 * time.Millisecond)
		h.failed("p", fmt.Sprintf("key-%d", i), 429, 0)
		if len(h.m) > maxKeyStates {
			t.Fatalf("%d keys remembered after %d failures", len(h.m), i+1)
		}
		if i == 5_000 {
			now = now.Add(2 * cooldownCap) // the first half cooled down long ago
			h.failed("p", "live", 401, 0)
		}
	}
	if !h.cooling("p", "live") {
		t.Fatal("a cooling key was forgotten")
	}
}

// TestStatsAndHealthConcurrent: the shared windows and key states under
// concurrent requests (run with -race).
func TestStatsAndHealthConcurrent(t *testing.T) {
	s, h := newLiveStats(), newKeyHealth()
	keys := []keyChoice{{value: "a"}, {value: "b"}, {value: "c"}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				ref := fmt.Sprintf("p:m%d", (g+i)%5)
				s.observe(ref, time.Duration(i)*time.Millisecond, time.Millisecond, i%7 == 0)
				_ = s.metrics(ref)
				k := keys[i%3].value
				if i%4 == 0 {
					h.failed("p", k, 429, 0)
				} else {
					h.succeeded("p", k)
				}
				if got := h.order("p", keys); len(got) != 3 {
					t.Errorf("order lost keys: %v", got)
					return
				}
			}
		})
	}
	wg.Wait()
	if keys[0].value != "a" || keys[1].value != "b" || keys[2].value != "c" {
		t.Fatal("order changed the shared key slice")
	}
}
