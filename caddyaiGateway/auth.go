package caddyaigateway

import (
	"fmt"
	"net/http"
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
// in `Authorization: Bearer <key>` or `x-api-key: <key>`. Unknown,
// disabled and expired keys get 401 invalid_access_key in the route's
// error shape. The key header is removed before anything goes upstream,
// and the caller is attached to the request for ai_credits and ai_gateway.
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
	if aerr := a.app.ready(); aerr != nil {
		upstream.StripCredentials(r.Header)
		return writeError(w, r, aerr)
	}
	token, ambiguous := clientreq.AccessToken(r.Header)
	upstream.StripCredentials(r.Header)
	if ambiguous {
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey,
			"the access key header is given more than once; send exactly one"))
	}
	if token == "" {
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey,
			"missing access key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'"))
	}
	now := time.Now()
	k := a.app.shared.manage.LookupKey(secrets.HashToken(token), now)
	switch {
	case k == nil:
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey, "invalid access key"))
	case k.Disabled:
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey, "access key is disabled"))
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return writeError(w, r, apierr.New(http.StatusUnauthorized, apierr.InvalidAccessKey, "access key has expired"))
	}
	a.app.shared.manage.Touch(k.ID, now)
	return next.ServeHTTP(w, withCaller(r, &Caller{AccessKey: k}))
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Auth)(nil)
	_ caddyhttp.MiddlewareHandler = (*Auth)(nil)
)
