package caddyaigateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
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

	app    *App
	logger *zap.Logger
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
	if g.MaxRequestBody <= 0 {
		g.MaxRequestBody = defaultMaxRequestBody
	}
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
	// maxTokens is the output limit the client asked for (0: none) and
	// maxTokensField the member it used.
	maxTokens      int64
	maxTokensField string
	// inputEstimate is the estimated input tokens (≈ body bytes / 4).
	inputEstimate int64
	// st is the management snapshot the request is served with, cfg the
	// caller's access key configuration (nil: unrestricted).
	st  *state
	cfg *AccessKeyConfiguration
	// rejected lists requested models the configuration refused.
	rejected []string
}

// requestFields is decoded from the body; unknown members are ignored.
type requestFields struct {
	Model         json.RawMessage `json:"model"`
	Models        json.RawMessage `json:"models"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int64 `json:"max_tokens"`
	MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	MaxOutputTokens     *int64 `json:"max_output_tokens"`
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	requestID(w, r)
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
	targets, aerr := g.candidates(req)
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
	var f requestFields
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "request body is not valid JSON: "+err.Error())
	}
	req := &request{ep: ep, body: body, stream: f.Stream && ep.streams, inputEstimate: usage.EstimateTokens(len(body))}
	for _, m := range []struct {
		v    *int64
		name string
	}{{f.MaxCompletionTokens, "max_completion_tokens"}, {f.MaxOutputTokens, "max_output_tokens"}, {f.MaxTokens, "max_tokens"}} {
		if m.v != nil && req.maxTokensField == "" {
			if *m.v < 1 {
				return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "'"+m.name+"' must be a positive integer")
			}
			req.maxTokens, req.maxTokensField = *m.v, m.name
		}
	}
	if len(f.Model) > 0 && string(f.Model) != "null" {
		if err := json.Unmarshal(f.Model, &req.model); err != nil {
			return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "'model' must be a string")
		}
	}
	if req.model == "" {
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
	if req.stream && ep.kind == usage.ChatCompletions {
		req.clientUsage = f.StreamOptions != nil && f.StreamOptions.IncludeUsage
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

// candidates resolves the requested model and its fallbacks (virtual
// models expanded) to the targets the route's format can reach and the
// caller's configuration allows, in order, without duplicates.
func (g *Gateway) candidates(req *request) ([]Target, *apierr.Error) {
	reg := g.app.registryFor(req.st)
	var out []Target
	var wrongFormat []string
	refusal := ""
	seen := map[string]bool{}
	for _, ref := range expandVirtual(req.st, append([]string{req.model}, req.fallbacks...)) {
		for _, t := range reg.Resolve(ref) {
			if seen[t.Ref()] {
				continue
			}
			seen[t.Ref()] = true
			if t.Provider.Format != req.ep.format {
				wrongFormat = append(wrongFormat, t.Ref())
				continue
			}
			if code := accessRefusal(req.cfg, t); code != "" {
				req.rejected = append(req.rejected, t.Ref())
				if refusal == "" {
					refusal = code
				}
				continue
			}
			out = append(out, t)
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case refusal == apierr.ProviderNotAllowed:
		return nil, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use the provider of %s", strings.Join(req.rejected, ", ")))
	case refusal != "":
		return nil, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use %s", strings.Join(req.rejected, ", ")))
	case len(wrongFormat) > 0:
		return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
			"%s is served by a provider of another API format; this route takes %s-format providers",
			strings.Join(wrongFormat, ", "), req.ep.format))
	}
	return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
		"no provider serves model %q; use a catalog model or name the provider explicitly (provider:model)", req.model))
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Gateway)(nil)
	_ caddyhttp.MiddlewareHandler = (*Gateway)(nil)
)
