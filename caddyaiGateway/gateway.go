package caddyaigateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

func init() {
	caddy.RegisterModule(Gateway{})
}

// Gateway (`ai_gateway`) is the terminal handler that serves the OpenAI
// routes (POST /v1/chat/completions, /v1/responses, /v1/embeddings,
// GET /v1/models) and the Anthropic routes (POST /v1/messages,
// /v1/messages/count_tokens). It resolves the requested model to
// providers, injects a provider key, calls the provider, fails over to the
// next key or model on retryable errors, streams answers event by event
// and records one usage event per attempt.
//
// Placeholders set: {http.vars.ai.request_id}, {http.vars.ai.provider},
// {http.vars.ai.model}.
type Gateway struct {
	// MaxRequestBody is the largest request body accepted, in bytes;
	// larger ones get 413 input_too_large. Default 32 MiB.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`

	// ModelSelection are selection strategies tried in order: CEL
	// expressions over `ai.models`, `req` and `key`, or the named
	// strategies `cheapest`, `fastest` and `most_reliable`. The first that
	// returns a non-empty list picks and orders the candidates; when the
	// client named its models, strategies only filter and reorder those.
	// Compiled and type-checked at provision. An access key
	// configuration's modelSelection replaces them for its keys.
	ModelSelection []string `json:"model_selection,omitempty"`

	// Failover tunes when an attempt is abandoned for the next candidate.
	Failover *FailoverConfig `json:"failover,omitempty"`

	// MaxAutoCandidates bounds how many models `auto` (or a missing
	// model) tries, in the order selection gives. Default 5.
	MaxAutoCandidates int `json:"max_auto_candidates,omitempty"`

	app        *App
	logger     *zap.Logger
	strategies []*selection.Strategy
	cheapest   []*selection.Strategy
}

