package caddyaigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Retry actions recorded on usage events: what the gateway did after an
// attempt.
const (
	actionSucceeded = "succeeded"
	actionNextKey   = "next_key"
	actionNextBack  = "next_backend"
	actionFailFast  = "fail_fast"
	actionExhausted = "exhausted"
	actionAbandoned = "client_closed"
)

// Limits on what the gateway buffers from a provider.
const (
	maxErrorBody    = 1 << 20
	maxResponseBody = 256 << 20
)

var errAttemptTimeout = errors.New("per-request timeout")

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
}

// serve runs the attempt loop: each target in order; within a target each
// managed key while the provider refuses the key; the next target when
// the provider fails. Nothing is written to the client until an attempt
// has an answer to serve.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, req *request, targets []Target) error {
	perRequest, total := g.app.timeouts(req.st)
	c := &call{w: w, r: r, req: req, id: requestID(w, r), caller: CallerFrom(r),
		perRequest: perRequest, deadline: time.Now().Add(total)}
	b, aerr := g.beginBilling(c, targets)
	if aerr != nil {
		return writeError(w, r, aerr)
	}
	c.bill = b
	defer b.settle(c) // failures and abandoned streams; answers settle before their last bytes
	var last *attempt
	for ti, t := range targets {
		keys := b.usable(t, keyChoices(req.st, req.cfg, t))
		if len(keys) == 0 {
			c.failures = append(c.failures, apierr.Attempt{Provider: t.Provider.ID, Model: t.Name, Error: "no provider key available (configure an api_key or a routing rule)"})
			continue
		}
		body, err := g.bodyFor(req, t)
		if err != nil {
			return writeError(w, r, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error()))
		}
		for ki, key := range keys {
			if !time.Now().Before(c.deadline) {
				return g.timedOut(c)
			}
			a := g.try(c, t, key, body)
			last = a
			moreKeys, moreTargets := ki < len(keys)-1, ti < len(targets)-1
			switch a.outcome {
			case served:
				g.record(c, a, actionSucceeded)
				return nil
			case clientGone:
				g.record(c, a, actionAbandoned)
				return nil
			case failFast:
				g.record(c, a, actionFailFast)
				return g.passError(c, a)
			}
			c.failures = append(c.failures, apierr.Attempt{Provider: t.Provider.ID, Model: t.Name, Status: a.status, Error: a.errText})
			switch {
			case a.outcome == nextKey && moreKeys:
				g.record(c, a, actionNextKey)
				continue
			case moreTargets:
				g.record(c, a, actionNextBack)
			default:
				g.record(c, a, actionExhausted)
			}
			if !time.Now().Before(c.deadline) {
				return g.timedOut(c)
			}
			break
		}
	}
	// Everything failed. A lone provider error passes through as the
	// provider said it (an SDK's retry logic reads its status); several
	// failures are summarised.
	if c.attempts == 1 && last != nil && last.status != 0 {
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
	if c.attempts == 0 {
		observeRequest(c.req.ep.name, nil, http.StatusBadGateway)
	}
	return writeError(w, r, e)
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

func (g *Gateway) timedOut(c *call) error {
	observeRequest(c.req.ep.name, nil, http.StatusGatewayTimeout)
	if c.attempts > 0 {
		c.w.Header().Set(hdrAttempts, strconv.Itoa(c.attempts))
	}
	e := apierr.New(http.StatusGatewayTimeout, apierr.TotalTimeout,
		fmt.Sprintf("no answer within total_timeout (%s)", time.Duration(g.app.TotalTimeout)))
	e.Attempts = c.failures
	return writeError(c.w, c.r, e)
}

// passError sends a provider's error to the client: its status and body
// with every trace of the provider key removed. A 401/403 means the
// operator's key was refused, not the client's: the client gets 502
// provider_auth_failed rather than a credential error of its own.
func (g *Gateway) passError(c *call, a *attempt) error {
	h := c.w.Header()
	h.Set(hdrAttempts, strconv.Itoa(c.attempts))
	if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
		return writeError(c.w, c.r, apierr.New(http.StatusBadGateway, apierr.ProviderAuthFailed,
			fmt.Sprintf("provider %s refused the gateway's credentials (status %d)", a.target.Provider.ID, a.status)))
	}
	copyResponseHeaders(h, a.errHeader)
	h.Del("Content-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(a.errBody)))
	c.w.WriteHeader(a.status)
	_, _ = c.w.Write(a.errBody)
	return nil
}

// bodyFor is the upstream body for one target: the provider's model id
// and, when the gateway config caps output, the capped limit.
func (g *Gateway) bodyFor(req *request, t Target) ([]byte, error) {
	body := req.upstreamBody
	if t.Name != req.model {
		quoted, _ := json.Marshal(t.Name)
		b, err := jsonobj.Set(body, "model", quoted)
		if err != nil {
			return nil, err
		}
		body = b
	}
	if limit := req.st.gateway.MaxOutputTokens; limit != nil {
		return capOutputTokens(body, req, t, *limit)
	}
	return body, nil
}

// try makes one attempt and, when the provider answers, serves it.
func (g *Gateway) try(c *call, t Target, kc keyChoice, body []byte) *attempt {
	c.attempts++
	key := kc.value
	a := &attempt{n: c.attempts, target: t, key: key, source: kc.source, keyID: kc.id, start: time.Now(), streaming: c.req.stream}
	c.all = append(c.all, a)
	if kc.id != "" {
		g.app.shared.touch(kc.id, a.start)
	}

	ctx, cancel := context.WithCancelCause(c.r.Context())
	defer cancel(nil)
	limit := min(c.perRequest, time.Until(c.deadline))
	timer := time.AfterFunc(limit, func() { cancel(errAttemptTimeout) })
	defer timer.Stop()

	up, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Provider.BaseURL+c.req.ep.upstream, bytes.NewReader(body))
	if err != nil {
		a.outcome, a.errText = nextTarget, "building request: "+err.Error()
		return a
	}
	up.URL.RawQuery = c.r.URL.RawQuery
	up.Header = upstreamHeaders(c.r.Header)
	up.Header.Set("Content-Type", "application/json")
	if t.Provider.Format == catalog.Anthropic {
		if key != "" {
			up.Header.Set("X-Api-Key", key)
		}
		if up.Header.Get("Anthropic-Version") == "" {
			up.Header.Set("Anthropic-Version", "2023-06-01")
		}
	} else if key != "" {
		up.Header.Set("Authorization", "Bearer "+key)
	}

	if ce := g.logger.Check(zap.DebugLevel, "upstream attempt"); ce != nil {
		ce.Write(zap.String("request_id", c.id), zap.Int("attempt", a.n), zap.String("provider", t.Provider.ID), zap.String("model", t.Name))
	}
	resp, err := g.app.transport.RoundTrip(up)
	if err != nil {
		g.failed(c, a, ctx, err)
		return a
	}
	defer resp.Body.Close()
	a.status = resp.StatusCode

	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		a.errBody = scrubSecret(b, key)
		a.errHeader = resp.Header
		a.errText = providerErrorMessage(a.errBody)
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
			a.outcome = nextKey
		case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
			a.outcome = nextTarget
		default:
			a.outcome = failFast
		}
		return a
	}

	if c.req.stream && isEventStream(resp.Header) {
		g.serveStream(c, a, ctx, timer, resp)
	} else {
		g.serveBody(c, a, ctx, resp)
	}
	return a
}

