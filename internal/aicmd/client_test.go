package aicmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
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

// commandPorts is this package's range of test ports (internal/testports:
// a range per package that starts servers).
const commandPorts = testports.Commands

// gateway is a caddy process with the gateway, for the commands to call.
type gateway struct {
	bin, dir            string
	adminAddr, httpAddr string
}

// startGateway runs the caddy built with the plugin: the management API
// on adminAddr, the data plane on httpAddr, answered by the demo upstream.
func startGateway(t *testing.T) *gateway {
	t.Helper()
	g := &gateway{bin: testkit.CaddyBinary(t), dir: t.TempDir(),
		adminAddr: testports.Free(t, commandPorts), httpAddr: testports.Free(t, commandPorts)}
	cfg := filepath.Join(g.dir, "Caddyfile")
	caddyfile := fmt.Sprintf(`{
	admin %s
	auto_https off
	log default {
		level ERROR
	}
	ai {
		storage %s
		admin_key %s
		demo_upstream
	}
}

http://%s {
	ai_auth
	ai_credits
	ai_gateway
}
`, g.adminAddr, filepath.Join(g.dir, "gateway.db"), testAdminKey, g.httpAddr)
	if err := os.WriteFile(cfg, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(g.bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+g.dir, "XDG_CONFIG_HOME="+g.dir, "HOME="+g.dir)
	logf, err := os.Create(filepath.Join(g.dir, "caddy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _, _ = cmd.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+g.adminAddr+"/ai/accounts", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(g.dir, "caddy.log"))
			t.Fatalf("caddy did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// chat sends one chat request with the access key token; it returns the
// status.
func (g *gateway) chat(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+g.httpAddr+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// ran is one run of `caddy ai …`.
type ran struct {
	args           []string
	stdout, stderr string
	code           int
}

// TestCommandsAgainstAGateway runs `caddy ai keys|credits|usage` of the
// built caddy against a running gateway, as an operator would.
func TestCommandsAgainstAGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs caddy; skipped in -short mode")
	}
	g := startGateway(t)
	var all []ran
	// run runs caddy ai args with env (KEY=value) added, and checks the
	// exit status is 0 or not as wantOK says.
	run := func(wantOK bool, env []string, args ...string) ran {
		t.Helper()
		cmd := exec.Command(g.bin, append([]string{"ai"}, args...)...)
		cmd.Env = append(os.Environ(), "CADDY_ADMIN=", envAdminKey+"=")
		cmd.Env = append(cmd.Env, env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		r := ran{args: args, stdout: stdout.String(), stderr: stderr.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
		if wantOK != (r.code == 0) {
			t.Fatalf("caddy ai %s: exit status %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	keyEnv := []string{envAdminKey + "=" + testAdminKey}
	ok := func(args ...string) ran {
		t.Helper()
		return run(true, keyEnv, append(args, "--address", g.adminAddr)...)
	}
	says := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("the output does not say %q:\n%s", w, out)
			}
		}
	}
	jsonOf := func(r ran, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			t.Fatalf("caddy ai %s: the output is not JSON: %v\n%s", strings.Join(r.args, " "), err, r.stdout)
		}
	}

	// keys: create (the token alone on stdout), list, create with --json
	created := ok("keys", "create", "--name", "e2e laptop", "--expires", "30d")
	token := strings.TrimSpace(created.stdout)
	if !strings.HasPrefix(token, "cag_") || strings.ContainsAny(token, " \n") {
		t.Fatalf("keys create: stdout %q, want the token alone", created.stdout)
	}
	says(created.stderr, `"e2e laptop"`, "shown only now and cannot be shown again")
	var second accessKeyView
	jsonOf(ok("keys", "create", "--name", "second", "--json"), &second)
	if second.ID == "" || !strings.HasPrefix(second.Token, "cag_") {
		t.Fatalf("keys create --json: %+v", second)
	}
	list := ok("keys", "list")
	says(list.stdout, "e2e laptop", "second", second.ID, "active", "EXPIRES (UTC)")
	if strings.Contains(list.stdout, token) || strings.Contains(list.stdout, second.Token) {
		t.Error("keys list shows a token")
	}
	var page struct {
		AccessKeys  []accessKeyView `json:"accessKeys"`
		NextPageURI *string         `json:"nextPageUri"`
	}
	jsonOf(ok("keys", "list", "--json", "--limit", "1"), &page)
	if len(page.AccessKeys) != 1 || page.AccessKeys[0].ID != second.ID || page.NextPageURI == nil {
		t.Errorf("keys list --json --limit 1: %+v, want the newest key and a next page", page)
	}
	jsonOf(ok("keys", "list", "--json", "--all"), &page)
	if len(page.AccessKeys) != 2 || page.NextPageURI != nil {
		t.Fatalf("keys list --json --all: %+v", page)
	}
	laptop := page.AccessKeys[1]

	// credits: buy, balance, transactions
	says(ok("credits", "buy", "25").stdout, "Bought 25.00 USD of credits for account default", "Balance: 25.00 USD.")
	if bal := ok("credits", "balance").stdout; !regexp.MustCompile(`default +25\.00 +0\.00 +25\.00 +25\.00 USD on `).MatchString(bal) {
		t.Errorf("credits balance:\n%s", bal)
	}
	says(ok("credits", "transactions").stdout, "purchase", "25.00", "lot lot_")

	// a request through the gateway, then its usage
	if st := g.chat(t, token); st != http.StatusOK {
		t.Fatalf("a chat request with the new key: %d", st)
	}
	var overview struct {
		Buckets []usageBucketView `json:"buckets"`
		Totals  usageTotalsView   `json:"totals"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for { // usage is stored once the request settles
		jsonOf(ok("usage", "--by", "model", "--json"), &overview)
		if overview.Totals.Requests == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if overview.Totals.Requests != 1 || len(overview.Buckets) != 1 || overview.Buckets[0].Model != "gpt-4o-mini" || overview.Totals.Spent <= 0 {
		t.Fatalf("usage --json: %+v", overview)
	}
	usage := ok("usage", "--by", "model").stdout
	if !regexp.MustCompile(`openai +gpt-4o-mini +1 +0 +\S+ +\S+ +` + regexp.QuoteMeta(overview.Totals.Cost.String())).MatchString(usage) {
		t.Errorf("usage --by model shows no row for the request:\n%s", usage)
	}
	says(usage, "TOTAL", "SPENT (USD)")
	says(ok("usage", "--by", "key").stdout, laptop.ID, "e2e laptop")
	says(ok("credits", "transactions").stdout, "usage", "openai:gpt-4o-mini")
	var txs struct {
		Transactions []transactionView `json:"transactions"`
	}
	jsonOf(ok("credits", "transactions", "--json"), &txs)
	if len(txs.Transactions) != 2 || txs.Transactions[0].Type != "usage" || txs.Transactions[1].Type != "purchase" {
		t.Errorf("credits transactions --json: %+v", txs.Transactions)
	}
	var bal balanceView
	jsonOf(ok("credits", "balance", "--json"), &bal)
	if bal.Balance != 25_000_000_000+txs.Transactions[0].Amount {
		t.Errorf("balance %s after a purchase of 25.00 and a request of %s", bal.Balance, txs.Transactions[0].Amount)
	}

	// revoke: the key is refused from the next request
	says(ok("keys", "revoke", laptop.ID).stdout, "Revoked access key "+laptop.ID)
	if st := g.chat(t, token); st != http.StatusUnauthorized {
		t.Errorf("a request with the revoked key: %d, want 401", st)
	}
	says(ok("keys", "list").stdout, "disabled")
	says(ok("keys", "revoke", "--delete", second.ID).stdout, "Deleted access key "+second.ID)
	if st := g.chat(t, second.Token); st != http.StatusUnauthorized {
		t.Errorf("a request with the deleted key: %d, want 401", st)
	}
	if strings.Contains(ok("keys", "list").stdout, second.ID) {
		t.Error("the deleted key is still listed")
	}

	// the address: as a URL, from $CADDY_ADMIN
	run(true, keyEnv, "credits", "balance", "--address", "http://"+g.adminAddr+"/")
	run(true, append(keyEnv, "CADDY_ADMIN="+g.adminAddr), "credits", "balance")

	// errors: one line on stderr, exit status 1
	fail := func(env []string, args ...string) string {
		t.Helper()
		r := run(false, env, args...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "Error: ") {
			t.Errorf("caddy ai %s: exit status %d, stderr %q; want 1 and one line", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stderr
	}
	says(fail(nil, "keys", "list", "--address", g.adminAddr, "--key", "not-the-management-key"),
		"HTTP 401", "a valid management API key is required")
	says(fail(nil, "keys", "list", "--address", g.adminAddr), "a management API key is required: set $AI_GATEWAY_ADMIN_KEY or give --key")
	down := testports.Free(t, commandPorts)
	says(fail(keyEnv, "credits", "balance", "--address", down), "cannot reach the admin endpoint at "+down+": is caddy running?")
	says(fail(keyEnv, "credits", "buy", "ten", "--address", g.adminAddr), "HTTP 400", "amount")
	says(fail(keyEnv, "keys", "revoke", "ak_nope", "--address", g.adminAddr), "HTTP 404")
	says(fail(keyEnv, "usage", "--since", "soon", "--address", g.adminAddr), "--since")

	for _, r := range all {
		if strings.Contains(r.stdout+r.stderr, testAdminKey) {
			t.Errorf("caddy ai %s printed the management key", strings.Join(r.args, " "))
		}
	}
}

func TestSlowAnswer(t *testing.T) {
	old := requestTimeout
	requestTimeout = 100 * time.Millisecond
	t.Cleanup(func() { requestTimeout = old })
	release := make(chan struct{})
	s, _, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	_, err := s.api.do(context.Background(), "GET", "/ai/credits/balance", nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Errorf("a slow answer: %v", err)
	}
}
