package caddyaigateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
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

// DefaultAccountID is the account access keys belong to unless told
// otherwise.
const DefaultAccountID = "default"

// Caller is who is calling, as established by ai_auth.
type Caller struct {
	AccessKey *store.AccessKey
}

// AccountID is the account the caller draws on.
func (c *Caller) AccountID() string {
	if c == nil || c.AccessKey == nil || c.AccessKey.AccountID == "" {
		return DefaultAccountID
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
