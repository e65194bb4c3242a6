package credits

import (
	"fmt"
	"sync"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Limits are an access key's rate and spend limits; zero means none.
type Limits struct {
	RequestsPerMinute int64
	TokensPerMinute   int64
	SpendPerDay       money.Nano
}

// IsZero reports whether no limit is set.
func (l Limits) IsZero() bool { return l == Limits{} }

// Limiter enforces per-access-key limits the way the ledger enforces
// balances: a request reserves its worst case (one request, its estimated
// tokens, its worst-case cost) before it starts, and settles the real
// amounts after; concurrent requests cannot overshoot a limit. Windows:
// the last 60 seconds for requests and tokens, the UTC day for spend.
type Limiter struct {
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]*keyUsage
}

type keyUsage struct {
	requests []time.Time // start times in the last minute
	tokens   []*tokenUse // tokens by time in the last minute
	day      string      // UTC date of spent/held
	spent    money.Nano
	held     money.Nano
}

type tokenUse struct {
	at time.Time
	n  int64
}

// NewLimiter makes a limiter; now may be nil (time.Now).
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, keys: map[string]*keyUsage{}}
}

// LimitError is a refused admission with when to retry.
type LimitError struct {
	Limit      string
	RetryAfter time.Duration
	Message    string
}

func (e *LimitError) Error() string { return e.Message }

// Admission is one admitted request.
type Admission struct {
	settle func(tokens int64, cost money.Nano) // many nodes: SharedLimiter

	l      *Limiter
	key    string
	u      *keyUsage
	tokens *tokenUse
	cost   money.Nano
	day    string
	done   bool
}

// SeedSpent sets what a key already spent today (from the ledger at
// start), so a restart does not reset spendPerDay.
func (l *Limiter) SeedSpent(keyID string, spent money.Nano) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.usage(keyID)
	u.day, u.spent = l.now().UTC().Format(time.DateOnly), spent
}

func (l *Limiter) usage(keyID string) *keyUsage {
	u := l.keys[keyID]
	if u == nil {
		u = &keyUsage{}
		l.keys[keyID] = u
	}
	return u
}

// Admit checks and reserves a request of estTokens tokens and worstCost.
func (l *Limiter) Admit(keyID string, lim Limits, estTokens int64, worstCost money.Nano) (*Admission, error) {
	if lim.IsZero() {
		return nil, nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.usage(keyID)
	cut := now.Add(-time.Minute)
	for len(u.requests) > 0 && !u.requests[0].After(cut) {
		u.requests = u.requests[1:]
	}
	for len(u.tokens) > 0 && !u.tokens[0].at.After(cut) {
		u.tokens = u.tokens[1:]
	}
	day := now.UTC().Format(time.DateOnly)
	if u.day != day {
		u.day, u.spent, u.held = day, 0, 0
	}
	w := KeyWindow{Requests: int64(len(u.requests)), Committed: money.SatAdd(u.spent, u.held)}
	if len(u.requests) > 0 {
		w.Oldest = u.requests[0]
	}
	for _, t := range u.tokens {
		w.Tokens = money.SatAddTokens(w.Tokens, t.n)
	}
	// retry when enough of the window has passed
	tokenWait := func() time.Duration {
		free := lim.TokensPerMinute - w.Tokens
		for _, t := range u.tokens {
			free += t.n
			if free >= estTokens {
				return t.at.Add(time.Minute).Sub(now)
			}
		}
		return time.Minute
	}
	if err := lim.check(now, w, estTokens, worstCost, tokenWait); err != nil {
		return nil, err
	}
	a := &Admission{l: l, key: keyID, u: u, day: day}
	u.requests = append(u.requests, now)
	if estTokens > 0 {
		a.tokens = &tokenUse{at: now, n: estTokens}
		u.tokens = append(u.tokens, a.tokens)
	}
	if lim.SpendPerDay > 0 {
		a.cost = worstCost
		u.held += worstCost
	}
	return a, nil
}

// KeyWindow is what a key used in the windows of its limits: requests
// and tokens in the last minute (Oldest is the first of those requests),
// and the spend of the UTC day, settled or reserved.
type KeyWindow struct {
	Requests  int64
	Oldest    time.Time
	Tokens    int64
	Committed money.Nano
}

// check refuses a request of estTokens and worstCost that w leaves no room
// for; tokenWait says when enough tokens will have left the window.
func (lim Limits) check(now time.Time, w KeyWindow, estTokens int64, worstCost money.Nano, tokenWait func() time.Duration) *LimitError {
	if lim.RequestsPerMinute > 0 && w.Requests >= lim.RequestsPerMinute {
		return &LimitError{Limit: "requestsPerMinute", RetryAfter: max(w.Oldest.Add(time.Minute).Sub(now), time.Second),
			Message: fmt.Sprintf("rate limited: %d requests per minute", lim.RequestsPerMinute)}
	}
	if lim.TokensPerMinute > 0 {
		if estTokens > lim.TokensPerMinute {
			return &LimitError{Limit: "tokensPerMinute", RetryAfter: time.Minute,
				Message: fmt.Sprintf("rate limited: this request may use up to %d tokens, more than the key's %d tokens per minute (lower max_tokens)", estTokens, lim.TokensPerMinute)}
		}
		if money.SatAddTokens(w.Tokens, estTokens) > lim.TokensPerMinute {
			return &LimitError{Limit: "tokensPerMinute", RetryAfter: tokenWait(),
				Message: fmt.Sprintf("rate limited: %d tokens per minute", lim.TokensPerMinute)}
		}
	}
	if lim.SpendPerDay > 0 && money.SatAdd(w.Committed, worstCost) > lim.SpendPerDay {
		midnight := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		return &LimitError{Limit: "spendPerDay", RetryAfter: midnight.Sub(now),
			Message: fmt.Sprintf("rate limited: the key's spend limit of %s USD per day is reached (spent and in flight %s, this request up to %s)", lim.SpendPerDay, w.Committed, worstCost)}
	}
	return nil
}

// Settle replaces the reservation with what the request really used.
func (a *Admission) Settle(tokens int64, cost money.Nano) {
	if a == nil {
		return
	}
	if a.settle != nil {
		a.settle(tokens, cost)
		return
	}
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if a.done {
		return
	}
	a.done = true
	if a.tokens != nil {
		a.tokens.n = tokens
	}
	if a.u.day == a.day {
		a.u.held -= a.cost
		a.u.spent += cost
	}
}
