// request.go: the client request as the gateway reads it (request,
// readRequest checking the body and preparing what every attempt
// forwards), who is calling (Caller), its request id, the response headers
// and placeholders the gateway sets, and error answers in the route's
// format.

package caddyaigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Response headers.
const (
	hdrRequestID      = "AI-Gateway-Request-Id"
	hdrAttempts       = "AI-Gateway-Attempts"
	hdrProvider       = "AI-Gateway-Provider"
	hdrModel          = "AI-Gateway-Model"
	hdrRejectedModels = "AI-Gateway-Rejected-Models"
	hdrRemovedParams  = "AI-Gateway-Removed-Params"
	hdrCost           = "AI-Gateway-Cost-USD"
)

// Placeholders (Caddy vars) the handlers set, usable in logs and later
// handlers as {http.vars.ai.*}.
const (
	varRequestID   = "ai.request_id"
	varCaller      = "ai.caller"
	varAccessKeyID = "ai.access_key_id"
	varAccountID   = "ai.account_id"
	varProvider    = "ai.provider"
	varModel       = "ai.model"
)

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
	st  *manage.Snapshot
	cfg *manage.AccessKeyConfiguration
	// rejected lists requested models the configuration refused.
	rejected []string
	keyCache map[targetKey][]keyChoice
}

// requestFields are the raw values of the members the gateway reads,
// collected by checkMembers (which has made sure each appears once,
// spelled as here); absent members are nil.
type requestFields struct {
	Model, Models, Stream, StreamOptions            []byte
	MaxTokens, MaxCompletionTokens, MaxOutputTokens []byte
	N                                               []byte
}

func (f *requestFields) set(key, value []byte) {
	switch string(key) {
	case "model":
		f.Model = value
	case "models":
		f.Models = value
	case "stream":
		f.Stream = value
	case "stream_options":
		f.StreamOptions = value
	case "max_tokens":
		f.MaxTokens = value
	case "max_completion_tokens":
		f.MaxCompletionTokens = value
	case "max_output_tokens":
		f.MaxOutputTokens = value
	case "n":
		f.N = value
	}
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
	if !json.Valid(body) {
		var v any // only to say where
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "request body is not valid JSON: "+json.Unmarshal(body, &v).Error())
	}
	f, err := checkMembers(body, ep.kind)
	if err != nil {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "invalid request body: "+err.Error())
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

// Caller is who is calling, as established by ai_auth.
type Caller struct {
	AccessKey *store.AccessKey
}

// AccountID is the account the caller draws on.
func (c *Caller) AccountID() string {
	if c == nil || c.AccessKey == nil || c.AccessKey.AccountID == "" {
		return manage.DefaultAccountID
	}
	return c.AccessKey.AccountID
}

type callerCtxKey struct{}

// withCaller attaches the caller to the request: in Caddy's vars when the
// request came through a Caddy server (no request copy), else in a
// derived context.
func withCaller(r *http.Request, c *Caller) *http.Request {
	if vars, ok := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		vars[varCaller] = c
		vars[varAccessKeyID] = c.AccessKey.ID
		vars[varAccountID] = c.AccountID()
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), callerCtxKey{}, c))
}

// CallerFrom returns the caller ai_auth attached, or nil.
func CallerFrom(r *http.Request) *Caller {
	if c, ok := caddyhttp.GetVar(r.Context(), varCaller).(*Caller); ok {
		return c
	}
	c, _ := r.Context().Value(callerCtxKey{}).(*Caller)
	return c
}

// requestID returns the request's gateway id, creating it (and the
// response header, present on every answer) on first use.
func requestID(w http.ResponseWriter, r *http.Request) string {
	if v, ok := caddyhttp.GetVar(r.Context(), varRequestID).(string); ok && v != "" {
		return v
	}
	id := ids.New("req")
	caddyhttp.SetVar(r.Context(), varRequestID, id)
	w.Header().Set(hdrRequestID, id)
	return id
}

// routeFormat is the error shape of a route: Anthropic under /v1/messages,
// OpenAI everywhere else.
func routeFormat(path string) apierr.Format {
	if strings.Contains(path, "/messages") {
		return apierr.Anthropic
	}
	return apierr.OpenAI
}

// writeError sends a gateway error in the route's shape and counts it in
// the metrics (see observeError).
func writeError(w http.ResponseWriter, r *http.Request, e *apierr.Error) error {
	observeError(r.URL.Path, e)
	apierr.Write(w, routeFormat(r.URL.Path), e)
	return nil
}
