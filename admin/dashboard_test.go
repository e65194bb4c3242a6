package admin

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
)

// clockOffset moves the dashboard's clock (now) forward in the tests;
// atomic, because Caddy's goroutines read it.
var clockOffset atomic.Int64

func advance(d time.Duration) { clockOffset.Add(int64(d)) }

// startDashboard runs Caddy in this process with the ai app and a site
// that mounts the dashboard under /ui/ (10 min idle, 1 h absolute), and
// returns the site's address.
func startDashboard(t *testing.T) string {
	t.Helper()
	clockOffset.Store(0)
	now = func() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }
	site := testports.Free(t, testports.Admin)
	cf := fmt.Sprintf(`{
	admin off
	log {
		output discard
	}
	ai {
		storage %s
		admin_key %s
	}
}

http://%s {
	handle_path /ui/* {
		ai_dashboard {
			session_idle 10m
			session_ttl 1h
		}
	}
}
`, filepath.Join(t.TempDir(), "gw.db"), testAdminKey, site)
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapting: %v", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v", err)
	}
	t.Cleanup(func() {
		_ = caddy.Stop()
		now = time.Now
	})
	return site
}

// browser is a dashboard client: its cookie and CSRF token, and every
// answer it got (to look for the key in).
type browser struct {
	t       *testing.T
	addr    string
	cookie  *http.Cookie
	csrf    string
	answers bytes.Buffer
}

type dashResponse struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path, body string, header map[string]string) dashResponse {
	b.t.Helper()
	req, err := http.NewRequest(method, "http://"+b.addr+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	_ = resp.Header.Write(&b.answers)
	b.answers.Write(raw)
	return dashResponse{resp.StatusCode, resp.Header, string(raw)}
}

// write sends a change with the session's CSRF token.
func (b *browser) write(method, path, body string) dashResponse {
	b.t.Helper()
	return b.do(method, path, body, map[string]string{"X-CSRF-Token": b.csrf})
}

// login logs in with key and keeps the cookie and token.
func (b *browser) login(key string) dashResponse {
	b.t.Helper()
	r := b.do("POST", "/ui/login", fmt.Sprintf(`{"key":%q}`, key), nil)
	if r.status != http.StatusOK {
		return r
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			b.cookie = c
		}
	}
	var s struct {
		CSRFToken string `json:"csrfToken"`
	}
	if err := json.Unmarshal([]byte(r.body), &s); err != nil || s.CSRFToken == "" || b.cookie == nil {
		b.t.Fatalf("login answered %s with cookie %v", r.body, b.cookie)
	}
	b.csrf = s.CSRFToken
	return r
}

// dashErrorMessage is the message of {"error": {"message": ...}}.
func dashErrorMessage(t *testing.T, r dashResponse) string {
	t.Helper()
	var v struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Error.Message == "" {
		t.Fatalf("not a dashboard error: %d %q", r.status, r.body)
	}
	return v.Error.Message
}

func TestDashboardPageAndHeaders(t *testing.T) {
	b := &browser{t: t, addr: startDashboard(t)}
	r := b.do("GET", "/ui/", "", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `<script src="app.js" type="module">`) {
		t.Fatalf("GET /ui/: %d %.200s", r.status, r.body)
	}
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
		"Content-Type":           "text/html; charset=utf-8",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "onclick=") {
		t.Error("index.html has inline script")
	}

	// the files the page loads, with their types; revalidated by ETag
	for path, ct := range map[string]string{
		"/ui/app.js": "text/javascript; charset=utf-8", "/ui/lib.js": "text/javascript; charset=utf-8",
		"/ui/pages.js": "text/javascript; charset=utf-8", "/ui/manage.js": "text/javascript; charset=utf-8",
		"/ui/app.css": "text/css; charset=utf-8", "/ui/vendor/chart.umd.min.js": "text/javascript; charset=utf-8",
		"/ui/favicon.svg": "image/svg+xml",
	} {
		r := b.do("GET", path, "", nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != ct || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d %q", path, r.status, r.header.Get("Content-Type"))
		}
		if again := b.do("GET", path, "", map[string]string{"If-None-Match": r.header.Get("ETag")}); again.status != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, again.status)
		}
	}
	if r := b.do("GET", "/ui/nope.js", "", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /ui/nope.js: %d", r.status)
	}
	if r := b.do("POST", "/ui/app.js", "", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/app.js: %d", r.status)
	}
	// not logged in is an answer, not an error
	if r := b.do("GET", "/ui/session", "", nil); r.status != http.StatusOK || strings.TrimSpace(r.body) != `{"authenticated":false}` ||
		r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /ui/session: %d %s (Cache-Control %q)", r.status, r.body, r.header.Get("Cache-Control"))
	}
}

