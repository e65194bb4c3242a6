package health

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestLiveStatsWindow(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewLiveStats()
	s.now = func() time.Time { return now }
	for i, lat := range []time.Duration{100, 200, 300, 400} {
		s.Observe("p:m", lat*time.Millisecond, time.Duration(i+1)*10*time.Millisecond, false)
	}
	s.Observe("p:m", time.Second, 0, true)
	m := s.Metrics("p:m")
	if m.RequestCount != 5 || m.ErrorRate != 0.2 || m.LatencyMsAvg != 250 || m.LatencyMsP95 != 400 || m.TTFTMsAvg != 25 {
		t.Fatalf("metrics %+v", m)
	}
	// samples older than the window fall out
	now = now.Add(statsWindow + time.Second)
	if m := s.Metrics("p:m"); m.RequestCount != 0 {
		t.Fatalf("after the window %+v", m)
	}
	s.Seed("p:x", 10, 50*time.Millisecond, 0, 0.5)
	if m := s.Metrics("p:x"); m.RequestCount != 10 || m.ErrorRate != 0.5 || m.LatencyMsAvg != 50 {
		t.Fatalf("seeded %+v", m)
	}
}

// TestLiveStatsBounded: pass-through model names are the client's choice;
// 10,000 distinct ones leave the map at its bound, and a model in steady
// use keeps its window through the flood.
func TestLiveStatsBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewLiveStats()
	s.now = func() time.Time { return now }
	for range 20 {
		s.Observe("openai:gpt-4o", 100*time.Millisecond, 0, false)
	}
	for i := range 10_000 {
		now = now.Add(time.Millisecond)
		s.Observe(fmt.Sprintf("openai:made-up-%d-%d", i, rand.Int64()), time.Millisecond, 0, i%2 == 0)
		if n := s.tracked(); n > maxTrackedModels {
			t.Fatalf("%d refs tracked after %d observations", n, i+1)
		}
	}
	if m := s.Metrics("openai:gpt-4o"); m.RequestCount != 20 || m.LatencyMsAvg != 100 {
		t.Fatalf("the model in use lost its window: %+v", m)
	}
	// Refs whose samples left the window go first, all at once.
	s.Observe("anthropic:old", time.Second, 0, false)
	now = now.Add(statsWindow + time.Second)
	for range 20 {
		s.Observe("openai:gpt-4o", 100*time.Millisecond, 0, false)
	}
	for i := 0; s.tracked() < maxTrackedModels; i++ {
		s.Observe(fmt.Sprintf("p:fill-%d", i), time.Millisecond, 0, false)
	}
	s.Observe("p:new", time.Millisecond, 0, false)
	if _, ok := s.lastSample("anthropic:old"); ok || s.tracked() > maxTrackedModels {
		t.Fatalf("stale ref kept (%d refs)", s.tracked())
	}
	s.m.Range(func(k, _ any) bool {
		if last, _ := s.lastSample(k.(string)); now.Sub(last) > statsWindow {
			t.Fatalf("stale %s kept", k)
		}
		return true
	})
	if s.Metrics("p:new").RequestCount != 1 || s.Metrics("openai:gpt-4o").RequestCount != 20 {
		t.Fatal("new or active ref missing")
	}
	for i := range 2 * maxTrackedModels {
		s.Seed(fmt.Sprintf("p:seed-%d", i), 1, time.Millisecond, 0, 0)
	}
	if n := s.tracked(); n > maxTrackedModels {
		t.Fatalf("seed grew the map to %d", n)
	}
}

// TestStatsAndHealthConcurrent: the shared windows and key states under
// concurrent requests (run with -race).
func TestStatsAndHealthConcurrent(t *testing.T) {
	s, h := NewLiveStats(), NewKeyHealth()
	keys := []key{{value: "a"}, {value: "b"}, {value: "c"}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				ref := fmt.Sprintf("p:m%d", (g+i)%5)
				s.Observe(ref, time.Duration(i)*time.Millisecond, time.Millisecond, i%7 == 0)
				_ = s.Metrics(ref)
				k := keys[i%3].value
				if i%4 == 0 {
					h.Failed("p", k, 429, 0)
				} else {
					h.Succeeded("p", k)
				}
				if got := Order(h, "p", keys, key.secret); len(got) != 3 {
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

// TestLiveStatsSummaryRefresh: a read returns the precomputed summary;
// small windows are always exact, a window in steady use is summarised
// again at most every refreshEvery, and a summary whose oldest sample
// left the window is never served.
func TestLiveStatsSummaryRefresh(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewLiveStats()
	s.now = func() time.Time { return now }
	for i := range steadySamples - 1 {
		s.Observe("p:m", 100*time.Millisecond, 0, false)
		if got := s.Metrics("p:m").RequestCount; got != int64(i+1) {
			t.Fatalf("small window: %d samples summarised, want %d", got, i+1)
		}
	}
	s.Observe("p:m", 100*time.Millisecond, 0, false)
	if got := s.Metrics("p:m").RequestCount; got != steadySamples {
		t.Fatalf("%d samples", got)
	}
	s.Observe("p:m", time.Second, 0, true) // a failure arrives
	if m := s.Metrics("p:m"); m.RequestCount != steadySamples || m.ErrorRate != 0 {
		t.Fatalf("within refreshEvery the summary is reused, got %+v", m)
	}
	now = now.Add(refreshEvery)
	if m := s.Metrics("p:m"); m.RequestCount != steadySamples+1 || m.ErrorRate == 0 {
		t.Fatalf("after refreshEvery: %+v", m)
	}
	// no new sample: the summary stays until its oldest sample expires
	now = now.Add(statsWindow - refreshEvery - time.Nanosecond)
	if got := s.Metrics("p:m").RequestCount; got != steadySamples+1 {
		t.Fatalf("inside the window: %d", got)
	}
	now = now.Add(time.Nanosecond)
	if got := s.Metrics("p:m").RequestCount; got != 0 {
		t.Fatalf("after the window: %d samples", got)
	}
}

// BenchmarkLiveStatsMetrics: the metrics of 50 candidates, read by
// concurrent selections while requests add samples.
func BenchmarkLiveStatsMetrics(b *testing.B) {
	s := NewLiveStats()
	refs := make([]string, 50)
	for i := range refs {
		refs[i] = fmt.Sprintf("p:m%d", i)
		for j := range maxSamples {
			s.Observe(refs[i], time.Duration(j)*time.Millisecond, time.Millisecond, j%10 == 0)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			s.Observe(refs[i%len(refs)], 100*time.Millisecond, 0, false)
			for _, ref := range refs {
				_ = s.Metrics(ref)
			}
		}
	})
}
