package hold

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
)

// testLedger is a ledger on a fresh store where account "rich" holds one
// USD and account "poor" nothing.
func testLedger(t *testing.T) *credits.Ledger {
	t.Helper()
	db, err := boltstore.Open(filepath.Join(t.TempDir(), "hold.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Purchase("rich", money.Nano(money.USD), "", "test"); err != nil {
		t.Fatal(err)
	}
	return l
}

type limiterFunc func() (*credits.Admission, error)

func (f limiterFunc) Admit(string, credits.Limits, int64, money.Nano) (*credits.Admission, error) {
	return f()
}

type recorder []*store.UsageEvent

func (r *recorder) RecordUsage(ev *store.UsageEvent) { *r = append(*r, ev) }

func TestBillReserve(t *testing.T) {
	l := testLedger(t)
	admit := limiterFunc(func() (*credits.Admission, error) { return nil, nil })
	limited := limiterFunc(func() (*credits.Admission, error) {
		return nil, &credits.LimitError{Limit: "rpm", RetryAfter: 300 * time.Millisecond, Message: "too many"}
	})
	away := limiterFunc(func() (*credits.Admission, error) { return nil, credits.ErrStorage })
	some := credits.Limits{RequestsPerMinute: 1}
	cent := money.Nano(money.USD / 100)
	for _, tc := range []struct {
		name       string
		account    string
		plan       Plan
		limiter    Limiter
		lim        credits.Limits
		ok         bool
		status     int // the refusal's, 0: none
		retryAfter int
	}{
		{"managed, covered", "rich", Plan{Managed: true, ManagedWorst: cent}, admit, some, true, 0, 0},
		{"managed, not covered", "poor", Plan{Managed: true, ManagedWorst: cent}, admit, some, false, http.StatusPaymentRequired, 0},
		{"customer keys without a fee run at zero", "poor", Plan{User: true}, admit, some, true, 0, 0},
		{"customer keys with a fee need it", "poor", Plan{User: true, UserWorst: cent}, admit, some, false, http.StatusPaymentRequired, 0},
		{"managed refused, customer keys fall back", "poor", Plan{Managed: true, ManagedWorst: cent, User: true}, admit, some, true, 0, 0},
		{"unpriced", "rich", Plan{Unpriced: []string{"a/x"}}, admit, some, false, http.StatusUnprocessableEntity, 0},
		{"nothing to pay with", "rich", Plan{}, admit, some, false, 0, 0},
		{"limited before money", "rich", Plan{Managed: true, ManagedWorst: cent}, limited, some, false, http.StatusTooManyRequests, 1},
		{"limits unavailable", "rich", Plan{Managed: true, ManagedWorst: cent}, away, some, false, http.StatusServiceUnavailable, 0},
		{"no limits, no admission", "rich", Plan{Managed: true, ManagedWorst: cent}, limited, credits.Limits{}, true, 0, 0},
	} {
		b := &Bill{AccountID: tc.account}
		ok, err := b.Reserve(l, tc.limiter, tc.plan, tc.lim)
		if ok != tc.ok {
			t.Errorf("%s: reserved %v, want %v (%v)", tc.name, ok, tc.ok, err)
		}
		status, retryAfter := 0, 0
		if err != nil {
			var e *apierr.Error
			e, retryAfter = Refusal(err)
			status = e.Status
		}
		if status != tc.status || retryAfter != tc.retryAfter {
			t.Errorf("%s: refused %d (Retry-After %d), want %d (%d): %v", tc.name, status, retryAfter, tc.status, tc.retryAfter, err)
		}
		if ok {
			b.Settle("req-"+tc.name, nil, 0, nil, &recorder{}) // gives the hold back
		}
	}
}

func TestBillUsable(t *testing.T) {
	usd := money.PerMillion(money.USD)
	priced, free := target("a", &catalog.Model{ID: "m", Pricing: catalog.Pricing{Input: &usd, Output: &usd}}, "m"), target("b", nil, "local")
	managed, user := routing.Key{Source: routing.SourceManaged}, routing.Key{Source: routing.SourceUser}
	plan := Plan{Managed: true, ManagedWorst: 1, User: true, Priced: map[string]bool{priced.Ref(): true, free.Ref(): false}}
	l := testLedger(t)
	for _, tc := range []struct {
		name    string
		account string
		t       registry.Target
		want    int
	}{
		{"managed keys of a priced target", "rich", priced, 2},
		{"no managed keys of an unpriced target", "rich", free, 1},
		{"no managed keys when the balance did not cover them", "poor", priced, 1},
	} {
		b := &Bill{AccountID: tc.account}
		if ok, err := b.Reserve(l, nil, plan, credits.Limits{}); !ok {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := b.Usable(tc.t, []routing.Key{managed, user}); len(got) != tc.want {
			t.Errorf("%s: %d usable keys, want %d", tc.name, len(got), tc.want)
		}
	}
}

func TestBillExtendAndSettle(t *testing.T) {
	usd := money.PerMillion(money.USD)
	tg := target("a", &catalog.Model{ID: "m", Pricing: catalog.Pricing{Input: &usd, Output: &usd}}, "m")
	req := testRequest("chat/completions", true, 100, nil)
	managed := routing.Key{Source: routing.SourceManaged}
	l := testLedger(t)
	b := &Bill{AccountID: "rich"}
	if ok, err := b.Reserve(l, nil, Plan{Managed: true, ManagedWorst: 1000}, credits.Limits{}); !ok {
		t.Fatal(err)
	}
	worst := WorstCase(req, tg, 0, true, 200)
	if err := b.Extend(req, tg, managed, 200); err != nil {
		t.Fatal(err)
	}
	if err := b.Extend(req, tg, managed, 200); err != nil || b.spare != worst {
		t.Fatalf("an extension not taken covers the next: spare %s, want %s (%v)", b.spare, worst, err)
	}
	if got := b.hold.Amount(); got != 1000+worst {
		t.Fatalf("hold %s, want %s", got, 1000+worst)
	}
	b.Streaming()
	if err := b.Extend(req, tg, managed, 200); err != nil || b.hold.Amount() != 1000+2*worst {
		t.Fatalf("a started continuation's extension is taken: hold %s (%v)", b.hold.Amount(), err)
	}

	var rec recorder
	ev := &store.UsageEvent{ID: "ue_1", RequestID: "r1"}
	charges := credits.AppendAttemptCharges(nil, "a", "m", 10, true, 5000, 100)
	res, err := b.Settle("r1", charges, 10, []*store.UsageEvent{ev}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Settled() || b.Charged() != 5100 || res.Charged != 5100 || res.Uncovered != 0 {
		t.Fatalf("settled %v charged %s (%+v)", b.Settled(), b.Charged(), res)
	}
	if res.Stored != (len(rec) == 0) {
		t.Fatalf("stored %v, recorded %d events", res.Stored, len(rec))
	}
	if err := b.Extend(req, tg, managed, 10_000); err == nil {
		t.Fatal("a settled bill extended")
	}
	if b, _ := l.Balance("rich"); b.Available != money.Nano(money.USD)-5100 {
		t.Fatalf("available %s after the settlement", b.Available)
	}
}