func TestDashboardLogin(t *testing.T) {
	b := &browser{t: t, addr: startDashboard(t)}

	r := b.do("POST", "/ui/login", `{"key":"wrong-key-0123456789"}`, nil)
	if r.status != http.StatusUnauthorized || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("wrong key: %d %s (Set-Cookie %q)", r.status, r.body, r.header.Get("Set-Cookie"))
	}
	dashErrorMessage(t, r)
	if r := b.do("GET", "/ui/login", "", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /ui/login: %d", r.status)
	}
	// a cross-site form post cannot log the browser in
	if r := b.do("POST", "/ui/login", "key="+testAdminKey, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("form login: %d", r.status)
	}
	if r := b.do("POST", "/ui/login", fmt.Sprintf(`{"key":%q}`, testAdminKey), map[string]string{"Origin": "https://evil.example"}); r.status != http.StatusForbidden {
		t.Errorf("cross-origin login: %d %s", r.status, r.body)
	}
	if r := b.do("POST", "/ui/login", `{"key":"x","extra":1}`, nil); r.status != http.StatusBadRequest {
		t.Errorf("unknown field: %d", r.status)
	}

	r = b.login(testAdminKey)
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	c := b.cookie
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ui" || c.Secure || c.MaxAge != 3600 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui, not Secure over plain HTTP, Max-Age 3600", c)
	}
	if len(c.Value) < 43 {
		t.Errorf("session id %q: want 256 random bits", c.Value)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("login Cache-Control %q", r.header.Get("Cache-Control"))
	}
	s := b.do("GET", "/ui/session", "", nil)
	if !strings.Contains(s.body, `"authenticated":true`) || !strings.Contains(s.body, b.csrf) {
		t.Errorf("session: %s", s.body)
	}
	if a := b.do("GET", "/ui/api/ai/accounts", "", nil); a.status != http.StatusOK || !strings.Contains(a.body, `"id":"default"`) {
		t.Errorf("accounts: %d %s", a.status, a.body)
	}
	if strings.Contains(b.answers.String(), testAdminKey) {
		t.Error("the management key is in an answer")
	}
}

