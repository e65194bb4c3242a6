package caddyaigateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Retry actions recorded on usage events: what the gateway did after an
// attempt.
const (
	actionSucceeded   = "succeeded"
	actionNextKey     = "next_key"
	actionNextBack    = "next_backend"
	actionFailFast    = "fail_fast"
	actionExhausted   = "exhausted"
	actionAbandoned   = "client_closed"
	actionSameBackend = "retry_same_backend"
)

// Limits on what the gateway buffers from a provider.
const (
	maxErrorBody    = 1 << 20
	maxResponseBody = 256 << 20
)

// Why an attempt's context was cancelled.
var (
	errAttemptTimeout = errors.New("no answer within per_request_timeout")
	errFirstToken     = errors.New("no first token within first_token_timeout")
	errStalled        = errors.New("stream stalled (stream_idle_timeout)")
	errTotalDeadline  = errors.New("no answer within total_timeout")
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

// call is one client request on its way through the attempt loop.
type call struct {
	w          http.ResponseWriter
	r          *http.Request
	req        *request
	id         string
	caller     *Caller
	perRequest time.Duration
	deadline   time.Time
	attempts   int
	all        []*attempt
	failures   []apierr.Attempt
	cost       money.Nano
	bill       *bill // nil when the request does not draw on credits
	// committed: an answer's status line went to the client.
	committed bool
	// counted: the answer is counted in requests_total.
	counted bool
	// pending are usage events waiting for the settlement to commit them.
	pending []*store.UsageEvent
	targets []Target
}

// attempt is one upstream try.
type attempt struct {
	n       int
	target  Target
	key     string
	source  string
	keyID   string
	start   time.Time
	ttft    time.Duration
	status  int
	outcome outcome
	errText string
	// for a failFast/last failure, what to pass back
	errBody   []byte
	errHeader http.Header
	usage     usage.Usage
	estimated bool
	stop      string
	streaming bool
	metered   bool
	cost      money.Nano // provider cost at catalog prices
	fee       money.Nano // processing or BYOK fee charged
	// retryAfter is a 429's Retry-After, when short enough to wait for.
	retryAfter time.Duration
	// up is how the attempt reached its provider.
	up *upstreamCall
	// recorded: its usage event is written (each attempt once).
	recorded bool
}

// serve runs the attempt loop: each target in order; within a target each
// key (the healthy ones first) while the provider refuses the key; the
// next target when the provider fails. Nothing is written to the client
// until an attempt has an answer to serve.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, req *request, targets []Target) error {
	perRequest, total := g.app.timeouts(req.st)
	c := &call{w: w, r: r, req: req, id: requestID(w, r), caller: CallerFrom(r), targets: targets,
		perRequest: perRequest, deadline: time.Now().Add(total)}
	b, aerr := g.beginBilling(c, targets)
	if aerr != nil {
		return writeError(w, r, aerr)
	}
	c.bill = b
	defer b.settle(c) // failures and abandoned streams; answers settle before their last bytes
	var last *attempt
	for ti, t := range targets {
		keys := g.app.shared.health.order(t.Provider.ID, t.Provider.rotateManaged(b.usable(t, req.keys(t))))
		if len(keys) == 0 {
			c.failures = append(c.failures, apierr.Attempt{Provider: t.Provider.ID, Model: t.Name, Error: "no provider key available (configure an api_key or a routing rule)"})
			continue
		}
		up, err := g.prepare(req, t, nil)
		if err != nil {
			return writeError(w, r, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error()))
		}
		retried := false
		for ki := 0; ki < len(keys); ki++ {
			if !time.Now().Before(c.deadline) {
				return g.timedOut(c, last)
			}
			a := g.try(c, t, keys[ki], up, ti+1)
			last = a
			switch a.outcome {
			case served:
				g.record(c, a, actionSucceeded)
				return nil
			case clientGone:
				g.record(c, a, actionAbandoned)
				if shuttingDown(r.Context()) && !c.committed {
					return writeError(w, r, errGatewayStopping) // the client is still there
				}
				return nil
			case failFast:
				g.record(c, a, actionFailFast)
				return g.passError(c, a)
			}
			// A 429 with a short Retry-After: wait and try the same key once.
			if a.retryAfter > 0 && !retried && time.Until(c.deadline) > a.retryAfter {
				retried = true
				g.record(c, a, actionSameBackend)
				if !sleepCtx(r.Context(), a.retryAfter) {
					return nil
				}
				ki--
				continue
			}
			retried = false
			c.failures = append(c.failures, apierr.Attempt{Provider: t.Provider.ID, Model: t.Name, Status: a.status, Error: a.errText})
			moreKeys, moreTargets := ki < len(keys)-1, ti < len(targets)-1
			if !time.Now().Before(c.deadline) && (moreKeys || moreTargets) {
				return g.timedOut(c, a)
			}
			switch {
			case a.outcome == nextKey && moreKeys:
				g.record(c, a, actionNextKey)
				continue
			case moreTargets:
				g.record(c, a, actionNextBack)
			default:
				g.record(c, a, actionExhausted)
			}
			break
		}
	}
	if !time.Now().Before(c.deadline) {
		return g.timedOut(c, last) // the last candidate used up total_timeout
	}
	// Everything failed. A lone provider error answer passes through as
	// the provider said it (an SDK's retry logic reads its status and
	// Retry-After), also when the same key was retried once; anything
	// else (several failures, or an attempt that ended without an error
	// answer: a stream cut before content, a timeout) is summarised. Never
	// an empty success.
	if len(c.failures) == 1 && last != nil && last.status >= 400 && last.errBody != nil {
		return g.passError(c, last)
	}
	w.Header().Set(hdrAttempts, strconv.Itoa(c.attempts))
	msg := "no provider could serve the request"
	if len(c.failures) > 0 {
		parts := make([]string, len(c.failures))
		for i, f := range c.failures {
			parts[i] = f.Provider + ":" + f.Model + " (" + describeFailure(f) + ")"
		}
		msg += ": " + strings.Join(parts, "; ")
	}
	e := apierr.New(http.StatusBadGateway, apierr.AllProvidersFailed, msg)
	e.Attempts = c.failures
	c.countRequest(nil, http.StatusBadGateway)
	return writeError(w, r, e)
}

