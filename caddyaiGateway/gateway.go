// gateway.go: the ai_gateway handler. The module and its config, ServeHTTP
// (endpoint, body, candidates) and the attempt loop (serve) that tries the
// candidates in order. One try is in attempt.go, streaming in stream.go,
// what an attempt comes to in outcome.go.

package caddyaigateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/gentrace"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/health"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"
)

func init() {
	caddy.RegisterModule(Gateway{})
}

// Gateway (`ai_gateway`) is the terminal handler that serves the OpenAI
// routes (POST /v1/chat/completions, /v1/responses, /v1/embeddings,
// GET /v1/models), the Anthropic routes (POST /v1/messages,
// /v1/messages/count_tokens) and the Gemini routes (POST
// /v1beta/models/{model}:generateContent, :streamGenerateContent,
// :countTokens, GET /v1beta/models). It resolves the requested model to
// providers, injects a provider key, calls the provider, fails over to the
// next key or model on retryable errors, streams answers event by event
// and records one usage event per attempt.
//
// Placeholders set: {http.vars.ai.request_id}, {http.vars.ai.provider},
// {http.vars.ai.model}.
type Gateway struct {
	// MaxRequestBody is the largest request body accepted, in bytes (a
	// size such as `64MB` in the Caddyfile); larger ones get 413
	// input_too_large. Default 32 MiB.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`

	// ModelSelection are selection strategies tried in order: CEL
	// expressions over `ai.models`, `req` and `key`, or the named
	// strategies `cheapest`, `fastest` and `most_reliable`. The first that
	// returns a non-empty list picks and orders the candidates; when the
	// client named its models, strategies only filter and reorder those.
	// Compiled and type-checked at provision. An access key
	// configuration's modelSelection replaces them for its keys. Default:
	// none; then named models keep the client's order and `auto` uses
	// `cheapest`.
	ModelSelection []string `json:"model_selection,omitempty"`

	// Failover tunes when a stream is abandoned for the next candidate.
	// Default: the defaults of its fields.
	Failover *FailoverConfig `json:"failover,omitempty"`

	// MaxAutoCandidates bounds how many models `auto` (or a missing
	// model) tries, in the order selection gives. A positive number;
	// default 5.
	MaxAutoCandidates int `json:"max_auto_candidates,omitempty"`

	// FirewallPolicy names a policy of the ai app's firewall_policies
	// that checks this site's requests and the tool calls of their
	// answers (README: Firewall). An access key configuration's
	// firewallPolicyId replaces it for its keys. Default: none.
	FirewallPolicy string `json:"firewall_policy,omitempty"`

	app        *App
	firewall   *firewall.Policy
	logger     *zap.Logger
	strategies []*selection.Strategy
	cheapest   []*selection.Strategy
}

// FailoverConfig are the stream failover settings.
type FailoverConfig struct {
	// FirstTokenTimeout: a stream that produces no content within it is
	// abandoned for the next candidate (nothing has reached the client
	// yet). A duration. Default: per_request_timeout.
	FirstTokenTimeout caddy.Duration `json:"first_token_timeout,omitempty"`
	// StreamIdleTimeout: a stream silent this long after content started
	// is stalled. A duration. Default 30s.
	StreamIdleTimeout caddy.Duration `json:"stream_idle_timeout,omitempty"`
	// ContinueStalledStreams continues a stalled stream on the next
	// candidate, re-asking it with the text already delivered, so the
	// client sees one answer. Default true; false ends the stream with an
	// error event instead.
	ContinueStalledStreams *bool `json:"continue_stalled_streams,omitempty"`
}

const defaultMaxRequestBody = 32 << 20

// CaddyModule returns the Caddy module information.
func (Gateway) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ai_gateway",
		New: func() caddy.Module { return new(Gateway) },
	}
}

