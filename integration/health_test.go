package integration

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestHealthEndpoints: ai_health answers load balancers without a key —
// readiness 200 once the app runs on a readable store, liveness 200,
// HEAD without a body, other methods 405 — and stays ready across a
// reload, while the gateway's own routes still want a key.
func TestHealthEndpoints(t *testing.T) {
	site := "ai_health /ready\n\tai_health /live live\n\tai_auth\n\tai_credits\n\tai_gateway"
	e := start(t, cfgOpts{site: site})
	do := func(method, path string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, "http://"+e.httpAddr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/ready", 200, `"status":"ready"`},
		{"GET", "/live", 200, `"status":"alive"`},
		{"HEAD", "/ready", 200, ""},
		{"POST", "/ready", 405, "method_not_allowed"},
		{"GET", "/v1/models", 401, "invalid_access_key"}, // the rest still needs a key
	}
	for _, c := range cases {
		st, body, hdr := do(c.method, c.path)
		if st != c.status || !strings.Contains(body, c.body) {
			t.Errorf("%s %s: %d %s, want %d containing %q", c.method, c.path, st, body, c.status, c.body)
		}
		if c.method == "HEAD" && body != "" {
			t.Errorf("HEAD %s has a body: %q", c.path, body)
		}
		if c.status == 405 && hdr.Get("Allow") != "GET, HEAD" {
			t.Errorf("405 without Allow: %v", hdr)
		}
	}
	// a reload replaces the app: the new one is ready at once
	e.load(e.caddyfile(cfgOpts{site: site, extraAI: "min_purchase 1"}))
	if st, body, _ := do("GET", "/ready"); st != 200 {
		t.Fatalf("ready after a reload: %d %s", st, body)
	}
}
