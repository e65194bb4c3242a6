// Package admin is the gateway's management API: the `admin.api.ai`
// module, which serves /ai/ on Caddy's admin endpoint. Every call needs
// `Authorization: Bearer <management key>`; Caddy's admin endpoint has no
// authentication of its own, so keep it on loopback or a unix socket (see
// README.md).
package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
)

func init() {
	caddy.RegisterModule(API{})
}

// API is the `admin.api.ai` module.
type API struct {
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.ai",
		New: func() caddy.Module { return new(API) },
	}
}

// Provision sets up the module. Admin modules are provisioned before the
// apps, so the `ai` app is looked up per request (caddyaigateway.Current).
func (a *API) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger(a)
	return nil
}

// Routes returns the admin routes.
func (a *API) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/ai/", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// route is one management route: a method and a path pattern whose {id}
// segments are captured.
type route struct {
	method  string
	pattern string
	handle  func(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request, params []string) error
}

// routes is every management route; each resource's file registers its
// own in init.
var routes []route

func register(rs ...route) { routes = append(routes, rs...) }

func (a *API) serve(w http.ResponseWriter, r *http.Request) error {
	app := caddyaigateway.Current()
	if app == nil {
		return apiError(http.StatusServiceUnavailable, "the ai app is not running: add the ai_gateway directive or an `ai {}` global option to the config")
	}
	token, ok := bearer(r)
	if !ok || !app.CheckManagementKey(token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="caddy-ai-gateway"`)
		return apiError(http.StatusUnauthorized, "a valid management API key is required: Authorization: Bearer <key>")
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	pathMatched := false
	for _, rt := range routes {
		params, ok := match(rt.pattern, path)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.method != r.Method {
			continue
		}
		return rt.handle(app, w, r, params)
	}
	if pathMatched {
		return apiError(http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
	}
	return apiError(http.StatusNotFound, "no such resource: "+r.URL.Path)
}

func bearer(r *http.Request) (string, bool) {
	const prefix = "bearer "
	if len(r.Header.Values("Authorization")) != 1 {
		return "", false // none, or ambiguous
	}
	v := r.Header.Get("Authorization")
	if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(v[len(prefix):]), true
}

// match matches a path against a pattern with {name} segments.
func match(pattern, path string) ([]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	var params []string
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			if xs[i] == "" {
				return nil, false
			}
			params = append(params, xs[i])
		} else if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}

func apiError(status int, msg string) error {
	return caddy.APIError{HTTPStatus: status, Err: errors.New(msg)}
}

// storeError maps domain errors to API errors: 404 not found, 400 with
// the field for invalid input, 409 naming the referrer for conflicts.
func storeError(err error) error {
	var inv *caddyaigateway.InvalidError
	var conflict *caddyaigateway.ConflictError
	switch {
	case errors.Is(err, caddyaigateway.ErrNotFound):
		return apiError(http.StatusNotFound, "not found")
	case errors.As(err, &inv):
		return apiError(http.StatusBadRequest, inv.Error())
	case errors.As(err, &conflict):
		return apiError(http.StatusConflict, conflict.Error())
	default:
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
}

// readPatch reads a JSON object body (≤1 MiB) as a Patch.
func readPatch(r *http.Request) (caddyaigateway.Patch, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return nil, apiError(http.StatusBadRequest, "reading body: "+err.Error())
	}
	if len(body) > 1<<20 {
		return nil, apiError(http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
	}
	p, err := caddyaigateway.ParsePatch(body)
	if err != nil {
		return nil, storeError(err)
	}
	return p, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// Interface guards
var (
	_ caddy.AdminRouter = (*API)(nil)
	_ caddy.Provisioner = (*API)(nil)
)
