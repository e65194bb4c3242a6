package health

import (
	"sort"
	"sync"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
)

// statsWindow is how far back the live metrics look.
const statsWindow = 5 * time.Minute

// LiveStats is this gateway's own rolling window of outcomes per
// provider:model: what selection strategies (fastest, most_reliable, CEL
// `m.metrics.*`) and /ai/models see.
//
// A client chooses the model name of a pass-through request
// (`openai:<anything>`), so the map is bounded: at most maxTrackedModels
// refs; a new ref beyond that first evicts those with the least evidence
// (no sample inside the window, else the fewest samples). A model in
// steady use keeps its window through a flood of made-up names, each of
// which holds one sample.
type LiveStats struct {
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

// maxTrackedModels bounds how many provider:model refs have a window;
// evictBatch is how many make room at once when it is reached.
const (
	maxTrackedModels = 1000
	evictBatch       = maxTrackedModels / 8
)

func NewLiveStats() *LiveStats {
	return &LiveStats{now: time.Now, m: map[string]*modelStats{}}
}

// Observe records one attempt's outcome for ref (provider:model).
func (s *LiveStats) Observe(ref string, latency, ttft time.Duration, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ms := s.m[ref]
	if ms == nil {
		if len(s.m) >= maxTrackedModels {
			s.evict(now)
		}
		ms = &modelStats{}
		s.m[ref] = ms
	}
	if len(ms.samples) == maxSamples {
		copy(ms.samples, ms.samples[1:])
		ms.samples = ms.samples[:maxSamples-1]
	}
	ms.samples = append(ms.samples, sample{at: now, latency: latency, ttft: ttft, failed: failed})
}

// evict makes room for new refs: it drops every ref whose samples all
// left the window, or else up to evictBatch of the refs with the fewest
// samples (a made-up name holds one). Evicting in batches keeps a flood of
// new names from scanning the map on every request. s.mu is held.
func (s *LiveStats) evict(now time.Time) {
	cut := now.Add(-statsWindow)
	fewest := maxSamples + 1
	for ref, ms := range s.m {
		n := len(ms.samples)
		if n == 0 || !ms.samples[n-1].at.After(cut) {
			delete(s.m, ref)
			continue
		}
		fewest = min(fewest, n)
	}
	if len(s.m) < maxTrackedModels {
		return
	}
	dropped := 0
	for ref, ms := range s.m {
		if len(ms.samples) == fewest {
			delete(s.m, ref)
			if dropped++; dropped == evictBatch {
				return
			}
		}
	}
}

// Metrics summarises the window for ref.
func (s *LiveStats) Metrics(ref string) selection.Metrics {
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

// Seed replaces ref's window with n identical samples (tests and demos).
func (s *LiveStats) Seed(ref string, n int, latency, ttft time.Duration, errorRate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := &modelStats{}
	now := s.now()
	if _, ok := s.m[ref]; !ok && len(s.m) >= maxTrackedModels {
		s.evict(now)
	}
	failures := int(float64(n) * errorRate)
	for i := 0; i < n; i++ {
		ms.samples = append(ms.samples, sample{at: now, latency: latency, ttft: ttft, failed: i < failures})
	}
	s.m[ref] = ms
}
