package caddyaigateway

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"
)

func init() {
	caddy.RegisterModule(Auth{})
}

// Auth (`ai_auth`) admits requests that carry a valid gateway access key
// in `Authorization: Bearer <key>`, `x-api-key: <key>` or
// `x-goog-api-key: <key>` (on Gemini's routes also `?key=<key>`). Unknown,
// disabled and expired keys get 401 invalid_access_key in the route's
// error shape. The key header or query parameter is removed before
// anything goes upstream, and the caller is attached to the request for
// ai_credits and ai_gateway.
//
// Placeholders set: {http.vars.ai.access_key_id}, {http.vars.ai.account_id}.
type Auth struct {
	app    *App
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Auth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ai_auth",
		New: func() caddy.Module { return new(Auth) },
	}
}

// Provision joins the `ai` app.
func (a *Auth) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	app, err := ctx.App("ai")
	if err != nil {
		return fmt.Errorf("loading ai app: %w", err)
	}
	a.app = app.(*App)
	return nil
}

func (a *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	requestID(w, r)
	token, ambiguous := clientreq.AccessToken(r.Header)
	upstream.StripCredentials(r.Header)
	gemini := clientreq.IsGeminiPath(r.URL.Path)
	if gemini {
		// Google's SDKs and curl examples may send the key as ?key=; it
		// is taken out of the request before anything else sees it.
		if key, n, rest := clientreq.KeyParam(r.URL.RawQuery); n > 0 {
			stripKeyParam(r, rest)
			ambiguous = ambiguous || n > 1 || (token != "" && token != key)
			if token == "" {
				token = key
			}
		}
	}
	if aerr := a.app.ready(); aerr != nil {
		return writeError(w, r, aerr)
	}
	if ambiguous {
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey,
			"the access key is given more than once; send exactly one"))
	}
	if token == "" {
		msg := "missing access key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
		if gemini {
			msg = "missing access key: send it as 'x-goog-api-key: <key>', '?key=<key>' or 'Authorization: Bearer <key>'"
		}
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey, msg))
	}
	now := time.Now()
	k := a.app.shared.Manage.LookupKey(secrets.HashToken(token), now)
	switch {
	case k == nil:
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey, "invalid access key"))
	case k.Disabled:
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey, "access key is disabled"))
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey, "access key has expired"))
	}
	a.app.shared.Manage.Touch(k.ID, now)
	return next.ServeHTTP(w, withCaller(r, &Caller{AccessKey: k}))
}

// stripKeyParam removes the key query parameter from the request (rest is
// the query without it): from its URL, which goes upstream, and from
// RequestURI, which placeholders such as {http.request.uri} read. Caddy's
// access log copied the request before any handler ran: its uri needs
// the `query` log filter (README, Access logs).
func stripKeyParam(r *http.Request, rest string) {
	r.URL.RawQuery = rest
	r.URL.ForceQuery = false
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if rest != "" {
		path += "?" + rest
	}
	r.RequestURI = path
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Auth)(nil)
	_ caddyhttp.MiddlewareHandler = (*Auth)(nil)
)
