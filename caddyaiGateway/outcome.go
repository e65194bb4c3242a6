// outcome.go: what comes of an attempt: how it ended (outcome) and what
// the gateway did next (retry actions), its usage event, price and metrics
// (record, price, finishUsage), and the answer the client gets (successHeaders,
// passError, timedOut).

package caddyaigateway

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// outcome is how an attempt ended, which decides what happens next.
type outcome uint8

const (
	served     outcome = iota // the answer went to the client
	nextKey                   // the key was refused (401/403/429): another key may work
	nextTarget                // the provider failed (5xx, network, timeout): try the next model
	failFast                  // the request itself is wrong (400, 404, 422...): pass the error on
	clientGone                // the client went away
)

// Retry actions recorded on usage events: what the gateway did after an
// attempt.
const (
	actionSucceeded   = store.RetrySucceeded
	actionNextKey     = store.RetryNextKey
	actionNextBack    = store.RetryNextBackend
	actionFailFast    = store.RetryFailFast
	actionExhausted   = store.RetryExhausted
	actionAbandoned   = store.RetryClientClosed
	actionSameBackend = store.RetrySameBackend
)

// record builds the attempt's usage event, once (committed with the
// settlement when the request is metered, else by the group-commit writer),
// and feeds the live metrics and key health.
func (g *Gateway) record(c *call, a *attempt, action string) {
	if a.recorded {
		return
	}
	a.recorded = true
	now := time.Now()
	ref := a.target.Ref()
	switch action {
	case actionSucceeded:
		g.app.shared.Stats.Observe(ref, now.Sub(a.start), a.ttft, false)
		g.app.shared.Health.Succeeded(a.target.Provider.ID, a.key)
	case actionNextKey, actionNextBack, actionExhausted, actionSameBackend:
		if a.status != http.StatusUnauthorized && a.status != http.StatusForbidden {
			g.app.shared.Stats.Observe(ref, now.Sub(a.start), 0, true)
		}
	}
	ev := &store.UsageEvent{
		ID:               ids.New("ue"),
		RequestID:        c.id,
		Attempt:          a.n,
		Timestamp:        a.start.UTC(),
		ProviderID:       a.target.Provider.ID,
		Model:            a.target.Name,
		Endpoint:         c.req.Endpoint.Name,
		KeySource:        a.source,
		ProviderKeyID:    a.keyID,
		Fee:              a.fee,
		Status:           a.status,
		Streaming:        a.streaming,
		StopReason:       a.stop,
		InputTokens:      a.usage.InputTokens,
		OutputTokens:     a.usage.OutputTokens,
		CacheReadTokens:  a.usage.CacheReadTokens,
		CacheWriteTokens: a.usage.CacheWriteTokens,
		ReasoningTokens:  a.usage.ReasoningTokens,
		UsageEstimated:   a.estimated,
		Cost:             a.cost,
		LatencyMs:        now.Sub(a.start).Milliseconds(),
		TTFTMs:           a.ttft.Milliseconds(),
		RetryAction:      action,
		Error:            a.errText,
	}
	if st := c.req.st; st != nil && len(st.VirtualModels) > 0 {
		if vm := st.VirtualModels[strings.ToLower(c.req.Model)]; vm != nil {
			ev.VirtualModel = vm.Name
		}
	}
	if c.caller != nil {
		ev.AccessKeyID = c.caller.AccessKey.ID
		ev.AccountID = c.caller.AccountID()
	}
	if store.FinalAction(action) {
		ev.Firewall = c.req.guard.UsageDecisions()
	}
	if c.bill != nil && !c.bill.Settled() {
		c.pending = append(c.pending, ev) // committed with the settlement
	} else {
		g.app.shared.Usage.RecordUsage(ev)
	}
	observeAttempt(a.target, ev, a.ttft)
	if store.FinalAction(action) {
		status := a.status
		switch {
		case action == actionAbandoned:
			status = 499 // client closed the request
		case c.committed:
			status = http.StatusOK // a stream that ended early: the client got 200
		case action == actionExhausted && c.attempts > 1, status == http.StatusUnauthorized, status == http.StatusForbidden:
			status = http.StatusBadGateway // what the client was answered
		}
		c.countRequest(a, status)
	}
	if action != actionSucceeded {
		if ce := g.logger.Check(zap.InfoLevel, "upstream attempt failed"); ce != nil {
			ce.Write(zap.String("request_id", c.id), zap.Int("attempt", a.n), zap.String("provider", a.target.Provider.ID),
				zap.String("model", a.target.Name), zap.Int("status", a.status), zap.String("error", a.errText), zap.String("action", action))
		}
	}
}