// failed classifies an error that left no answer to serve.
func (g *Gateway) failed(c *call, a *attempt, ctx context.Context, err error) {
	switch {
	case c.r.Context().Err() != nil:
		a.outcome, a.errText = clientGone, "client closed the connection"
	case errors.Is(context.Cause(ctx), errAttemptTimeout):
		a.outcome, a.errText = nextTarget, "no answer within per_request_timeout"
	default:
		a.outcome, a.errText = nextTarget, "connection failed: "+redactURLError(err, a.key)
	}
}

// serveBody serves a complete (non-streaming) answer.
func (g *Gateway) serveBody(c *call, a *attempt, ctx context.Context, resp *http.Response) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		g.failed(c, a, ctx, err)
		return
	}
	u, stop, ok := usage.FromBody(c.req.ep.kind, body)
	a.usage, a.stop = u, stop
	if !ok {
		a.usage = usage.Usage{InputTokens: usage.EstimateTokens(len(c.req.body)), OutputTokens: usage.EstimateTokens(len(body))}
		a.estimated = c.req.ep.kind != usage.CountTokens
	}
	g.price(c, a)
	// The debit is durable before the client has the answer: a response
	// that reached the client is never left unpaid by a crash.
	c.bill.settle(c)

	h := c.w.Header()
	copyResponseHeaders(h, resp.Header)
	h.Del("Content-Encoding") // the transport decoded it
	g.successHeaders(c, a)
	h.Set(hdrCost, c.charged().String())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(resp.StatusCode)
	_, _ = c.w.Write(body)
	a.outcome = served
}