// FailoverConfig are the stream failover settings.
type FailoverConfig struct {
	// FirstTokenTimeout: a stream that produces no content within it is
	// abandoned for the next candidate (nothing has reached the client
	// yet). Default: per_request_timeout.
	FirstTokenTimeout caddy.Duration `json:"first_token_timeout,omitempty"`
	// StreamIdleTimeout: a stream silent this long after content started
	// is stalled. Default 30s.
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

// request is what the gateway needs to know of a client request; the body
// itself is forwarded as sent, apart from the members the gateway owns.
type request struct {
	ep   *endpoint
	body []byte
	// model and fallbacks as the client named them.
	model     string
	fallbacks []string
	stream    bool
	// clientUsage: the client asked for usage in its stream (OpenAI
	// stream_options.include_usage); when false the usage chunk the
	// gateway asked for is hidden from it.
	clientUsage bool
	// upstreamBody is body with `models` removed and stream usage asked
	// for; only `model` (and a capped output limit) change per target.
	upstreamBody []byte
	// clientBody is body with `models` removed: what translation and
	// continuation start from.
	clientBody []byte
	// maxTokens is the output limit the client asked for (0: none),
	// maxTokensField the member it used and outputMembers how many output
	// limit members the body has (chat completions accept two).
	maxTokens      int64
	maxTokensField string
	outputMembers  int
	// choices is chat completions' n (0: not set): the output limit holds
	// for each choice.
	choices int64
	// inputEstimate is the estimated input tokens (≈ body bytes / 4).
	inputEstimate int64
	// unmeasured: the body carries input its bytes do not bound (images,
	// files, provider-kept state); the hold then covers the context window.
	unmeasured bool
	// header is the client's request headers (req.headers in selection,
	// credentials left out there).
	header http.Header
	// tools: the body declares tools (the provider adds a system prompt
	// for them).
	tools bool
	// metered: the request draws on credits (ai_credits ran), so every
	// upstream body carries an output limit.
	metered bool
	// st is the management snapshot the request is served with, cfg the
	// caller's access key configuration (nil: unrestricted).
	st  *state
	cfg *AccessKeyConfiguration
	// rejected lists requested models the configuration refused.
	rejected []string
	keyCache map[targetKey][]keyChoice
}

// requestFields is decoded from the body; unknown members are ignored.
// checkMembers has made sure each member appears once, spelled as here.
type requestFields struct {
	Model               json.RawMessage `json:"model"`
	Models              json.RawMessage `json:"models"`
	Stream              json.RawMessage `json:"stream"`
	StreamOptions       json.RawMessage `json:"stream_options"`
	MaxTokens           json.RawMessage `json:"max_tokens"`
	MaxCompletionTokens json.RawMessage `json:"max_completion_tokens"`
	MaxOutputTokens     json.RawMessage `json:"max_output_tokens"`
	N                   json.RawMessage `json:"n"`
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	requestID(w, r)
	if aerr := g.app.ready(); aerr != nil {
		return writeError(w, r, aerr)
	}
	// The store closes only after every request in flight settled and
	// recorded what it delivered; a shutdown cuts them through ctx.
	ctx, leave, ok := g.app.shared.enter(r.Context())
	if !ok {
		return writeError(w, r, errGatewayStopping)
	}
	defer leave()
	r = r.WithContext(ctx)
	rest, ok := route(r.URL.Path)
	if !ok {
		return writeError(w, r, apierr.New(http.StatusNotFound, apierr.NotFound, "no such endpoint: "+r.URL.Path))
	}
	if rest == "models" || strings.HasPrefix(rest, "models/") {
		return g.serveModels(w, r, strings.TrimPrefix(strings.TrimPrefix(rest, "models"), "/"))
	}
	ep := endpoints[rest]
	if ep == nil {
		return writeError(w, r, apierr.New(http.StatusNotFound, apierr.NotFound, "no such endpoint: "+r.URL.Path))
	}
	if r.Method != ep.method {
		w.Header().Set("Allow", ep.method)
		return writeError(w, r, apierr.New(http.StatusMethodNotAllowed, apierr.MethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
	}
	req, aerr := g.readRequest(w, r, ep)
	if aerr != nil {
		return writeError(w, r, aerr)
	}
	req.st = g.app.shared.snapshot()
	req.cfg = configFor(req.st, CallerFrom(r))
	if limit := req.st.gateway.MaxInputTokens; limit != nil && req.inputEstimate > *limit {
		return writeError(w, r, apierr.New(http.StatusRequestEntityTooLarge, apierr.InputTooLarge,
			fmt.Sprintf("the request's estimated %d input tokens exceed the gateway's maxInputTokens (%d)", req.inputEstimate, *limit)))
	}
	targets, aerr := g.candidates(req, CallerFrom(r))
	if len(req.rejected) > 0 {
		w.Header().Set(hdrRejectedModels, strings.Join(req.rejected, ", "))
	}
	if aerr != nil {
		return writeError(w, r, aerr)
	}
	return g.serve(w, r, req, targets)
}

// readRequest reads and checks the body and prepares what every attempt
// forwards.
func (g *Gateway) readRequest(w http.ResponseWriter, r *http.Request, ep *endpoint) (*request, *apierr.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.MaxRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierr.New(http.StatusRequestEntityTooLarge, apierr.InputTooLarge,
				fmt.Sprintf("request body exceeds the gateway's limit of %d bytes", g.MaxRequestBody))
		}
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "reading request body: "+err.Error())
	}
	if !utf8.Valid(body) {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "request body is not valid UTF-8")
	}
	if err := checkMembers(body, ep.kind); err != nil {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "invalid request body: "+err.Error())
	}
	var f requestFields
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "request body is not valid JSON: "+err.Error())
	}
	req := &request{ep: ep, body: body, header: r.Header, inputEstimate: usage.EstimateTokens(len(body)), metered: walletFrom(r) != nil}
	if req.metered { // what bounds a hold; nothing to bound otherwise
		req.unmeasured = hasUnmeasuredInput(body)
		req.tools = bytes.Contains(body, []byte(`"tools"`)) || bytes.Contains(body, []byte(`"functions"`))
	}
	if len(f.Stream) > 0 && string(f.Stream) != "null" {
		if err := json.Unmarshal(f.Stream, &req.stream); err != nil {
			return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "'stream' must be a boolean")
		}
		req.stream = req.stream && ep.streams
	}
	if err := parseChoices(req, f.N); err != nil {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error())
	}
	if err := parseOutputLimit(req, outputMembers{f.MaxTokens, f.MaxCompletionTokens, f.MaxOutputTokens}); err != nil {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error())
	}
	if len(f.Model) > 0 && string(f.Model) != "null" {
		if err := json.Unmarshal(f.Model, &req.model); err != nil {
			return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "'model' must be a string")
		}
	}
	if req.model == "" && (ep.kind == usage.CountTokens || ep.kind == usage.Embeddings) {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "'model' is required")
	}
	up := body
	if len(f.Models) > 0 {
		if string(f.Models) != "null" {
			if err := json.Unmarshal(f.Models, &req.fallbacks); err != nil {
				return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "'models' must be an array of model names")
			}
		}
		if up, err = jsonobj.Delete(up, "models"); err != nil {
			return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error())
		}
	}
	req.clientBody = up
	if req.stream && ep.kind == usage.ChatCompletions {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if len(f.StreamOptions) > 0 && string(f.StreamOptions) != "null" {
			if err := json.Unmarshal(f.StreamOptions, &so); err != nil {
				return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "'stream_options' must be an object with a boolean include_usage")
			}
		}
		req.clientUsage = so.IncludeUsage
		if !req.clientUsage {
			opts := []byte(`{"include_usage":true}`)
			if raw, ok, _ := jsonobj.Get(up, "stream_options"); ok && len(raw) > 0 && raw[0] == '{' {
				if merged, err := jsonobj.Set(raw, "include_usage", []byte("true")); err == nil {
					opts = merged
				}
			}
			if up, err = jsonobj.Set(up, "stream_options", opts); err != nil {
				return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error())
			}
		}
	}
	req.upstreamBody = up
	return req, nil
}