// limitBy returns how long an attempt may wait under its own limit d and
// the request's total deadline, and the cause to cancel it with: the
// deadline's when that is the nearer one.
func (c *call) limitBy(d time.Duration, own error) (time.Duration, error) {
	if left := time.Until(c.deadline); left < d {
		return left, errTotalDeadline
	}
	return d, own
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func describeFailure(f apierr.Attempt) string {
	switch {
	case f.Status != 0 && f.Error != "":
		return strconv.Itoa(f.Status) + ": " + f.Error
	case f.Status != 0:
		return strconv.Itoa(f.Status)
	default:
		return f.Error
	}
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
	if a.up != nil && a.up.translated {
		body = c.req.ep.client().ErrorBody(a.status, body)
	}
	copyResponseHeaders(h, a.errHeader, a.key)
	h.Del("Content-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(a.status)
	_, _ = c.w.Write(body)
	return nil
}

// finishUsage sets the attempt's usage and cost from a stream's meter
// (once: a stream settled at its terminal event is not priced again).
func (g *Gateway) finishUsage(c *call, a *attempt, meter *usage.Meter) {
	if a.metered {
		return
	}
	a.metered = true
	a.stop = meter.StopReason()
	u, ok := meter.Usage()
	a.usage = u
	if !ok {
		// Absent is not zero: estimate what the provider did not report and
		// say so on the usage event.
		a.estimated = true
		if u.InputTokens == 0 && u.CacheReadTokens == 0 && u.CacheWriteTokens == 0 {
			a.usage.InputTokens = usage.EstimateTokens(len(c.req.body))
		}
		if est := usage.EstimateTokens(meter.OutputText()); est > a.usage.OutputTokens {
			a.usage.OutputTokens = est
		}
	}
	g.price(c, a)
}

// isTerminalEvent reports the event that ends a stream: OpenAI's [DONE],
// Anthropic's message_stop, the Responses API's final response event.
func isTerminalEvent(name string, data []byte) bool {
	switch name {
	case "message_stop", "response.completed", "response.incomplete", "response.failed":
		return true
	}
	return string(data) == "[DONE]"
}

// countRequest counts the request's answer in requests_total, once
// (error answers of the gateway's own count through writeError instead,
// but those the attempt loop ends with: see countedByAttemptLoop).
func (c *call) countRequest(a *attempt, status int) {
	if c.counted {
		return
	}
	c.counted = true
	observeRequest(c.req.ep.name, a, status)
}

// charged is what the request cost the caller: the settled debit when it
// draws on credits, else the provider cost at catalog prices.
func (c *call) charged() money.Nano {
	if c.bill != nil {
		return c.bill.charged
	}
	return c.cost
}

func (g *Gateway) successHeaders(c *call, a *attempt) {
	c.committed = true
	h := c.w.Header()
	if a.up != nil && len(a.up.removed) > 0 {
		h.Set(hdrRemovedParams, strings.Join(a.up.removed, ", "))
	}
	h.Set(hdrAttempts, strconv.Itoa(c.attempts))
	h.Set(hdrProvider, a.target.Provider.ID)
	h.Set(hdrModel, a.target.Name)
	caddyhttp.SetVar(c.r.Context(), varProvider, a.target.Provider.ID)
	caddyhttp.SetVar(c.r.Context(), varModel, a.target.Name)
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
		rate := c.bill.fees.byok
		if a.source == sourceManaged {
			rate = c.bill.fees.processing
		}
		a.fee = rate.Cost(u.TotalTokens())
	}
}

// record journals the attempt as a usage event (group-committed), once,
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
		g.app.shared.stats.observe(ref, now.Sub(a.start), a.ttft, false)
		g.app.shared.health.succeeded(a.target.Provider.ID, a.key)
	case actionNextKey, actionNextBack, actionExhausted, actionSameBackend:
		if a.status != http.StatusUnauthorized && a.status != http.StatusForbidden {
			g.app.shared.stats.observe(ref, now.Sub(a.start), 0, true)
		}
	}
	ev := &store.UsageEvent{
		ID:               ids.New("ue"),
		RequestID:        c.id,
		Attempt:          a.n,
		Timestamp:        a.start.UTC(),
		ProviderID:       a.target.Provider.ID,
		Model:            a.target.Name,
		Endpoint:         c.req.ep.name,
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
	if c.caller != nil {
		ev.AccessKeyID = c.caller.AccessKey.ID
		ev.AccountID = c.caller.AccountID()
	}
	if c.bill != nil && !c.bill.settled {
		c.pending = append(c.pending, ev) // committed with the settlement
	} else {
		g.app.shared.usage.RecordUsage(ev)
	}
	observeAttempt(a.target, ev, a.ttft)
	switch action {
	case actionSucceeded, actionAbandoned, actionFailFast, actionExhausted: // the request's last attempt
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

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// redactURLError renders a transport error without any secret in it.
func redactURLError(err error, key string) string {
	return string(scrubSecret([]byte(err.Error()), key))
}

// providerErrorMessage pulls the message out of an OpenAI- or
// Anthropic-shaped error body, for logs and attempt lists.
func providerErrorMessage(body []byte) string {
	var v struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && v.Error.Message != "" {
		return truncate(v.Error.Message, 300)
	}
	return truncate(strings.TrimSpace(string(body)), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
