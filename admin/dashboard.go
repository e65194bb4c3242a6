package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
)

func init() {
	caddy.RegisterModule(Dashboard{})
	httpcaddyfile.RegisterHandlerDirective("ai_dashboard", parseDashboard)
	// Where the other ai_ directives are. Mounted with handle_path (the
	// documented way) its place is handle_path's; beside the gateway's
	// directives, keep those in a `handle` block of their own so ai_auth
	// does not ask dashboard requests for an access key.
	httpcaddyfile.RegisterDirectiveOrder("ai_dashboard", httpcaddyfile.Before, "request_header")
}

// Dashboard is the `ai_dashboard` handler: the gateway's web dashboard,
// served from assets embedded in the binary. Mount it under a path of any
// site block, so operators reach it over the site's TLS without exposing
// Caddy's admin endpoint:
//
//	handle_path /ui/* {
//		ai_dashboard
//	}
//
// Operators log in with a management API key (the `admin_key` or one from
// /ai/api-keys). The key stays in this process's memory; the browser gets
// an HttpOnly, SameSite=Strict session cookie scoped to the mount path.
// The dashboard's data calls (`<mount>/api/ai/...`) are the management
// API's own routes, served in process with the session's key. Every call
// that changes something must carry the session's CSRF token.
type Dashboard struct {
	// SessionTTL is the longest a session lasts after login, however much
	// it is used. A duration. Default: 12h.
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`
	// SessionIdle ends a session that made no call for this long. A
	// duration. Default: 1h.
	SessionIdle caddy.Duration `json:"session_idle,omitempty"`

	lifetimes sessionLifetimes
	sessions  *sessionStore
	logger    *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Dashboard) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ai_dashboard",
		New: func() caddy.Module { return new(Dashboard) },
	}
}

// Provision sets the defaults and joins the process's session store.
func (d *Dashboard) Provision(ctx caddy.Context) error {
	d.logger = ctx.Logger(d)
	if d.SessionTTL == 0 {
		d.SessionTTL = caddy.Duration(12 * time.Hour)
	}
	if d.SessionIdle == 0 {
		d.SessionIdle = caddy.Duration(time.Hour)
	}
	d.lifetimes = sessionLifetimes{idle: time.Duration(d.SessionIdle), absolute: time.Duration(d.SessionTTL)}
	d.sessions = loadSessionStore()
	return nil
}

// Validate checks the lifetimes.
func (d *Dashboard) Validate() error {
	if d.SessionTTL < 0 || d.SessionIdle < 0 {
		return errors.New("ai_dashboard: session_ttl and session_idle must be positive")
	}
	return nil
}

// Cleanup leaves the session store.
func (d *Dashboard) Cleanup() error {
	if d.sessions != nil {
		_, err := sessionPool.Delete(sessionPoolKey)
		return err
	}
	return nil
}

// sessionCookie names the cookie holding the session id.
const sessionCookie = "ai_dashboard_session"

// contentSecurityPolicy allows the dashboard's own scripts, styles and
// calls only: no inline script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ServeHTTP serves the dashboard. It answers every path under its mount
// and never calls next.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")

	p := r.URL.Path
	switch {
	case p == "":
		// mounted with `handle_path /ui*` and visited as /ui: the page's
		// relative links need the trailing slash
		http.Redirect(w, r, mountPath(r)+"/", http.StatusFound)
		return nil
	case p == "/login":
		return d.login(w, r)
	case p == "/logout":
		return d.logout(w, r)
	case p == "/session":
		return d.sessionInfo(w, r)
	case strings.HasPrefix(p, "/api/ai/"):
		return d.api(w, r)
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		h.Set("Cache-Control", "no-store")
		return dashboardError(w, http.StatusNotFound, "no such resource: "+p)
	default:
		return serveAsset(w, r, p)
	}
}

// api serves a management call for a logged-in session: the same routes,
// handlers and errors as the admin endpoint's /ai/.
func (d *Dashboard) api(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	app := caddyaigateway.Current()
	if app == nil {
		return dashboardError(w, http.StatusServiceUnavailable, "the ai app is not running")
	}
	id, sess := d.session(r)
	if sess == nil {
		return dashboardError(w, http.StatusUnauthorized, "log in: no session, or it expired")
	}
	if !app.CheckManagementKey(sess.key) {
		// the key was deleted since login: so is the session
		d.sessions.remove(id)
		return dashboardError(w, http.StatusUnauthorized, "log in again: the management key of this session is no longer valid")
	}
	if err := checkWrite(r, sess); err != nil {
		return dashboardError(w, http.StatusForbidden, err.Error())
	}
	routed, ok := managementRequest(r)
	if !ok {
		return dashboardError(w, http.StatusNotFound, "no such resource: "+r.URL.Path)
	}
	if err := dispatch(app, w, routed); err != nil {
		var apiErr caddy.APIError
		if errors.As(err, &apiErr) {
			if apiErr.HTTPStatus >= 500 {
				d.logger.Error("management call failed", zap.String("method", r.Method), zap.String("path", routed.URL.Path), zap.Error(err))
			}
			msg := apiErr.Message
			if msg == "" && apiErr.Err != nil {
				msg = apiErr.Err.Error()
			}
			return dashboardError(w, apiErr.HTTPStatus, msg)
		}
		d.logger.Error("management call failed", zap.String("method", r.Method), zap.String("path", routed.URL.Path), zap.Error(err))
		return dashboardError(w, http.StatusInternalServerError, "internal error")
	}
	return nil
}

// managementRequest is r with its path moved from /api/ai/... to /ai/...,
// the management API's. A path that is not clean (dot segments, doubled
// slashes) is refused rather than resolved.
func managementRequest(r *http.Request) (*http.Request, bool) {
	rest := strings.TrimPrefix(r.URL.Path, "/api")
	if c := path.Clean(rest); c != strings.TrimSuffix(rest, "/") {
		return nil, false
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = rest
	if u.RawPath != "" {
		u.RawPath = strings.TrimPrefix(u.RawPath, "/api")
	}
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2, true
}

// login: POST {"key": "<management key>"} starts a session.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return dashboardError(w, http.StatusMethodNotAllowed, "log in with POST")
	}
	if err := checkOrigin(r); err != nil {
		return dashboardError(w, http.StatusForbidden, err.Error())
	}
	// JSON only: a cross-site form cannot send it without a preflight
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return dashboardError(w, http.StatusUnsupportedMediaType, "send the key as JSON: {\"key\": \"...\"}")
	}
	var body struct {
		Key string `json:"key"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Key == "" {
		return dashboardError(w, http.StatusBadRequest, "send the key as JSON: {\"key\": \"...\"}")
	}
	app := caddyaigateway.Current()
	if app == nil {
		return dashboardError(w, http.StatusServiceUnavailable, "the ai app is not running")
	}
	if !app.CheckManagementKey(body.Key) {
		d.logger.Warn("dashboard login refused", zap.String("remote_ip", remoteIP(r)))
		return dashboardError(w, http.StatusUnauthorized, "that is not a valid management API key")
	}
	id, sess := d.sessions.create(body.Key, d.lifetimes)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: cookiePath(r),
		MaxAge:   int(d.lifetimes.absolute / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	d.logger.Info("dashboard login", zap.String("remote_ip", remoteIP(r)))
	return writeJSON(w, http.StatusOK, d.sessionView(sess))
}

// logout ends the session; it needs the CSRF token like any write.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return dashboardError(w, http.StatusMethodNotAllowed, "log out with POST")
	}
	id, sess := d.session(r)
	if sess == nil {
		return dashboardError(w, http.StatusUnauthorized, "not logged in")
	}
	if err := checkWrite(r, sess); err != nil {
		return dashboardError(w, http.StatusForbidden, err.Error())
	}
	d.sessions.remove(id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: cookiePath(r), MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sessionInfo: GET /session says whether the browser is logged in and,
// if so, hands the page its CSRF token. Not being logged in is an answer
// (200), not an error, so the page's first look logs nothing.
func (d *Dashboard) sessionInfo(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return dashboardError(w, http.StatusMethodNotAllowed, "GET the session")
	}
	_, sess := d.session(r)
	if app := caddyaigateway.Current(); sess == nil || app == nil || !app.CheckManagementKey(sess.key) {
		return writeJSON(w, http.StatusOK, map[string]any{"authenticated": false})
	}
	return writeJSON(w, http.StatusOK, d.sessionView(sess))
}

