package selection

import (
	"sync"
	"sync/atomic"
)

// strategyCache holds compiled strategies of access key configurations
// (compiled once per source text, not per request). Every edit of a
// configuration's modelSelection adds a text, so the cache is emptied when
// it reaches maxCachedStrategies; the strategies in use compile again on
// their next request.
var (
	strategyCache     sync.Map // source → *Strategy
	strategyCacheSize atomic.Int64
)

const maxCachedStrategies = 1024

// CompileCached compiles srcs, each source text once for the process.
func CompileCached(srcs []string) ([]*Strategy, error) {
	out := make([]*Strategy, 0, len(srcs))
	for _, src := range srcs {
		if s, ok := strategyCache.Load(src); ok {
			out = append(out, s.(*Strategy))
			continue
		}
		s, err := Compile(src)
		if err != nil {
			return nil, err
		}
		if strategyCacheSize.Load() >= maxCachedStrategies {
			strategyCache.Clear()
			strategyCacheSize.Store(0)
		}
		if _, loaded := strategyCache.LoadOrStore(src, s); !loaded {
			strategyCacheSize.Add(1)
		}
		out = append(out, s)
	}
	return out, nil
}