// countRequest counts the request's answer in requests_total, once
// (error answers of the gateway's own count through writeError instead,
// but those the attempt loop ends with: see countedByAttemptLoop).
func (c *call) countRequest(a *attempt, status int) {
	if c.counted {
		return
	}
	c.counted = true
	observeRequest(c.req.Endpoint.Name, a, status)
}

// charged is what the request cost the caller: the settled debit when it
// draws on credits, else the provider cost at catalog prices.
func (c *call) charged() money.Nano {
	if c.bill != nil {
		return c.bill.Charged()
	}
	return c.cost
}

// price sets the attempt's cost from its usage and the model's prices.
func (g *Gateway) price(c *call, a *attempt) {
	u := a.usage
	if a.target.Model != nil {
		cost, _ := a.target.Model.Pricing.Cost(u.InputTokens, u.CacheReadTokens, u.CacheWriteTokens, u.OutputTokens, u.ReasoningTokens)
		a.cost = cost
		c.cost += cost
	}
	if c.bill != nil {
		a.fee = c.bill.Fees.Rate(a.source == routing.SourceManaged).Cost(u.TotalTokens())
	}
}

// finishUsage sets the attempt's usage and cost from a stream's meter
// (once: a stream settled at its terminal event is not priced again).
func (g *Gateway) finishUsage(c *call, a *attempt, meter *usage.Meter) {
	if a.metered {
		return
	}
	a.metered = true
	a.stop = meter.StopReason()
	a.usage, a.estimated = meter.UsageOrEstimate(len(c.req.Body))
	g.price(c, a)
}

// successHeaders sets the headers of an answer that is served, and more
// (canonical name, value pairs).
func (g *Gateway) successHeaders(c *call, a *attempt, more ...string) {
	c.committed = true
	h := c.w.Header()
	if a.up != nil && len(a.up.Removed) > 0 {
		h.Set(hdrRemovedParams, strings.Join(a.up.Removed, ", "))
	}
	var kv [10]string
	n := copy(kv[:], []string{hdrAttempts, strconv.Itoa(c.attempts), hdrProvider, a.target.Provider.ID, hdrModel, a.target.Name})
	n += copy(kv[n:], more)
	setHeaders(h, kv[:n])
	caddyhttp.SetVar(c.r.Context(), varProvider, providerVar{a})
	caddyhttp.SetVar(c.r.Context(), varModel, modelVar{a})
}

// providerVar and modelVar are the {http.vars.ai.provider} and
// {http.vars.ai.model} of an answer: Stringers (Caddy's placeholders and
// vars matchers read them through String) holding only a pointer, so
// setting them allocates nothing.
type (
	providerVar struct{ a *attempt }
	modelVar    struct{ a *attempt }
)

func (v providerVar) String() string { return v.a.target.Provider.ID }
func (v modelVar) String() string    { return v.a.target.Name }

// setHeaders sets each (canonical name, value) pair of kv as Header.Set
// would, with one allocation for all the values.
func setHeaders(h http.Header, kv []string) {
	vals := make([]string, len(kv)/2)
	for i := range vals {
		vals[i] = kv[2*i+1]
		h[kv[2*i]] = vals[i : i+1 : i+1]
	}
}

// passError sends a provider's error to the client: its status and body
// with every trace of the provider key removed, in the client's format. A
// 401/403 means the operator's key was refused, not the client's: the
// client gets 502 provider_auth_failed rather than a credential error of
// its own.
func (g *Gateway) passError(c *call, a *attempt) error {
	h := c.w.Header()
	h.Set(hdrAttempts, strconv.Itoa(c.attempts))
	if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
		return writeError(c.w, c.r, apierr.New(http.StatusBadGateway, apierr.ProviderAuthFailed,
			fmt.Sprintf("provider %s refused the gateway's credentials (status %d)", a.target.Provider.ID, a.status)))
	}
	body := a.errBody
	if a.up != nil && a.up.Translated {
		body = c.req.Endpoint.Client().ErrorBody(a.status, body)
	}
	upstream.CopyResponseHeaders(h, a.errHeader, a.key)
	h.Del("Content-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(a.status)
	_, _ = c.w.Write(body)
	return nil
}

// timedOut answers 504 once total_timeout has passed; last (the attempt
// that used up the time, if any) is recorded as the request's end.
func (g *Gateway) timedOut(c *call, last *attempt) error {
	c.countRequest(last, http.StatusGatewayTimeout)
	if last != nil && !last.recorded {
		g.record(c, last, actionExhausted)
	}
	if c.attempts > 0 {
		c.w.Header().Set(hdrAttempts, strconv.Itoa(c.attempts))
	}
	_, total := g.app.timeouts(c.req.st)
	e := apierr.New(http.StatusGatewayTimeout, apierr.TotalTimeout, fmt.Sprintf("no answer within total_timeout (%s)", total))
	e.Attempts = c.failures
	return writeError(c.w, c.r, e)
}
