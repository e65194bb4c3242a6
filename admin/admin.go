// Package admin is the gateway's management API: the `admin.api.ai`
// module, which serves /ai/ on Caddy's admin endpoint. Every call needs
// `Authorization: Bearer <management key>`; Caddy's admin endpoint has no
// authentication of its own, so keep it on loopback or a unix socket (see
// README.md).
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
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

// handler serves one management route; r.PathValue gives the {wildcards}
// of its pattern.
type handler func(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error

var (
	// mux routes authenticated calls by method and path.
	mux = http.NewServeMux()
	// patterns lists every registered route ("GET /ai/access-keys/{id}"),
	// so openapi_test.go can hold them against the document.
	patterns []string
)

// handle registers a route; each resource's file registers its own in init.
// A GET route also answers HEAD.
func handle(pattern string, h handler) {
	patterns = append(patterns, pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c := r.Context().Value(callKey{}).(*call)
		c.err = h(c.app, w, r)
	})
}

// call carries the app into a route's handler and its error back out,
// which an http.Handler has no room for.
type call struct {
	app *caddyaigateway.App
	err error
}

type callKey struct{}

func (a *API) serve(w http.ResponseWriter, r *http.Request) error {
	app := caddyaigateway.Current()
	if app == nil {
		return apiError(http.StatusServiceUnavailable, "the ai app is not running: add the ai_gateway directive or an `ai {}` global option to the config")
	}
	// before routing: without a key, unknown paths are 401 too
	token, ok := bearer(r)
	if !ok || !app.CheckManagementKey(token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="caddy-ai-gateway"`)
		return apiError(http.StatusUnauthorized, "a valid management API key is required: Authorization: Bearer <key>")
	}
	return dispatch(app, w, r)
}

// dispatch hands an authenticated call to its route. The mux answers a
// miss in plain text, so misses are answered here in the API's error
// shape: 405 with the Allow header the mux worked out, else 404.
func dispatch(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	routed := trimSlash(r)
	h, pattern := mux.Handler(routed)
	if pattern == "" { // no route; Caddy's own mux has already cleaned the path
		miss := missRecorder{header: http.Header{}}
		h.ServeHTTP(&miss, routed)
		if miss.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", miss.header.Get("Allow"))
			return apiError(http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		}
		return apiError(http.StatusNotFound, "no such resource: "+r.URL.Path)
	}
	c := &call{app: app}
	mux.ServeHTTP(w, routed.WithContext(context.WithValue(routed.Context(), callKey{}, c)))
	return c.err
}

// trimSlash drops one trailing slash, so /ai/access-keys/ is
// /ai/access-keys. An escaped one (%2F) is part of an id and stays.
func trimSlash(r *http.Request) *http.Request {
	p := r.URL.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	r2.URL = &u
	return r2
}

// missRecorder keeps the status and headers of the mux's answer to a call
// no route takes, and drops its plain-text body.
type missRecorder struct {
	header http.Header
	status int
}

func (m *missRecorder) Header() http.Header         { return m.header }
func (m *missRecorder) WriteHeader(status int)      { m.status = status }
func (m *missRecorder) Write(b []byte) (int, error) { return len(b), nil }

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

func apiError(status int, msg string) error {
	return caddy.APIError{HTTPStatus: status, Err: errors.New(msg)}
}

// storeError maps domain errors to API errors: 404 not found, 400 with
// the field for invalid input, 409 naming the referrer for conflicts.
func storeError(err error) error {
	var inv *manage.InvalidError
	var conflict *manage.ConflictError
	switch {
	case errors.Is(err, manage.ErrNotFound):
		return apiError(http.StatusNotFound, "not found")
	case errors.As(err, &inv):
		return apiError(http.StatusBadRequest, inv.Error())
	case errors.As(err, &conflict):
		return apiError(http.StatusConflict, conflict.Error())
	default:
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
}

// readPatch reads a JSON object body (≤1 MiB) as a manage.Patch.
func readPatch(r *http.Request) (manage.Patch, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return nil, apiError(http.StatusBadRequest, "reading body: "+err.Error())
	}
	if len(body) > 1<<20 {
		return nil, apiError(http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
	}
	p, err := manage.ParsePatch(body)
	if err != nil {
		return nil, storeError(err)
	}
	return p, nil
}

// writeJSON writes v as the response. Text comes back as it was sent: no
// \u003c for <, >, & (the API is not HTML).
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Interface guards
var (
	_ caddy.AdminRouter = (*API)(nil)
	_ caddy.Provisioner = (*API)(nil)
)