// canServe reports whether provider p can serve endpoint ep: in its own
// format, or by translation between OpenAI chat completions and Anthropic
// messages.
func canServe(ep *endpoint, p *Provider) bool {
	if p.Format == ep.format {
		return true
	}
	return ep.kind == usage.ChatCompletions || ep.kind == usage.Messages
}

// candidates resolves the requested model and its fallbacks (virtual
// models expanded; every usable model for `auto` or no model) to the
// targets that can serve the route and that the caller's configuration
// allows, then lets the selection strategies order them.
func (g *Gateway) candidates(req *request, caller *Caller) ([]Target, *apierr.Error) {
	reg := g.app.registryFor(req.st)
	auto := isAuto(req.model)
	var out []Target
	var wrongFormat []string
	refusal := ""
	seen := map[string]bool{}
	add := func(t Target) {
		if seen[t.Ref()] {
			return
		}
		seen[t.Ref()] = true
		if !canServe(req.ep, t.Provider) {
			wrongFormat = append(wrongFormat, t.Ref())
			return
		}
		if code := accessRefusal(req.cfg, t); code != "" {
			req.rejected = append(req.rejected, t.Ref())
			if refusal == "" {
				refusal = code
			}
			return
		}
		out = append(out, t)
	}
	if auto {
		wantEmbedding := req.ep.kind == usage.Embeddings
		for _, p := range reg.Providers() {
			for _, m := range p.Models {
				t := Target{Provider: p, Model: m, Name: m.ID}
				if m.IsEmbedding() != wantEmbedding || !canServe(req.ep, p) || accessRefusal(req.cfg, t) != "" ||
					len(req.keys(t)) == 0 {
					continue
				}
				add(t)
			}
		}
		for _, ref := range expandVirtual(req.st, req.fallbacks) {
			for _, t := range reg.Resolve(ref) {
				add(t)
			}
		}
	} else {
		for _, ref := range expandVirtual(req.st, append([]string{req.model}, req.fallbacks...)) {
			for _, t := range reg.Resolve(ref) {
				add(t)
			}
		}
	}
	switch {
	case len(out) > 0:
		out, aerr := g.selectTargets(req, out, auto, caller)
		if aerr != nil {
			return nil, aerr
		}
		if auto && len(out) > g.MaxAutoCandidates {
			out = out[:g.MaxAutoCandidates]
		}
		return g.healthOrder(req, out), nil
	case refusal == apierr.ProviderNotAllowed:
		return nil, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use the provider of %s", strings.Join(req.rejected, ", ")))
	case refusal != "":
		return nil, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use %s", strings.Join(req.rejected, ", ")))
	case len(wrongFormat) > 0:
		return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
			"%s cannot serve %s requests", strings.Join(wrongFormat, ", "), req.ep.name))
	case auto:
		return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, "no model is available to this access key for "+req.ep.name)
	}
	return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
		"no provider serves model %q; use a catalog model or name the provider explicitly (provider:model)", req.model))
}

// healthOrder moves targets whose every key is cooling down (refused or
// rate limited recently, by any request) after the others.
func (g *Gateway) healthOrder(req *request, targets []Target) []Target {
	h := g.app.shared.health
	var cooling []Target
	out := targets[:0:0]
	for _, t := range targets {
		keys := req.keys(t)
		all := len(keys) > 0
		for _, k := range keys {
			all = all && h.cooling(t.Provider.ID, k.value)
		}
		if all {
			cooling = append(cooling, t)
		} else {
			out = append(out, t)
		}
	}
	return append(out, cooling...)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Gateway)(nil)
	_ caddyhttp.MiddlewareHandler = (*Gateway)(nil)
)