// Provision joins the `ai` app.
func (g *Gateway) Provision(ctx caddy.Context) error {
	g.logger = ctx.Logger()
	app, err := ctx.App("ai")
	if err != nil {
		return fmt.Errorf("loading ai app: %w", err)
	}
	g.app = app.(*App)
	if g.FirewallPolicy != "" {
		if g.firewall = g.app.firewall[g.FirewallPolicy]; g.firewall == nil {
			return fmt.Errorf("firewall_policy: no policy named %q in the ai app's firewall_policy blocks", g.FirewallPolicy)
		}
	}
	if g.MaxRequestBody < 0 {
		return fmt.Errorf("max_request_body must not be negative (%d)", g.MaxRequestBody)
	}
	if g.MaxRequestBody == 0 {
		g.MaxRequestBody = defaultMaxRequestBody
	}
	if g.MaxAutoCandidates <= 0 {
		g.MaxAutoCandidates = 5
	}
	for i, src := range g.ModelSelection {
		st, err := selection.Compile(src)
		if err != nil {
			return fmt.Errorf("model_selection[%d] %q: %w", i, src, err)
		}
		g.strategies = append(g.strategies, st)
	}
	c, err := selection.Compile(selection.Cheapest)
	if err != nil {
		return err
	}
	g.cheapest = []*selection.Strategy{c}
	return nil
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	requestID(w, r)
	if aerr := g.app.ready(); aerr != nil {
		return writeError(w, r, aerr)
	}
	// The store closes only after every request in flight settled and
	// recorded what it delivered; a shutdown cuts them through ctx.
	ctx, entry, ok := g.app.shared.Enter(r.Context())
	if !ok {
		return writeError(w, r, errGatewayStopping)
	}
	defer entry.Leave()
	ctx, span := gentrace.StartGateway(ctx) // its attributes: traceCall (tracing.go)
	defer gentrace.End(span)
	// Gemini's routes name the model in the path (gemini.go).
	if id, ok := clientreq.GeminiModels(r.URL.Path); ok && r.Method == http.MethodGet {
		return g.serveGeminiModels(w, r, id)
	}
	ep, model, gemini := clientreq.Gemini(r.URL.Path)
	if !gemini {
		rest, ok := clientreq.Route(r.URL.Path)
		if !ok {
			return writeError(w, r, apierr.New(http.StatusNotFound, apierr.NotFound, "no such endpoint: "+r.URL.Path))
		}
		if clientreq.IsModels(rest) {
			return g.serveModels(w, r, strings.TrimPrefix(strings.TrimPrefix(rest, "models"), "/"))
		}
		ep = clientreq.Lookup(rest)
	}
	if ep == nil {
		return writeError(w, r, apierr.New(http.StatusNotFound, apierr.NotFound, "no such endpoint: "+r.URL.Path))
	}
	if r.Method != ep.Method {
		w.Header().Set("Allow", ep.Method)
		return writeError(w, r, apierr.New(http.StatusMethodNotAllowed, apierr.MethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
	}
	req, aerr := g.readRequest(w, r, ep, model)
	if aerr != nil {
		return writeError(w, r, aerr)
	}
	req.st = g.app.shared.Manage.Snapshot()
	req.cfg = configFor(req.st, CallerFrom(r))
	req.MaxOutputTokens = req.st.Gateway.MaxOutputTokens
	if limit := req.st.Gateway.MaxInputTokens; limit != nil && req.InputEstimate > *limit {
		return writeError(w, r, apierr.New(http.StatusRequestEntityTooLarge, apierr.InputTooLarge,
			fmt.Sprintf("the request's estimated %d input tokens exceed the gateway's maxInputTokens (%d)", req.InputEstimate, *limit)))
	}
	targets, aerr := g.candidates(req, CallerFrom(r))
	if len(req.rejected) > 0 {
		w.Header().Set(hdrRejectedModels, strings.Join(req.rejected, ", "))
	}
	if aerr != nil {
		return writeError(w, r, aerr)
	}
	gd, aerr := g.checkRequest(ctx, req, g.policyFor(ctx, req), CallerFrom(r))
	req.guard = gd
	if aerr != nil {
		g.recordBlocked(w, r, req, aerr)
		return writeError(w, r, aerr)
	}
	if counted := g.countTokensHere(w, r, req, targets); counted {
		return nil
	}
	return g.serve(ctx, w, r, req, targets)
}

// call is one client request on its way through the attempt loop.
type call struct {
	// ctx is the request's context as the gateway cut it at shutdown
	// (inflight): r.Context() plus ErrShutdown.
	ctx        context.Context
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
	targets []registry.Target
	// first is the first attempt and allBuf backs all: most requests
	// make one attempt.
	first  attempt
	allBuf [2]*attempt
}

// serve runs the attempt loop: each target in order; within a target each
// key (the healthy ones first) while the provider refuses the key; the
// next target when the provider fails. Nothing is written to the client
// until an attempt has an answer to serve.
func (g *Gateway) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request, targets []registry.Target) error {
	perRequest, total := g.app.timeouts(req.st)
	c := &call{ctx: ctx, w: w, r: r, req: req, id: requestID(w, r), caller: CallerFrom(r), targets: targets,
		perRequest: perRequest, deadline: time.Now().Add(total)}
	defer traceCall(c) // after the settlement: the attempts' spans are ended, the call's set
	b, aerr := g.beginBilling(c, targets)
	if aerr != nil {
		return writeError(w, r, aerr)
	}
	c.bill = b
	defer b.settle(c) // failures and abandoned streams; answers settle before their last bytes
	var last *attempt
	// stateless: why the targets tried so far could not carry the state a
	// Responses request needs (previous_response_id, store: true, ...);
	// a later one may be OpenAI's Responses API, which keeps it.
	var stateless string
	for ti, t := range targets {
		keys := health.Order(g.app.shared.Health, t.Provider.ID, registry.RotateManaged(t.Provider, b.usable(t, req.keys(t)), routing.Key.Managed), routing.Key.Secret)
		if len(keys) == 0 {
			c.failures = append(c.failures, apierr.Attempt{Provider: t.Provider.ID, Model: t.Name, Error: "no provider key available (configure an api_key or a routing rule)"})
			continue
		}
		up, err := upstream.Prepare(req.Request, t, nil)
		if err != nil {
			var se *translate.StateError // declared here: errors.As makes it escape
			if !errors.As(err, &se) {
				return writeError(w, r, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error()))
			}
			msg := se.Explain(t.Name, t.Provider.ID)
			c.failures = append(c.failures, apierr.Attempt{Provider: t.Provider.ID, Model: t.Name, Error: msg})
			if stateless == "" {
				stateless = msg
			}
			continue
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
				if shuttingDown(ctx) && !c.committed {
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
				if !sleepCtx(ctx, a.retryAfter) {
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
	if last == nil && stateless != "" {
		// No target could take the request as it is: a client error.
		return writeError(w, r, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, stateless))
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
	c.countRequest(nil, http.StatusBadGateway)
	return writeError(w, r, apierr.AllFailed(c.failures))
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

// Interface guards
var (
	_ caddy.Provisioner           = (*Gateway)(nil)
	_ caddyhttp.MiddlewareHandler = (*Gateway)(nil)
)
