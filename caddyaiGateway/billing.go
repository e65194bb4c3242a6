package caddyaigateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/hold"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
)

// bill is one request's reservation against its account.
type bill struct {
	g             *Gateway
	accountID     string
	hold          *credits.Hold
	admission     *credits.Admission
	allowManaged  bool
	fees          credits.Fees
	once          sync.Once
	charged       money.Nano
	settleErr     error
	accessKeyID   string
	managedPriced map[string]bool // target ref → has a price
	// settled: the hold is settled; later usage events go to the writer.
	settled bool
	// spare is what the hold was extended by for a continuation that has
	// not started streaming yet.
	spare money.Nano
}

// beginBilling reserves the request's worst case (hold.PlanFor) before
// any provider is called: against the balance for the operator's
// (managed) keys, at the BYOK fee for customer keys. It returns nil when
// the request does not draw on credits (no ai_credits).
func (g *Gateway) beginBilling(c *call, targets []registry.Target) (*bill, *apierr.Error) {
	wl := walletFrom(c.r)
	if wl == nil {
		return nil, nil
	}
	b := &bill{g: g, accountID: wl.accountID, fees: g.app.effectiveCredits(c.req.st).Fees}
	if c.caller != nil {
		b.accessKeyID = c.caller.AccessKey.ID
	}
	plan := hold.PlanFor(c.req.Request, targets, c.req.keys, b.fees)
	b.managedPriced = plan.Priced
	if !plan.Managed && !plan.User {
		if len(plan.Unpriced) > 0 {
			return nil, apierr.New(http.StatusUnprocessableEntity, apierr.ModelNotPriced, fmt.Sprintf(
				"%s has no price: requests paid with credits need one (set input_price and output_price, 0 included)", strings.Join(plan.Unpriced, ", ")))
		}
		return nil, nil // nothing to pay with: the attempt loop reports it
	}

	// Limits come first: a limited key gets 429 even with money left.
	reserve := plan.Reserve()
	if lim := hold.KeyLimits(c.req.cfg); !lim.IsZero() && c.caller != nil {
		adm, err := g.app.shared.Limiter.Admit(b.accessKeyID, lim, plan.Tokens, reserve)
		if errors.Is(err, credits.ErrStorage) {
			return nil, apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the store that counts the key's limits is unavailable; retry the request")
		}
		var le *credits.LimitError
		if errors.As(err, &le) {
			e := apierr.New(http.StatusTooManyRequests, apierr.RateLimited, le.Message)
			c.w.Header().Set("Retry-After", fmt.Sprint(max(1, int(le.RetryAfter.Round(time.Second).Seconds()))))
			return nil, e
		}
		b.admission = adm
	}

	ledger := g.app.shared.Ledger
	var insufficient error
	if plan.Managed {
		h, err := ledger.Reserve(b.accountID, reserve)
		if err == nil {
			b.hold, b.allowManaged = h, true
			return b, nil
		}
		insufficient = err
	}
	if plan.User {
		// Customer keys pay only the BYOK fee: with a zero fee they flow at
		// any balance.
		if plan.UserWorst == 0 {
			b.hold = ledger.FreeHold(b.accountID)
			return b, nil
		}
		h, err := ledger.Reserve(b.accountID, plan.UserWorst)
		if err == nil {
			b.hold = h
			return b, nil
		}
		insufficient = err
	}
	b.admission.Settle(0, 0)
	if errors.Is(insufficient, credits.ErrStorage) {
		// many nodes, the database away and this node's lease spent or
		// expired: nothing can cover the request now
		g.logger.Error("reserving credits", zap.String("account_id", b.accountID), zap.Error(insufficient))
		return nil, apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the credit store is unavailable; retry the request")
	}
	return nil, apierr.New(http.StatusPaymentRequired, apierr.InsufficientCredits, insufficient.Error())
}

// usable filters a target's key choices to those the reservation covers.
func (b *bill) usable(t registry.Target, keys []routing.Key) []routing.Key {
	if b == nil {
		return keys
	}
	out := keys[:0:0]
	for _, k := range keys {
		if k.Source == routing.SourceManaged && (!b.allowManaged || !b.managedPriced[t.Ref()]) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// settle charges every attempt's usage (once), commits the request's
// usage events in the same transaction, and releases the hold; it returns
// when the debit is durable. Attempts not yet recorded are the one being
// served: they are recorded as succeeded first, so their events commit
// with the charge.
func (b *bill) settle(c *call) {
	if b == nil {
		return
	}
	b.once.Do(func() {
		for _, a := range c.all {
			if !a.recorded {
				b.g.record(c, a, actionSucceeded)
			}
		}
		b.settled = true
		var charges []credits.Charge
		var tokens int64
		for _, a := range c.all {
			n := a.usage.TotalTokens()
			tokens = money.SatAddTokens(tokens, n)
			charges = credits.AppendAttemptCharges(charges, a.target.Provider.ID, a.target.Name, n, a.source == routing.SourceManaged, a.cost, a.fee)
		}
		res, err := b.hold.Settle(credits.Settlement{RequestID: c.id, AccessKeyID: b.accessKeyID, Charges: charges, Events: c.pending})
		b.charged, b.settleErr = res.Charged, err
		// Unless the settlement stored the events in full, the writer does
		// (and clears their journal entries).
		if !res.Stored {
			for _, ev := range c.pending {
				b.g.app.shared.Usage.RecordUsage(ev)
			}
		}
		c.pending = nil
		b.admission.Settle(tokens, b.charged)
		if err != nil {
			b.g.logger.Error("settling credits", zap.String("request_id", c.id), zap.Error(err))
		}
		if res.Uncovered > 0 {
			b.g.logger.Warn("the provider reported more usage than the request's hold covered; the excess is not charged",
				zap.String("request_id", c.id), zap.String("account_id", b.accountID),
				zap.String("uncovered_usd", res.Uncovered.String()))
		}
	})
}

// streaming marks the spare extension as taken by a continuation that
// started: a further continuation needs an extension of its own.
func (b *bill) streaming() {
	if b != nil {
		b.spare = 0
	}
}

// extend reserves what a continuation on t with key kc can cost, before it
// starts. body is the continuation's upstream body.
func (b *bill) extend(c *call, t registry.Target, kc routing.Key, bodyLen int) error {
	if b == nil {
		return nil
	}
	managed := kc.Source == routing.SourceManaged
	need := hold.WorstCase(c.req.Request, t, b.fees.Rate(managed), managed, bodyLen)
	if need <= b.spare {
		return nil
	}
	if err := b.hold.Extend(need - b.spare); err != nil {
		return err
	}
	b.spare = need
	return nil
}