// serveStream relays server-sent events as they arrive. The first event
// is read before anything is sent, so a provider that accepts the request
// and then says nothing can still be failed over.
func (g *Gateway) serveStream(c *call, a *attempt, ctx context.Context, timer *time.Timer, resp *http.Response) {
	rd := sse.NewReader(resp.Body)
	meter := usage.NewMeter(c.req.ep.kind)
	ev, err := rd.Next()
	if err != nil {
		if err == io.EOF {
			err = errors.New("stream ended before its first event")
		}
		g.failed(c, a, ctx, err)
		return
	}
	timer.Stop() // the stream has started: it may now run as long as events come
	a.ttft = time.Since(a.start)

	h := c.w.Header()
	copyResponseHeaders(h, resp.Header)
	h.Del("Content-Encoding")
	g.successHeaders(c, a)
	c.w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(c.w)
	a.outcome = served

	for {
		hide := meter.Observe(ev.Name, ev.Data) && !c.req.clientUsage
		if c.bill != nil && isTerminalEvent(ev.Name, ev.Data) {
			// settle before the event that ends the stream reaches the client
			g.finishUsage(c, a, meter)
			c.bill.settle(c)
		}
		if !hide {
			if _, werr := c.w.Write(ev.Raw); werr != nil {
				a.outcome, a.errText = clientGone, "client closed the connection"
				break
			}
			if ferr := rc.Flush(); ferr != nil {
				a.outcome, a.errText = clientGone, "client closed the connection"
				break
			}
		}
		ev, err = rd.Next()
		if err != nil {
			if err != io.EOF {
				if c.r.Context().Err() != nil {
					a.outcome, a.errText = clientGone, "client closed the connection"
				} else {
					a.errText = "stream ended early: " + redactURLError(err, a.key)
				}
			}
			break
		}
	}
	g.finishUsage(c, a, meter)
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

// charged is what the request cost the caller: the settled debit when it
// draws on credits, else the provider cost at catalog prices.
func (c *call) charged() money.Nano {
	if c.bill != nil {
		return c.bill.charged
	}
	return c.cost
}

func (g *Gateway) successHeaders(c *call, a *attempt) {
	h := c.w.Header()
	h.Set(hdrAttempts, strconv.Itoa(c.attempts))
	h.Set(hdrProvider, a.target.Provider.ID)
	h.Set(hdrModel, a.target.Name)
	caddyhttp.SetVar(c.r.Context(), varProvider, a.target.Provider.ID)
	caddyhttp.SetVar(c.r.Context(), varModel, a.target.Name)
}

// price sets the attempt's cost from its usage and the model's prices.
func (g *Gateway) price(c *call, a *attempt) {
	if a.target.Model == nil {
		return
	}
	u := a.usage
	cost, _ := a.target.Model.Pricing.Cost(u.InputTokens, u.CacheReadTokens, u.CacheWriteTokens, u.OutputTokens, u.ReasoningTokens)
	a.cost = cost
	c.cost += cost
}

// record journals the attempt as a usage event (group-committed).
func (g *Gateway) record(c *call, a *attempt, action string) {
	now := time.Now()
	ev := &store.UsageEvent{
		ID:               ids.New("ue"),
		RequestID:        c.id,
		Attempt:          a.n,
		Timestamp:        a.start.UTC(),
		ProviderID:       a.target.Provider.ID,
		Model:            a.target.Name,
		Endpoint:         c.req.ep.name,
		KeySource:        a.source,
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
	g.app.shared.usage.RecordUsage(ev)
	observeAttempt(a.target, ev, a.ttft)
	if action != actionNextKey && action != actionNextBack {
		status := a.status
		switch {
		case action == actionAbandoned:
			status = 499 // client closed the request
		case action == actionExhausted && c.attempts > 1, status == http.StatusUnauthorized, status == http.StatusForbidden:
			status = http.StatusBadGateway // what the client was answered
		}
		observeRequest(c.req.ep.name, a, status)
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