func (d *Dashboard) sessionView(s *session) map[string]any {
	return map[string]any{"authenticated": true, "csrfToken": s.csrf, "expiresAt": d.lifetimes.expiresAt(s).UTC()}
}

// session returns the request's live session and its id.
func (d *Dashboard) session(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", nil
	}
	return c.Value, d.sessions.lookup(c.Value, d.lifetimes)
}

// checkWrite refuses a call that could change something (any method but
// GET and HEAD) unless it comes from this origin with the session's CSRF
// token.
func checkWrite(r *http.Request, s *session) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if err := checkOrigin(r); err != nil {
		return err
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) != 1 {
		return errors.New("missing or wrong X-CSRF-Token: reload the page")
	}
	return nil
}

// checkOrigin refuses a request whose Origin header names another host.
func checkOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("cross-origin request refused (Origin %q)", o)
	}
	return nil
}

// mountPath is where the dashboard is mounted: the original request's
// path less what the handler sees of it (handle_path strips the prefix).
func mountPath(r *http.Request) string {
	orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	if !ok || orig.URL == nil {
		return ""
	}
	mount, found := strings.CutSuffix(orig.URL.Path, r.URL.Path)
	if !found {
		return ""
	}
	return strings.TrimSuffix(mount, "/")
}

// cookiePath scopes the session cookie to the mount.
func cookiePath(r *http.Request) string {
	if m := mountPath(r); m != "" {
		return m
	}
	return "/"
}

