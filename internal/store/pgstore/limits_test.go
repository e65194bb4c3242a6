package pgstore

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

// TestSharedLimitsAcrossNodes: three limiters (three nodes, each its own
// pool on one database) admit 90 concurrent requests of one key limited
// to 30 requests per minute: exactly 30 pass. A spend limit holds across
// them too, settled amounts included.
func TestSharedLimitsAcrossNodes(t *testing.T) {
	url := testpg.URL(t)
	var ls []*credits.SharedLimiter
	for range 3 {
		ls = append(ls, credits.NewSharedLimiter(open(t, url), nil, func(err error) { t.Error(err) }))
	}
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Go(func() {
			a, err := ls[i%3].Admit("ak_1", credits.Limits{RequestsPerMinute: 30}, 10, 0)
			var le *credits.LimitError
			switch {
			case err == nil && a != nil:
				admitted.Add(1)
			case errors.As(err, &le) && le.Limit == "requestsPerMinute" && le.RetryAfter > 0:
				refused.Add(1)
			default:
				t.Errorf("admission %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 30 || refused.Load() != 60 {
		t.Fatalf("admitted %d, refused %d", admitted.Load(), refused.Load())
	}

	// spendPerDay: reservations count, then what was really spent
	lim := credits.Limits{SpendPerDay: money.USD}
	a, err := ls[0].Admit("ak_2", lim, 0, 3*money.USD/4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls[1].Admit("ak_2", lim, 0, money.USD/2); err == nil {
		t.Fatal("a second node overspent the key's day")
	}
	a.Settle(0, money.USD/4) // it cost less than reserved
	var b *credits.Admission
	deadline := time.Now().Add(5 * time.Second)
	for b == nil && time.Now().Before(deadline) { // settling is asynchronous
		b, _ = ls[2].Admit("ak_2", lim, 0, money.USD/2)
		time.Sleep(10 * time.Millisecond)
	}
	if b == nil {
		t.Fatal("the settled amount never freed the key's day")
	}
}