// TestDashboardSecureCookie: over TLS the cookie is Secure.
func TestDashboardSecureCookie(t *testing.T) {
	startDashboard(t)
	d := &Dashboard{lifetimes: sessionLifetimes{idle: time.Hour, absolute: time.Hour}, sessions: loadSessionStore(), logger: zap.NewNop()}
	t.Cleanup(func() { _ = d.Cleanup() })
	req := httptest.NewRequest("POST", "https://gw.example/login", strings.NewReader(fmt.Sprintf(`{"key":%q}`, testAdminKey)))
	req.Header.Set("Content-Type", "application/json")
	req.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	if err := d.ServeHTTP(w, req, nil); err != nil || w.Code != http.StatusOK {
		t.Fatalf("login: %v %d %s", err, w.Code, w.Body)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || cookies[0].Path != "/" {
		t.Errorf("cookies %+v: want one, Secure, Path=/ (no mount)", cookies)
	}
}

func TestDashboardAPIAndCSRF(t *testing.T) {
	b := &browser{t: t, addr: startDashboard(t)}

	r := b.do("GET", "/ui/api/ai/accounts", "", nil)
	if r.status != http.StatusUnauthorized || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("no session: %d %s", r.status, r.body)
	}
	dashErrorMessage(t, r)
	b.cookie = &http.Cookie{Name: sessionCookie, Value: "forged-session-id"}
	if r := b.do("GET", "/ui/api/ai/accounts", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("forged session: %d", r.status)
	}
	b.login(testAdminKey)

	body := `{"name":"team"}`
	if r := b.do("POST", "/ui/api/ai/accounts", body, nil); r.status != http.StatusForbidden || !strings.Contains(dashErrorMessage(t, r), "CSRF") {
		t.Errorf("no CSRF token: %d %s", r.status, r.body)
	}
	if r := b.do("POST", "/ui/api/ai/accounts", body, map[string]string{"X-CSRF-Token": "wrong"}); r.status != http.StatusForbidden {
		t.Errorf("wrong CSRF token: %d %s", r.status, r.body)
	}
	if r := b.do("POST", "/ui/api/ai/accounts", body, map[string]string{"X-CSRF-Token": b.csrf, "Origin": "https://evil.example"}); r.status != http.StatusForbidden {
		t.Errorf("cross-origin write: %d %s", r.status, r.body)
	}
	if r := b.do("DELETE", "/ui/api/ai/accounts/default", "", nil); r.status != http.StatusForbidden {
		t.Errorf("DELETE without CSRF token: %d", r.status)
	}
	r = b.do("POST", "/ui/api/ai/accounts", body, map[string]string{"X-CSRF-Token": b.csrf, "Origin": "http://" + b.addr})
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"name":"team"`) || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create account: %d %s", r.status, r.body)
	}

	// the management API's own answers and errors, in the dashboard's shape
	r = b.write("POST", "/ui/api/ai/access-keys", `{"name":"k"}`)
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"token":"`) {
		t.Errorf("create access key: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"GET", "/ui/api/ai/access-keys/ak_nope", "", http.StatusNotFound, "not found"},
		{"POST", "/ui/api/ai/accounts", `{"nope":1}`, http.StatusBadRequest, "nope"},
		{"GET", "/ui/api/ai/no-such-thing", "", http.StatusNotFound, "no such resource"},
		{"PUT", "/ui/api/ai/accounts", `{}`, http.StatusMethodNotAllowed, "not allowed"},
		{"GET", "/ui/api/other", "", http.StatusNotFound, "no such resource"},
	} {
		r := b.write(c.method, c.path, c.body)
		if r.status != c.status || !strings.Contains(dashErrorMessage(t, r), c.msg) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, r.status, r.body, c.status, c.msg)
		}
	}
	if r := b.write("PUT", "/ui/api/ai/accounts", `{}`); !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Errorf("405 Allow %q", r.header.Get("Allow"))
	}
	if r := b.do("GET", "/ui/api/ai/usage/overview?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&groupBy=model", "", nil); r.status != http.StatusOK {
		t.Errorf("usage overview: %d %s", r.status, r.body)
	}
	if strings.Contains(b.answers.String(), testAdminKey) {
		t.Error("the management key is in an answer")
	}
}

func TestDashboardLogout(t *testing.T) {
	b := &browser{t: t, addr: startDashboard(t)}
	b.login(testAdminKey)
	if r := b.do("POST", "/ui/logout", "", nil); r.status != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d", r.status)
	}
	r := b.write("POST", "/ui/logout", "")
	if r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	cleared := false
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		cleared = cleared || (c.Name == sessionCookie && c.Value == "" && c.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("logout did not clear the cookie: %q", r.header.Values("Set-Cookie"))
	}
	// the old cookie is worth nothing now
	if r := b.do("GET", "/ui/api/ai/accounts", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("after logout: %d", r.status)
	}
	if r := b.do("GET", "/ui/session", "", nil); !strings.Contains(r.body, `"authenticated":false`) {
		t.Errorf("session after logout: %s", r.body)
	}
}

