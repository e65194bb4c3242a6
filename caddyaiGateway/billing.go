// billing.go: a request that draws on credits (ai_credits) reserves its
// worst case before any provider is called and settles once, with its
// usage events; hold.Bill keeps the reservation, this file the glue.

package caddyaigateway

import (
	"errors"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/hold"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
)

// bill is one request's reservation (nil when it does not draw on
// credits).
type bill struct {
	hold.Bill
	g    *Gateway
	once sync.Once
}

// beginBilling reserves the request's worst case (hold.PlanFor) before
// any provider is called. It returns nil when the request does not draw
// on credits (no ai_credits) or has nothing to pay with.
func (g *Gateway) beginBilling(c *call, targets []registry.Target) (*bill, *apierr.Error) {
	wl := walletFrom(c.r)
	if wl == nil {
		return nil, nil
	}
	b := &bill{g: g, Bill: hold.Bill{AccountID: wl.accountID, Fees: g.app.effectiveCredits(c.req.st).Fees}}
	var lim credits.Limits
	if c.caller != nil {
		b.AccessKeyID, lim = c.caller.AccessKey.ID, hold.KeyLimits(c.req.cfg)
	}
	plan := hold.PlanFor(c.req.Request, targets, c.req.keys, b.Fees)
	ok, err := b.Reserve(g.app.shared.Ledger, g.app.shared.Limiter, plan, lim)
	if err == nil {
		if !ok {
			return nil, nil
		}
		return b, nil
	}
	if errors.Is(err, credits.ErrStorage) {
		g.logger.Error("reserving credits", zap.String("account_id", b.AccountID), zap.Error(err))
	}
	e, retryAfter := hold.Refusal(err)
	if retryAfter > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	return nil, e
}

// usable filters a target's key choices to those the reservation covers.
func (b *bill) usable(t registry.Target, keys []routing.Key) []routing.Key {
	if b == nil {
		return keys
	}
	return b.Usable(t, keys)
}

// settle charges every attempt's usage (once) and commits the request's
// usage events with the debit; it returns when the debit is durable.
// Attempts not yet recorded are the one being served: they are recorded
// as succeeded first, so their events commit with the charge.
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
		var charges []credits.Charge
		var tokens int64
		for _, a := range c.all {
			n := a.usage.TotalTokens()
			tokens = money.SatAddTokens(tokens, n)
			charges = credits.AppendAttemptCharges(charges, a.target.Provider.ID, a.target.Name, n, a.source == routing.SourceManaged, a.cost, a.fee)
		}
		res, err := b.Settle(c.id, charges, tokens, c.pending, b.g.app.shared.Usage)
		c.pending = nil
		if err != nil {
			b.g.logger.Error("settling credits", zap.String("request_id", c.id), zap.Error(err))
		}
		if res.Uncovered > 0 {
			b.g.logger.Warn("the provider reported more usage than the request's hold covered; the excess is not charged",
				zap.String("request_id", c.id), zap.String("account_id", b.AccountID),
				zap.String("uncovered_usd", res.Uncovered.String()))
		}
	})
}

// extend reserves what a continuation on t with key kc can cost, before
// it starts; streaming marks that extension taken once it started.
func (b *bill) extend(c *call, t registry.Target, kc routing.Key, bodyLen int) error {
	if b == nil {
		return nil
	}
	return b.Extend(c.req.Request, t, kc, bodyLen)
}

func (b *bill) streaming() {
	if b != nil {
		b.Streaming()
	}
}
