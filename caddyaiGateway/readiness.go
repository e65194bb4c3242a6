package caddyaigateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Health{})
}

// Health (`ai_health`) answers load balancers' health checks, without an
// access key. It is terminal: give it a path matcher, as in
// `ai_health /ready` and `ai_health /live live` (ordered before ai_auth),
// or mount it in its own route: `handle /ready { ai_health }`.
//
// Readiness (the default) answers 200 `{"status":"ready"}` only when the
// `ai` app of this config is started and its store answers (a read of the
// bbolt file; a query to PostgreSQL within one second), and 503
// `{"status":"unavailable",…}` naming which check failed otherwise: while
// the store cannot be opened or the database is unreachable, before the
// app has started and after it has stopped (a config being replaced or a
// server shutting down). Store checks are shared for half a second, so a
// fleet of load balancers costs the database at most two queries a
// second per node.
//
// Liveness (`ai_health live`) answers 200 `{"status":"alive"}` whenever
// the process serves HTTP: a restart will not heal an unreachable
// database, so liveness does not depend on it.
//
// Both answer GET and HEAD, and never carry a key, a database URL or a
// path.
type Health struct {
	// Check is what the endpoint answers for: `ready` (the default: the
	// app is running and its store answers) or `live` (the process
	// serves HTTP).
	Check string `json:"check,omitempty"`

	app *App
}

// CaddyModule returns the Caddy module information.
func (Health) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ai_health",
		New: func() caddy.Module { return new(Health) },
	}
}

// Provision joins the `ai` app.
func (h *Health) Provision(ctx caddy.Context) error {
	app, err := ctx.App("ai")
	if err != nil {
		return err
	}
	h.app = app.(*App)
	return nil
}

// Validate checks the check's name.
func (h *Health) Validate() error {
	switch h.Check {
	case "", "ready", "live":
		return nil
	}
	return fmt.Errorf("ai_health: check %q is not ready or live", h.Check)
}

func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return healthAnswer(w, r, http.StatusMethodNotAllowed, `{"status":"method_not_allowed"}`)
	}
	if h.Check == "live" {
		return healthAnswer(w, r, http.StatusOK, `{"status":"alive"}`)
	}
	if !h.app.isRunning() {
		return healthAnswer(w, r, http.StatusServiceUnavailable, `{"status":"unavailable","app":"not running","storage":"unchecked"}`)
	}
	if err := h.checkStore(r.Context()); err != nil {
		return healthAnswer(w, r, http.StatusServiceUnavailable, `{"status":"unavailable","app":"running","storage":"unreachable"}`)
	}
	return healthAnswer(w, r, http.StatusOK, `{"status":"ready","app":"running","storage":"ok"}`)
}

func healthAnswer(w http.ResponseWriter, r *http.Request, status int, body string) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body + "\n"))
	}
	return nil
}

// checkStore opens the app's store if no request has yet, and asks it
// whether it answers (node.State.Ready, whose checks are shared).
func (h *Health) checkStore(ctx context.Context) error {
	sh, err := h.app.sharedState()
	if err != nil {
		return err
	}
	return sh.Ready(ctx)
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	ai_health [<matcher>] [ready|live]
func (h *Health) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		h.Check = d.Val()
		if h.Check != "ready" && h.Check != "live" {
			return d.Errf("ai_health: %q is not ready or live", h.Check)
		}
	}
	if d.NextArg() || d.NextBlock(0) {
		return d.Err("ai_health takes one optional argument: ready or live")
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Health)(nil)
	_ caddy.Validator             = (*Health)(nil)
	_ caddyhttp.MiddlewareHandler = (*Health)(nil)
	_ caddyfile.Unmarshaler       = (*Health)(nil)
)
