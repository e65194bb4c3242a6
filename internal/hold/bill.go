package hold

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Ledger reserves against account balances (credits.Ledger).
type Ledger interface {
	Reserve(accountID string, amount money.Nano) (*credits.Hold, error)
	FreeHold(accountID string) *credits.Hold
}

// Limiter admits a request under an access key's limits
// (credits.Limiter, credits.SharedLimiter).
type Limiter interface {
	Admit(keyID string, lim credits.Limits, estTokens int64, worstCost money.Nano) (*credits.Admission, error)
}

// UsageRecorder stores usage events the settlement did not store itself.
type UsageRecorder interface {
	RecordUsage(ev *store.UsageEvent)
}

// Bill is one request's reservation against its account, from before its
// first attempt to its one settlement: a hold that bounds what the request
// can be charged, its admission under the access key's limits, and the
// extensions its stream's continuations need.
type Bill struct {
	AccountID   string
	AccessKeyID string
	Fees        credits.Fees

	hold         *credits.Hold
	admission    *credits.Admission
	allowManaged bool
	priced       map[string]bool // target ref → has a price
	// spare is what the hold was extended by for a continuation that has
	// not started streaming yet.
	spare   money.Nano
	settled bool
	charged money.Nano
}

// UnpricedError refuses a request paid with credits whose only managed
// targets have no price.
type UnpricedError struct{ Targets []string }

func (e *UnpricedError) Error() string {
	return strings.Join(e.Targets, ", ") + " has no price: requests paid with credits need one (set input_price and output_price, 0 included)"
}

// ErrLimitsUnavailable: the store that counts the key's limits could not
// admit the request.
var ErrLimitsUnavailable = errors.New("the store that counts the key's limits is unavailable")

// Reserve reserves plan's worst case before any provider is called: the
// key's limits first (a limited key is refused even with money left),
// then against the balance for the operator's (managed) keys, else at the
// BYOK fee for customer keys (with a zero fee, at any balance). It
// reports false when the plan has nothing to pay with (the attempt loop
// reports it). Errors: *UnpricedError, *credits.LimitError,
// ErrLimitsUnavailable, or the ledger's (credits.ErrStorage, insufficient
// credits).
func (b *Bill) Reserve(ledger Ledger, limiter Limiter, plan Plan, lim credits.Limits) (bool, error) {
	b.priced = plan.Priced
	if !plan.Managed && !plan.User {
		if len(plan.Unpriced) > 0 {
			return false, &UnpricedError{Targets: plan.Unpriced}
		}
		return false, nil
	}
	reserve := plan.Reserve()
	if !lim.IsZero() {
		adm, err := limiter.Admit(b.AccessKeyID, lim, plan.Tokens, reserve)
		if errors.Is(err, credits.ErrStorage) {
			return false, ErrLimitsUnavailable
		}
		if le := (*credits.LimitError)(nil); errors.As(err, &le) {
			return false, err
		}
		b.admission = adm
	}
	var insufficient error
	if plan.Managed {
		h, err := ledger.Reserve(b.AccountID, reserve)
		if err == nil {
			b.hold, b.allowManaged = h, true
			return true, nil
		}
		insufficient = err
	}
	if plan.User {
		if plan.UserWorst == 0 {
			b.hold = ledger.FreeHold(b.AccountID)
			return true, nil
		}
		h, err := ledger.Reserve(b.AccountID, plan.UserWorst)
		if err == nil {
			b.hold = h
			return true, nil
		}
		insufficient = err
	}
	b.admission.Settle(0, 0)
	return false, insufficient
}

// Refusal is the answer to a request Reserve refused with err, and the
// seconds of its Retry-After (0: none).
func Refusal(err error) (*apierr.Error, int) {
	var unpriced *UnpricedError
	var limited *credits.LimitError
	switch {
	case errors.As(err, &unpriced):
		return apierr.New(http.StatusUnprocessableEntity, apierr.ModelNotPriced, unpriced.Error()), 0
	case errors.Is(err, ErrLimitsUnavailable):
		return apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the store that counts the key's limits is unavailable; retry the request"), 0
	case errors.As(err, &limited):
		return apierr.New(http.StatusTooManyRequests, apierr.RateLimited, limited.Message), max(1, int(limited.RetryAfter.Round(time.Second).Seconds()))
	case errors.Is(err, credits.ErrStorage):
		// many nodes, the database away and this node's lease spent or
		// expired: nothing can cover the request now
		return apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the credit store is unavailable; retry the request"), 0
	}
	return apierr.New(http.StatusPaymentRequired, apierr.InsufficientCredits, err.Error()), 0
}

// Usable filters a target's key choices to those the reservation covers.
func (b *Bill) Usable(t registry.Target, keys []routing.Key) []routing.Key {
	out := keys[:0:0]
	for _, k := range keys {
		if k.Source == routing.SourceManaged && (!b.allowManaged || !b.priced[t.Ref()]) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// Extend reserves what a continuation of req on t with key kc can cost,
// before it starts; bodyLen is the continuation's upstream body's length.
// An extension not yet taken by a started continuation (Streaming) covers
// the next one.
func (b *Bill) Extend(req *clientreq.Request, t registry.Target, kc routing.Key, bodyLen int) error {
	managed := kc.Source == routing.SourceManaged
	need := WorstCase(req, t, b.Fees.Rate(managed), managed, bodyLen)
	if need <= b.spare {
		return nil
	}
	if err := b.hold.Extend(need - b.spare); err != nil {
		return err
	}
	b.spare = need
	return nil
}

// Streaming marks the spare extension as taken by a continuation that
// started: a further continuation needs an extension of its own.
func (b *Bill) Streaming() { b.spare = 0 }

// Settled reports whether the bill is settled: later usage events go to
// the usage writer.
func (b *Bill) Settled() bool { return b.settled }

// Charged is what the settlement debited.
func (b *Bill) Charged() money.Nano { return b.charged }

// Settle charges charges (tokens in all), commits the request's usage
// events in the same transaction and releases the hold; it returns when
// the debit is durable. Events the settlement did not store in full go to
// rec (which clears their journal entries). The key's admission is
// settled with what was used and charged.
func (b *Bill) Settle(requestID string, charges []credits.Charge, tokens int64, events []*store.UsageEvent, rec UsageRecorder) (credits.Settled, error) {
	b.settled = true
	res, err := b.hold.Settle(credits.Settlement{RequestID: requestID, AccessKeyID: b.AccessKeyID, Charges: charges, Events: events})
	b.charged = res.Charged
	if !res.Stored {
		for _, ev := range events {
			rec.RecordUsage(ev)
		}
	}
	b.admission.Settle(tokens, b.charged)
	return res, err
}
