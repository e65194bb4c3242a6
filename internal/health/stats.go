package health

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
)

// statsWindow is how far back the live metrics look.
const statsWindow = 5 * time.Minute

// LiveStats is this gateway's own rolling window of outcomes per
// provider:model: what selection strategies (fastest, most_reliable, CEL
// `m.metrics.*`) and /ai/models see.
//
// Every selection reads the metrics of every candidate, so reading is
// built to be cheap: the refs are in a sync.Map (no lock to find one),
// and each ref keeps its summary precomputed (an atomic pointer). A
// summary is recomputed only when samples arrived since, at most every
// refreshEvery under load (steadySamples), or when its oldest sample
// leaves the window;
// otherwise a read is two atomic loads. Writers lock only their own ref.
//
// A client chooses the model name of a pass-through request
// (`openai:<anything>`), so the map is bounded: at most maxTrackedModels
// refs; a new ref beyond that first evicts those with the least evidence
// (no sample inside the window, else the fewest samples). A model in
// steady use keeps its window through a flood of made-up names, each of
// which holds one sample.
type LiveStats struct {
	now func() time.Time
	m   sync.Map // ref → *modelStats
	// mu serialises adding and evicting refs (not reads, not samples);
	// n counts the refs.
	mu sync.Mutex
	n  int
}

type sample struct {
	at      time.Time
	latency time.Duration
	ttft    time.Duration // 0: not a stream
	failed  bool
}

// modelStats is one ref's window: a ring of its latest samples and the
// summary of them the readers share.
type modelStats struct {
	mu      sync.Mutex
	ring    []sample // at most maxSamples; oldest at head once full
	head    int
	version atomic.Uint64 // samples added
	summary atomic.Pointer[summary]
}

// summary is a window summarised at a point in time.
type summary struct {
	metrics selection.Metrics
	version uint64    // modelStats.version it summarises
	at      time.Time // when it was computed
	expires time.Time // when its oldest sample leaves the window (zero: none)
}

const maxSamples = 512

// A ref whose summary holds at least steadySamples samples is summarised
// again at most every refreshEvery: one more sample barely moves it, and
// under load it gets one per request. Smaller windows are always exact.
const (
	refreshEvery  = 100 * time.Millisecond
	steadySamples = 32
)

// maxTrackedModels bounds how many provider:model refs have a window;
// evictBatch is how many make room at once when it is reached.
const (
	maxTrackedModels = 1000
	evictBatch       = maxTrackedModels / 8
)

func NewLiveStats() *LiveStats { return &LiveStats{now: time.Now} }

// Observe records one attempt's outcome for ref (provider:model).
func (s *LiveStats) Observe(ref string, latency, ttft time.Duration, failed bool) {
	now := s.now()
	ms := s.stats(ref, now)
	ms.mu.Lock()
	ms.add(sample{at: now, latency: latency, ttft: ttft, failed: failed})
	ms.mu.Unlock()
}