func TestDashboardSessionExpiry(t *testing.T) {
	b := &browser{t: t, addr: startDashboard(t)} // idle 10m, absolute 1h
	ok := func(when string) {
		t.Helper()
		if r := b.do("GET", "/ui/api/ai/accounts", "", nil); r.status != http.StatusOK {
			t.Fatalf("%s: %d, want 200", when, r.status)
		}
	}
	gone := func(when string) {
		t.Helper()
		if r := b.do("GET", "/ui/api/ai/accounts", "", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", when, r.status)
		}
	}

	b.login(testAdminKey)
	advance(9 * time.Minute)
	ok("9 min after login")
	advance(9 * time.Minute)
	ok("9 min after the last call") // each call keeps it alive
	advance(10 * time.Minute)
	gone("10 min idle")
	// an expired session stays expired
	advance(-30 * time.Minute)
	gone("after the clock went back")
	advance(30 * time.Minute)

	b.login(testAdminKey)
	for range 6 {
		advance(9 * time.Minute)
		ok("used every 9 min, under an hour")
	}
	advance(6 * time.Minute)
	gone("1 h after login however used")
}

// TestDashboardRevokedKey: a session ends when its management key is
// deleted.
func TestDashboardRevokedKey(t *testing.T) {
	addr := startDashboard(t)
	admin := &browser{t: t, addr: addr}
	admin.login(testAdminKey)
	r := admin.write("POST", "/ui/api/ai/api-keys", `{"name":"temporary"}`)
	var k struct{ ID, Token string }
	if err := json.Unmarshal([]byte(r.body), &k); err != nil || k.Token == "" {
		t.Fatalf("create API key: %d %s", r.status, r.body)
	}
	other := &browser{t: t, addr: addr}
	if r := other.login(k.Token); r.status != http.StatusOK {
		t.Fatalf("login with an API key: %d %s", r.status, r.body)
	}
	if r := other.do("GET", "/ui/api/ai/accounts", "", nil); r.status != http.StatusOK {
		t.Fatalf("call: %d", r.status)
	}
	if r := admin.write("DELETE", "/ui/api/ai/api-keys/"+k.ID, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete API key: %d %s", r.status, r.body)
	}
	if r := other.do("GET", "/ui/api/ai/accounts", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("after its key was deleted: %d, want 401", r.status)
	}
	if strings.Contains(other.answers.String(), k.Token) {
		t.Error("the session's key is in an answer")
	}
}

func TestManagementRequest(t *testing.T) {
	for path, want := range map[string]string{
		"/api/ai/accounts":           "/ai/accounts",
		"/api/ai/accounts/":          "/ai/accounts/",
		"/api/ai/usage/requests/r_1": "/ai/usage/requests/r_1",
		"/api/ai/../ai/accounts":     "",
		"/api/ai//accounts":          "",
		"/api/ai/./accounts":         "",
	} {
		r, ok := managementRequest(httptest.NewRequest("GET", "http://x"+path+"?limit=5", nil))
		switch {
		case want == "" && ok:
			t.Errorf("%s: routed to %s, want refused", path, r.URL.Path)
		case want != "" && (!ok || r.URL.Path != want || r.URL.RawQuery != "limit=5"):
			t.Errorf("%s: %v %v, want %s", path, ok, r, want)
		}
	}
}

var updateGolden = flag.Bool("update", false, "rewrite the expected JSON of the ai_dashboard Caddyfile tests")

// TestDashboardCaddyfile: testdata/caddyfile_adapt/*.caddyfiletest hold a
// Caddyfile, a line of ten dashes, then the adapted JSON (tab-indented)
// or `error: <text>`, as caddyaiGateway's golden files do.
func TestDashboardCaddyfile(t *testing.T) {
	files, _ := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".caddyfiletest"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cf, want, ok := strings.Cut(string(raw), "----------\n")
			if !ok {
				t.Fatal("no separator line")
			}
			want = strings.TrimSpace(want)
			got, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
			if sub, isErr := strings.CutPrefix(want, "error: "); isErr {
				if err == nil || !strings.Contains(err.Error(), sub) {
					t.Fatalf("adapt error %v, want one containing %q", err, sub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, got, "", "\t"); err != nil {
				t.Fatal(err)
			}
			if *updateGolden {
				if err := os.WriteFile(f, []byte(cf+"----------\n"+buf.String()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if buf.String() != want {
				t.Errorf("adapted:\n%s\nwant:\n%s", buf.String(), want)
			}
		})
	}
}