func remoteIP(r *http.Request) string {
	vars, _ := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
	if addr, ok := vars[caddyhttp.ClientIPVarKey].(string); ok {
		return addr
	}
	return r.RemoteAddr
}

// dashboardError answers {"error": {"message": ...}} with status.
func dashboardError(w http.ResponseWriter, status int, msg string) error {
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg}})
}

//go:embed dashboard
var dashboardFS embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assets are the embedded files by path ("/app.js"); "/" is index.html.
var assets = func() map[string]asset {
	root, err := fs.Sub(dashboardFS, "dashboard")
	if err != nil {
		panic(err)
	}
	out := map[string]asset{}
	err = fs.WalkDir(root, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(name))
		switch path.Ext(name) {
		case ".js", ".mjs":
			ct = "text/javascript; charset=utf-8"
		case ".md":
			ct = "text/plain; charset=utf-8"
		}
		out["/"+name] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	out["/"] = out["/index.html"]
	return out
}()

// serveAsset serves an embedded file; the browser revalidates it on every
// load (ETag), so a new binary's dashboard shows at once.
func serveAsset(w http.ResponseWriter, r *http.Request, p string) error {
	a, ok := assets[p]
	if !ok {
		return caddyhttp.Error(http.StatusNotFound, fmt.Errorf("no dashboard file %s", p))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return caddyhttp.Error(http.StatusMethodNotAllowed, errors.New("the dashboard's files are read-only"))
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(a.body)
	return err
}

// parseDashboard parses the ai_dashboard directive:
//
//	ai_dashboard {
//		session_ttl  <duration>
//		session_idle <duration>
//	}
func parseDashboard(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	d := new(Dashboard)
	if err := d.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return d, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens.
func (d *Dashboard) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next() // directive name
	if disp.NextArg() {
		return disp.ArgErr()
	}
	for disp.NextBlock(0) {
		var field *caddy.Duration
		name := disp.Val()
		switch name {
		case "session_ttl":
			field = &d.SessionTTL
		case "session_idle":
			field = &d.SessionIdle
		default:
			return disp.Errf("unrecognized ai_dashboard option %q", name)
		}
		if !disp.NextArg() {
			return disp.ArgErr()
		}
		dur, err := caddy.ParseDuration(disp.Val())
		if err != nil {
			return disp.Errf("%s: %v", name, err)
		}
		if dur <= 0 {
			return disp.Errf("%s: must be positive", name)
		}
		*field = caddy.Duration(dur)
		if disp.NextArg() {
			return disp.ArgErr()
		}
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Dashboard)(nil)
	_ caddy.Validator             = (*Dashboard)(nil)
	_ caddy.CleanerUpper          = (*Dashboard)(nil)
	_ caddyhttp.MiddlewareHandler = (*Dashboard)(nil)
	_ caddyfile.Unmarshaler       = (*Dashboard)(nil)
)
