package hold

import (
	"slices"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
)

// Plan is the worst a request can cost on its candidates, by who pays the
// provider: the reservation made before the first attempt covers it.
type Plan struct {
	// Tokens is the most tokens one attempt may use, for the per-key
	// token limits.
	Tokens int64
	// Managed: some target may run on the operator's priced keys, at most
	// ManagedWorst (provider price and processing fee).
	Managed      bool
	ManagedWorst money.Nano
	// User: some target may run on customer keys, at most UserWorst (the
	// BYOK fee).
	User      bool
	UserWorst money.Nano
	// Unpriced are the targets with managed keys but no price: credits
	// cannot pay for them. Priced tells, by target ref, whether a target
	// with managed keys has a price.
	Unpriced []string
	Priced   map[string]bool
}

// PlanFor plans req on targets, each tried with its keys.
func PlanFor(req *clientreq.Request, targets []registry.Target, keys func(registry.Target) []routing.Key, fees credits.Fees) Plan {
	p := Plan{Priced: map[string]bool{}}
	for _, t := range targets {
		p.Tokens = max(p.Tokens, WorstTokens(req, t))
		for _, k := range keys(t) {
			if k.Source == routing.SourceUser {
				p.User = true
				p.UserWorst = max(p.UserWorst, WorstCase(req, t, fees.BYOK, false, len(req.Body)))
				continue
			}
			priced := t.Model != nil && t.Model.Pricing.Priced()
			p.Priced[t.Ref()] = priced
			if !priced {
				if !slices.Contains(p.Unpriced, t.Ref()) {
					p.Unpriced = append(p.Unpriced, t.Ref())
				}
				continue
			}
			p.Managed = true
			p.ManagedWorst = max(p.ManagedWorst, WorstCase(req, t, fees.Processing, true, len(req.Body)))
		}
	}
	return p
}

// Reserve is what the hold reserves: the worst case over every target
// the request may be served on.
func (p Plan) Reserve() money.Nano {
	if !p.Managed {
		return p.UserWorst
	}
	return max(p.ManagedWorst, p.UserWorst)
}

// KeyLimits are the per-key limits of an access key configuration (none
// without one), checked with the plan's tokens and reserve.
func KeyLimits(cfg *manage.AccessKeyConfiguration) credits.Limits {
	if cfg == nil || cfg.Limits == nil {
		return credits.Limits{}
	}
	var l credits.Limits
	if v := cfg.Limits.RequestsPerMinute; v != nil {
		l.RequestsPerMinute = *v
	}
	if v := cfg.Limits.TokensPerMinute; v != nil {
		l.TokensPerMinute = *v
	}
	if v := cfg.Limits.SpendPerDay; v != nil {
		l.SpendPerDay = *v
	}
	return l
}
