package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
)

const testAdminKey = "admin-test-key-0123456789"

// startCaddy runs Caddy in this process with the `ai` app and returns the
// admin endpoint's address: the management API as clients reach it,
// through Caddy's admin handler.
func startCaddy(t *testing.T) string {
	t.Helper()
	addr := testports.Free(t, testports.Admin)
	cfg, err := json.Marshal(map[string]any{
		"admin":   map[string]any{"listen": addr},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"writer": map[string]any{"output": "discard"}}}},
		"apps": map[string]any{"ai": map[string]any{
			"storage":   filepath.Join(t.TempDir(), "gw.db"),
			"admin_key": testAdminKey,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return addr
}

type response struct {
	status int
	header http.Header
	body   string
}

// send sends a management call; auth is the Authorization header ("" for none).
func send(t *testing.T, addr, auth, method, path, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	// a redirect would hide what the API answered
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// apiErrorMessage is the message of a management API error body
// ({"error": "..."}); it fails the test on any other shape.
func apiErrorMessage(t *testing.T, r response) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || len(v) != 1 {
		t.Fatalf("not a management API error: %q", r.body)
	}
	msg, _ := v["error"].(string)
	if msg == "" {
		t.Fatalf("not a management API error: %q", r.body)
	}
	return msg
}

func TestRouting(t *testing.T) {
	addr := startCaddy(t)
	const bearer = "Bearer " + testAdminKey

	t.Run("authentication comes before routing", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer wrong-key-0123456789", "Basic " + testAdminKey} {
			for _, c := range []struct{ method, path string }{
				{"GET", "/ai/accounts"},
				{"GET", "/ai/accounts/default"},
				{"GET", "/ai/"},
				{"GET", "/ai/nope"},
				{"DELETE", "/ai/nope/x/y"},
				{"PUT", "/ai/accounts"},
				{"DELETE", "/ai/models"},
				{"GET", "/ai/openapi.json"},
			} {
				r := send(t, addr, auth, c.method, c.path, "")
				if r.status != http.StatusUnauthorized {
					t.Errorf("%q %s %s: status %d, want 401: %s", auth, c.method, c.path, r.status, r.body)
					continue
				}
				apiErrorMessage(t, r)
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%q %s %s: 401 without WWW-Authenticate", auth, c.method, c.path)
				}
				if a := r.header.Get("Allow"); a != "" {
					t.Errorf("%q %s %s: 401 reveals Allow: %s", auth, c.method, c.path, a)
				}
			}
		}
	})

	t.Run("unknown paths are 404", func(t *testing.T) {
		for _, p := range []string{"/ai/", "/ai/nope", "/ai/nope/", "/ai/credits/balance/x", "/ai/access-keys/x/rotate/y", "/ai/accounts/x/y"} {
			r := send(t, addr, bearer, "GET", p, "")
			if r.status != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404: %s", p, r.status, r.body)
				continue
			}
			if msg, want := apiErrorMessage(t, r), "no such resource: "+p; msg != want {
				t.Errorf("GET %s: error %q, want %q", p, msg, want)
			}
		}
	})

	t.Run("wrong methods are 405 with Allow", func(t *testing.T) {
		for _, c := range []struct{ method, path, allow string }{
			{"PUT", "/ai/accounts", "GET, HEAD, POST"},
			{"DELETE", "/ai/access-keys", "GET, HEAD, POST"},
			{"POST", "/ai/accounts/default", "DELETE, GET, HEAD, PATCH"},
			{"POST", "/ai/accounts/default/", "DELETE, GET, HEAD, PATCH"},
			{"GET", "/ai/access-keys/ak_x/rotate", "POST"},
			{"PATCH", "/ai/credits/balance", "GET, HEAD"},
			{"GET", "/ai/credits/purchases", "POST"},
			{"DELETE", "/ai/gateway-config", "GET, HEAD, PATCH"},
			{"POST", "/ai/usage", "GET, HEAD"},
			{"DELETE", "/ai/usage/requests/req_x", "GET, HEAD"},
			{"DELETE", "/ai/models", "GET, HEAD"},
		} {
			r := send(t, addr, bearer, c.method, c.path, "")
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405: %s", c.method, c.path, r.status, r.body)
				continue
			}
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
			if msg, want := apiErrorMessage(t, r), fmt.Sprintf("method %s not allowed on %s", c.method, c.path); msg != want {
				t.Errorf("%s %s: error %q, want %q", c.method, c.path, msg, want)
			}
		}
	})

	t.Run("one trailing slash is ignored", func(t *testing.T) {
		for _, p := range []string{"/ai/accounts", "/ai/accounts/default", "/ai/gateway-config", "/ai/openapi.json"} {
			plain, slashed := send(t, addr, bearer, "GET", p, ""), send(t, addr, bearer, "GET", p+"/", "")
			if plain.status != http.StatusOK || slashed.status != http.StatusOK || plain.body != slashed.body {
				t.Errorf("GET %s: %d, with a trailing slash: %d\n%s\n%s", p, plain.status, slashed.status, plain.body, slashed.body)
			}
		}
		// an escaped slash is part of the id, not a separator
		if r := send(t, addr, bearer, "GET", "/ai/accounts/default%2F", ""); r.status != http.StatusNotFound {
			t.Errorf("GET /ai/accounts/default%%2F: status %d, want 404: %s", r.status, r.body)
		}
	})

	t.Run("path values", func(t *testing.T) {
		r := send(t, addr, bearer, "GET", "/ai/accounts/default", "")
		var acct struct{ ID, URI string }
		if err := json.Unmarshal([]byte(r.body), &acct); err != nil || r.status != http.StatusOK || acct.ID != "default" || acct.URI != "/ai/accounts/default" {
			t.Errorf("GET /ai/accounts/default: %d %s", r.status, r.body)
		}
		r = send(t, addr, bearer, "GET", "/ai/usage/requests/req_nothing", "")
		if r.status != http.StatusNotFound || apiErrorMessage(t, r) != "not found" {
			t.Errorf("GET /ai/usage/requests/req_nothing: %d %s", r.status, r.body)
		}
	})

	t.Run("HEAD answers as GET without a body", func(t *testing.T) {
		r := send(t, addr, bearer, "HEAD", "/ai/accounts", "")
		if r.status != http.StatusOK || r.body != "" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("HEAD /ai/accounts: %d %q %v", r.status, r.body, r.header)
		}
	})
}

// TestJSONNotHTMLEscaped: names come back as written, not as \u003cb\u003e.
func TestJSONNotHTMLEscaped(t *testing.T) {
	addr := startCaddy(t)
	const bearer = "Bearer " + testAdminKey
	const name = `<b>& "x"`
	body, _ := json.Marshal(map[string]string{"name": name})
	created := send(t, addr, bearer, "POST", "/ai/access-keys", string(body))
	if created.status != http.StatusCreated {
		t.Fatalf("creating: %d %s", created.status, created.body)
	}
	var v struct{ ID, Name string }
	if err := json.Unmarshal([]byte(created.body), &v); err != nil || v.Name != name {
		t.Fatalf("created %s (%v)", created.body, err)
	}
	const verbatim = `"name":"<b>& \"x\""`
	for _, r := range []response{created, send(t, addr, bearer, "GET", "/ai/access-keys/"+v.ID, ""), send(t, addr, bearer, "GET", "/ai/access-keys", "")} {
		if !strings.Contains(r.body, verbatim) || strings.Contains(r.body, `\u00`) {
			t.Errorf("want %s verbatim in %s", verbatim, r.body)
		}
	}
}
