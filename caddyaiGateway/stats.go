package caddyaigateway

import (
	"sort"
	"sync"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
)

// statsWindow is how far back the live metrics look.
const statsWindow = 5 * time.Minute

// liveStats is this gateway's own rolling window of outcomes per
// provider:model: what selection strategies (fastest, most_reliable, CEL
// `m.metrics.*`) and /ai/models see.
type liveStats struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*modelStats
}

type sample struct {
	at      time.Time
	latency time.Duration
	ttft    time.Duration // 0: not a stream
	failed  bool
}

type modelStats struct {
	samples []sample // oldest first, at most maxSamples
}

const maxSamples = 512

func newLiveStats() *liveStats {
	return &liveStats{now: time.Now, m: map[string]*modelStats{}}
}

// observe records one attempt's outcome for ref (provider:model).
func (s *liveStats) observe(ref string, latency, ttft time.Duration, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.m[ref]
	if ms == nil {
		ms = &modelStats{}
		s.m[ref] = ms
	}
	if len(ms.samples) == maxSamples {
		copy(ms.samples, ms.samples[1:])
		ms.samples = ms.samples[:maxSamples-1]
	}
	ms.samples = append(ms.samples, sample{at: s.now(), latency: latency, ttft: ttft, failed: failed})
}

// metrics summarises the window for ref.
func (s *liveStats) metrics(ref string) selection.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.m[ref]
	if ms == nil {
		return selection.Metrics{}
	}
	cut := s.now().Add(-statsWindow)
	i := sort.Search(len(ms.samples), func(i int) bool { return ms.samples[i].at.After(cut) })
	ms.samples = ms.samples[i:]
	var out selection.Metrics
	var lat []float64
	var ttftSum float64
	var ttftN, failed int
	for _, sm := range ms.samples {
		if sm.failed {
			failed++
			continue
		}
		lat = append(lat, float64(sm.latency)/float64(time.Millisecond))
		if sm.ttft > 0 {
			ttftSum += float64(sm.ttft) / float64(time.Millisecond)
			ttftN++
		}
	}
	out.RequestCount = int64(len(ms.samples))
	if out.RequestCount > 0 {
		out.ErrorRate = float64(failed) / float64(out.RequestCount)
	}
	if len(lat) > 0 {
		var sum float64
		for _, l := range lat {
			sum += l
		}
		out.LatencyMsAvg = sum / float64(len(lat))
		sort.Float64s(lat)
		out.LatencyMsP95 = lat[min(len(lat)-1, int(float64(len(lat))*0.95))]
	}
	if ttftN > 0 {
		out.TTFTMsAvg = ttftSum / float64(ttftN)
	}
	return out
}

// seed replaces ref's window with n identical samples (tests and demos).
func (s *liveStats) seed(ref string, n int, latency, ttft time.Duration, errorRate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := &modelStats{}
	now := s.now()
	failures := int(float64(n) * errorRate)
	for i := 0; i < n; i++ {
		ms.samples = append(ms.samples, sample{at: now, latency: latency, ttft: ttft, failed: i < failures})
	}
	s.m[ref] = ms
}
