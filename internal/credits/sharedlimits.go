package credits

import (
	"context"
	"sync"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// LimitStore keeps the admissions of every node of a shared store, so that
// a key's limits hold for the key as a whole, not per node.
type LimitStore interface {
	// AdmitKey reads what the key used since minuteFrom (requests, tokens)
	// and dayFrom (spend), asks decide, and when decide returns nil records
	// an admission of tokens and cost at time at, returning its id. It is
	// serialised per key across nodes, so no two admissions see the same
	// window.
	AdmitKey(ctx context.Context, keyID string, at, minuteFrom, dayFrom time.Time, tokens int64, cost money.Nano, decide func(KeyWindow) error) (id int64, err error)
	// SettleKey replaces an admission's reserved tokens and cost with what
	// the request used.
	SettleKey(ctx context.Context, id int64, tokens int64, cost money.Nano) error
}

// SharedLimiter enforces per-key limits across the nodes of a shared
// store: every admission of a limited key is one store round trip (keys
// without limits pay nothing), checked against the admissions of every
// node in one serialised transaction, so the limits are exact: concurrent
// requests on several nodes cannot overshoot them. Settling is
// asynchronous (the request does not wait for it).
type SharedLimiter struct {
	store   LimitStore
	now     func() time.Time
	timeout time.Duration
	onError func(error)
}

// NewSharedLimiter returns a limiter over store; now may be nil.
func NewSharedLimiter(store LimitStore, now func() time.Time, onError func(error)) *SharedLimiter {
	if now == nil {
		now = time.Now
	}
	return &SharedLimiter{store: store, now: now, timeout: 5 * time.Second, onError: onError}
}

// Admit checks and reserves a request of estTokens tokens and worstCost. A
// store that cannot answer refuses with ErrStorage.
func (l *SharedLimiter) Admit(keyID string, lim Limits, estTokens int64, worstCost money.Nano) (*Admission, error) {
	if lim.IsZero() {
		return nil, nil
	}
	now := l.now()
	cost := money.Nano(0)
	if lim.SpendPerDay > 0 {
		cost = worstCost
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	var refused *LimitError
	id, err := l.store.AdmitKey(ctx, keyID, now, now.Add(-time.Minute), now.UTC().Truncate(24*time.Hour), estTokens, cost,
		func(w KeyWindow) error {
			refused = lim.check(now, w, estTokens, worstCost, func() time.Duration { return time.Minute })
			if refused != nil {
				return refused
			}
			return nil
		})
	if refused != nil {
		return nil, refused
	}
	if err != nil {
		return nil, ErrStorage
	}
	var once sync.Once
	return &Admission{settle: func(tokens int64, cost money.Nano) {
		if lim.SpendPerDay == 0 {
			cost = 0
		}
		once.Do(func() { go l.settle(id, tokens, cost) })
	}}, nil
}

// settle records what an admitted request used (in the background).
func (l *SharedLimiter) settle(id, tokens int64, cost money.Nano) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	if err := l.store.SettleKey(ctx, id, tokens, cost); err != nil && l.onError != nil {
		l.onError(err)
	}
}
