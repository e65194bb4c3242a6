package aicmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const testAdminKey = "test-admin-key-0123456789abcdef"

// fakeAPI serves h as the admin endpoint; the session prints into out
// (results) and info (notes).
func fakeAPI(t *testing.T, h http.HandlerFunc) (s *session, out, info *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	api, err := newClient(srv.URL, testAdminKey)
	if err != nil {
		t.Fatal(err)
	}
	out, info = new(bytes.Buffer), new(bytes.Buffer)
	return &session{api: api, out: out, info: info}, out, info
}

// writeJSON answers v as the API does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in                    string
		network, dial, origin string
		err                   string
	}{
		{in: "localhost:2019", network: "tcp", dial: "localhost:2019", origin: "http://localhost:2019"},
		{in: "127.0.0.1:2999", network: "tcp", dial: "127.0.0.1:2999", origin: "http://127.0.0.1:2999"},
		{in: "http://127.0.0.1:2019", network: "tcp", dial: "127.0.0.1:2019", origin: "http://127.0.0.1:2019"},
		{in: "HTTP://[::1]:2019/", network: "tcp", dial: "[::1]:2019", origin: "http://[::1]:2019"},
		{in: "tcp/localhost:2019", network: "tcp", dial: "localhost:2019", origin: "http://localhost:2019"},
		{in: "unix//run/caddy/admin.sock", network: "unix", dial: "/run/caddy/admin.sock", origin: "http://127.0.0.1"},
		{in: "unix//run/caddy/admin.sock|0220", network: "unix", dial: "/run/caddy/admin.sock", origin: "http://127.0.0.1"},
		{in: "https://localhost:2019", err: "plain HTTP"},
		{in: "http://localhost:2019/ai/access-keys", err: "not a path"},
		{in: "localhost:2019-2021", err: "expected host:port"},
		{in: "fd/3", err: "file descriptor"},
		{in: "localhost:port", err: "expected host:port"},
	}
	for _, tt := range tests {
		c := &client{}
		err := c.parseAddress(tt.in)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want one saying %q", tt.in, err, tt.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case c.network != tt.network || c.dial != tt.dial || c.origin != tt.origin:
			t.Errorf("%q: network %q dial %q origin %q; want %q %q %q", tt.in, c.network, c.dial, c.origin, tt.network, tt.dial, tt.origin)
		}
	}
}

func TestNewClientNeedsAKey(t *testing.T) {
	_, err := newClient("localhost:2019", "")
	if err == nil || !strings.Contains(err.Error(), "$AI_GATEWAY_ADMIN_KEY") || !strings.Contains(err.Error(), "--key") {
		t.Errorf("no key: %v; want it to name $AI_GATEWAY_ADMIN_KEY and --key", err)
	}
	const bad = "secret-with\nnewline"
	_, err = newClient("localhost:2019", bad)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a key with a newline: %v; want an error that does not show the key", err)
	}
}

func TestAPIErrorsAreOneLine(t *testing.T) {
	s, _, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ai/unauthorized":
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid management API key is required: Authorization: Bearer <key>"})
		case "/ai/html":
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\n<body>bad\ngateway</body>\n</html>\n")
		case "/ai/notjson":
			fmt.Fprint(w, "hello")
		}
	})
	ctx := context.Background()
	_, err := s.api.do(ctx, "GET", "/ai/unauthorized", nil, nil, nil)
	want := "GET /ai/unauthorized: HTTP 401 Unauthorized: a valid management API key is required: Authorization: Bearer <key> (check --key or $AI_GATEWAY_ADMIN_KEY)"
	if err == nil || err.Error() != want {
		t.Errorf("401: %v\nwant %s", err, want)
	}
	_, err = s.api.do(ctx, "GET", "/ai/html", nil, nil, nil)
	if err == nil || err.Error() != "GET /ai/html: HTTP 502 Bad Gateway: <html> <body>bad gateway</body> </html>" {
		t.Errorf("502: %v", err)
	}
	var v map[string]any
	_, err = s.api.do(ctx, "GET", "/ai/notjson", nil, nil, &v)
	if err == nil || !strings.Contains(err.Error(), "is "+s.api.address+" the admin endpoint of caddy-ai-gateway?") {
		t.Errorf("not JSON: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := newClient(addr, testAdminKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.do(context.Background(), "GET", "/ai/access-keys", nil, nil, nil)
	want := "cannot reach the admin endpoint at " + addr + ": is caddy running? (connect: connection refused)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestUnixSocket calls an admin endpoint on a unix socket, as Caddy's
// `admin unix//path` serves it: the Host is a loopback address.
func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "127.0.0.1" || r.Header.Get("Authorization") != "Bearer "+testAdminKey || r.Header.Get("Origin") != "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "host " + r.Host})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"accountId": "default", "balance": "1.50", "held": "0.25", "available": "1.25", "nextExpiry": nil})
	}))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := newClient("unix/"+sock, testAdminKey)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := creditsBalance(context.Background(), &session{api: c, out: &out, info: &out}, "default"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "default           1.50        0.25             1.25  -") {
		t.Errorf("balance over a unix socket:\n%s", out.String())
	}
}

// TestListFollowsPages reads a collection of 250 items in pages of at
// most 100, as /ai/access-keys serves it.
func TestListFollowsPages(t *testing.T) {
	const total = 250
	id := func(i int) string { return fmt.Sprintf("ak_%04d", i) } // newest first: ak_0249 …
	s, _, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit < 1 || limit > 100 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: must be a number from 1 to 100"})
			return
		}
		start := total - 1
		if b := r.URL.Query().Get("beforeId"); b != "" {
			n, _ := strconv.Atoi(strings.TrimPrefix(b, "ak_"))
			start = n - 1
		}
		var items []map[string]string
		for i := start; i >= 0 && len(items) < limit; i-- {
			items = append(items, map[string]string{"id": id(i)})
		}
		var next *string
		if last := start - len(items) + 1; last > 0 {
			u := fmt.Sprintf("/ai/access-keys?limit=%d&beforeId=%s", limit, id(last))
			next = &u
		}
		writeJSON(w, http.StatusOK, map[string]any{"accessKeys": items, "uri": "/ai/access-keys", "nextPageUri": next})
	})
	ctx := context.Background()
	items, next, err := s.api.list(ctx, "/ai/access-keys", "accessKeys", 0)
	if err != nil || len(items) != total || next != nil {
		t.Fatalf("every item: %d items, next %v, %v", len(items), next, err)
	}
	keys, _ := decodeItems[accessKeyView](items)
	for i, k := range keys {
		if k.ID != id(total-1-i) {
			t.Fatalf("item %d is %s, want %s", i, k.ID, id(total-1-i))
		}
	}
	items, next, err = s.api.list(ctx, "/ai/access-keys", "accessKeys", 120)
	if err != nil || len(items) != 120 || next == nil || *next != "/ai/access-keys?limit=100&beforeId=ak_0130" {
		t.Fatalf("120 items: %d items, next %v, %v", len(items), next, err)
	}
	items, next, err = s.api.list(ctx, "/ai/access-keys", "accessKeys", 250)
	if err != nil || len(items) != 250 || next != nil {
		t.Fatalf("exactly all: %d items, next %v, %v", len(items), next, err)
	}

	b, err := listJSON("accessKeys", "/ai/access-keys", items[:1], next)
	if err != nil || string(b) != `{"accessKeys":[{"id":"ak_0249"}],"nextPageUri":null,"uri":"/ai/access-keys"}`+"\n" {
		t.Errorf("listJSON: %s %v", b, err)
	}
}