// stats returns ref's window, adding it (and making room) when new.
func (s *LiveStats) stats(ref string, now time.Time) *modelStats {
	if v, ok := s.m.Load(ref); ok {
		return v.(*modelStats)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m.Load(ref); ok {
		return v.(*modelStats)
	}
	if s.n >= maxTrackedModels {
		s.evict(now)
	}
	ms := &modelStats{}
	s.m.Store(ref, ms)
	s.n++
	return ms
}

// add appends a sample, replacing the oldest when the ring is full.
// ms.mu is held.
func (ms *modelStats) add(sm sample) {
	if len(ms.ring) < maxSamples {
		ms.ring = append(ms.ring, sm)
	} else {
		ms.ring[ms.head] = sm
		ms.head = (ms.head + 1) % maxSamples
	}
	ms.version.Add(1)
}

// last returns the newest sample's time and the number of samples.
// ms.mu is held.
func (ms *modelStats) last() (time.Time, int) {
	if len(ms.ring) == 0 {
		return time.Time{}, 0
	}
	i := (ms.head + len(ms.ring) - 1) % len(ms.ring)
	return ms.ring[i].at, len(ms.ring)
}

// evict makes room for new refs: it drops every ref whose samples all
// left the window, or else up to evictBatch of the refs with the fewest
// samples (a made-up name holds one). Evicting in batches keeps a flood of
// new names from scanning the map on every request. s.mu is held.
func (s *LiveStats) evict(now time.Time) {
	cut := now.Add(-statsWindow)
	fewest := maxSamples + 1
	counts := map[string]int{}
	s.m.Range(func(k, v any) bool {
		ms := v.(*modelStats)
		ms.mu.Lock()
		last, n := ms.last()
		ms.mu.Unlock()
		if n == 0 || !last.After(cut) {
			s.m.Delete(k)
			s.n--
			return true
		}
		counts[k.(string)] = n
		fewest = min(fewest, n)
		return true
	})
	if s.n < maxTrackedModels {
		return
	}
	dropped := 0
	for ref, n := range counts {
		if n == fewest {
			s.m.Delete(ref)
			s.n--
			if dropped++; dropped == evictBatch {
				return
			}
		}
	}
}

// Metrics summarises the window for ref.
func (s *LiveStats) Metrics(ref string) selection.Metrics {
	v, ok := s.m.Load(ref)
	if !ok {
		return selection.Metrics{}
	}
	ms := v.(*modelStats)
	now := s.now()
	if sum := ms.summary.Load(); sum != nil && (sum.expires.IsZero() || now.Before(sum.expires)) &&
		(sum.version == ms.version.Load() || (sum.metrics.RequestCount >= steadySamples && now.Sub(sum.at) < refreshEvery)) {
		return sum.metrics
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	sum := ms.summarise(now)
	ms.summary.Store(sum)
	return sum.metrics
}

// summarise computes the summary of the samples inside the window at
// now. ms.mu is held.
func (ms *modelStats) summarise(now time.Time) *summary {
	out := &summary{version: ms.version.Load(), at: now}
	cut := now.Add(-statsWindow)
	var m selection.Metrics
	lat := make([]float64, 0, len(ms.ring))
	var ttftSum float64
	var ttftN, failed int
	for i := range ms.ring {
		sm := ms.ring[(ms.head+i)%len(ms.ring)]
		if !sm.at.After(cut) {
			continue
		}
		if out.expires.IsZero() {
			out.expires = sm.at.Add(statsWindow)
		}
		m.RequestCount++
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
	if m.RequestCount > 0 {
		m.ErrorRate = float64(failed) / float64(m.RequestCount)
	}
	if len(lat) > 0 {
		var sum float64
		for _, l := range lat {
			sum += l
		}
		m.LatencyMsAvg = sum / float64(len(lat))
		slices.Sort(lat)
		m.LatencyMsP95 = lat[min(len(lat)-1, int(float64(len(lat))*0.95))]
	}
	if ttftN > 0 {
		m.TTFTMsAvg = ttftSum / float64(ttftN)
	}
	out.metrics = m
	return out
}

// Seed replaces ref's window with n identical samples (tests and demos).
func (s *LiveStats) Seed(ref string, n int, latency, ttft time.Duration, errorRate float64) {
	now := s.now()
	ms := s.stats(ref, now)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.ring, ms.head = ms.ring[:0], 0
	failures := int(float64(n) * errorRate)
	for i := range min(n, maxSamples) {
		ms.add(sample{at: now, latency: latency, ttft: ttft, failed: i < failures})
	}
	ms.summary.Store(nil)
}

// tracked is how many refs have a window (tests).
func (s *LiveStats) tracked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// lastSample returns the time of ref's newest sample (tests).
func (s *LiveStats) lastSample(ref string) (time.Time, bool) {
	v, ok := s.m.Load(ref)
	if !ok {
		return time.Time{}, false
	}
	ms := v.(*modelStats)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	t, _ := ms.last()
	return t, true
}
