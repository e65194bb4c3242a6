// Package integration runs the gateway in a real Caddy, in this process,
// loaded from Caddyfiles through Caddy's admin endpoint (the path `caddy
// reload` takes), against the fake provider on loopback. Caddy is global
// per process, so every test here runs sequentially.
package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-ai-gateway/caddy-ai-gateway"
	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
)

const adminKey = "test-admin-key-0123456789"

func TestMain(m *testing.M) {
	// Caddy's data dir (generated secret key) goes to a temp dir.
	dir, err := os.MkdirTemp("", "ai-gateway-it-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir)
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	_ = caddy.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one running gateway.
type env struct {
	t         *testing.T
	adminAddr string
	httpAddr  string
	dbPath    string
	fake      *fakeprovider.Server
	fakeURL   string
	token     string // an access key created for the test
}

func freePort(t *testing.T) string {
	t.Helper()
	return testports.Free(t, testports.Integration)
}

// caddyfile renders the standard test config; extraAI goes inside the ai
// block, site inside the site block (default: ai_auth + ai_gateway).
type cfgOpts struct {
	extraAI string
	site    string
}

func (e *env) caddyfile(o cfgOpts) string {
	site := o.site
	if site == "" {
		site = "ai_auth\n\tai_gateway"
	}
	logs := "log default {\n\t\toutput discard\n\t}"
	if os.Getenv("AI_GATEWAY_TEST_LOGS") != "" {
		logs = "log default {\n\t\tlevel DEBUG\n\t}"
	}
	return fmt.Sprintf(`{
	admin %s
	auto_https off
	%s
	ai {
		storage %s
		admin_key %s
		per_request_timeout 5s
		total_timeout 10s
		provider openai {
			api_key sk-managed-openai-0123456789abcdef
			base_url %s/v1
		}
		provider anthropic {
			api_key sk-ant-managed-0123456789abcdef
			base_url %s
		}
		%s
	}
}

http://%s {
	%s
}
`, e.adminAddr, logs, e.dbPath, adminKey, e.fakeURL, e.fakeURL, o.extraAI, e.httpAddr, site)
}

// start brings up a fake provider and a Caddy with the gateway, and
// creates an access key.
func start(t *testing.T, o cfgOpts) *env {
	t.Helper()
	fake := fakeprovider.New(fakeprovider.Options{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	e := &env{t: t, adminAddr: freePort(t), httpAddr: freePort(t), dbPath: filepath.Join(t.TempDir(), "gw.db"), fake: fake, fakeURL: srv.URL}
	e.load(e.caddyfile(o))
	t.Cleanup(func() { _ = caddy.Stop() })
	e.token = e.createKey(`{"name":"test"}`)
	fake.Reset()
	return e
}

// load adapts a Caddyfile and loads it: the first time directly, later
// through the admin endpoint's /load, exactly like `caddy reload`.
func (e *env) load(cf string) {
	e.t.Helper()
	if resp, err := http.Get("http://" + e.adminAddr + "/config/"); err == nil {
		resp.Body.Close()
		req, _ := http.NewRequest(http.MethodPost, "http://"+e.adminAddr+"/load", strings.NewReader(cf))
		req.Header.Set("Content-Type", "text/caddyfile")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatalf("reload: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			e.t.Fatalf("reload: %d %s", resp.StatusCode, b)
		}
		// The old server closes its idle keep-alive connections; a request
		// racing that close would see a reset (as any client of a Caddy
		// reload may), so start the next requests on fresh connections.
		http.DefaultClient.CloseIdleConnections()
		return
	}
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		e.t.Fatalf("adapting Caddyfile: %v\n%s", err, cf)
	}
	_ = warn
	if err := caddy.Load(cfg, true); err != nil {
		e.t.Fatalf("loading config: %v", err)
	}
	waitListening(e.t, e.httpAddr)
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not listening", addr)
}

// admin calls the management API.
func (e *env) admin(method, path, body string) (int, []byte) {
	e.t.Helper()
	return e.adminWith("Bearer "+adminKey, method, path, body)
}

// adminWith calls the management API with the given Authorization header.
func (e *env) adminWith(auth, method, path, body string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, "http://"+e.adminAddr+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
		// Caddy replaces its admin server after a /load answered: a
		// connection the old one accepted as it closed is retried once.
		req, _ = http.NewRequest(method, "http://"+e.adminAddr+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
	}
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) createKey(body string) string {
	e.t.Helper()
	st, b := e.admin("POST", "/ai/access-keys", body)
	if st != http.StatusCreated {
		e.t.Fatalf("create access key: %d %s", st, b)
	}
	var v struct{ Token string }
	_ = json.Unmarshal(b, &v)
	return v.Token
}

// post sends a data-plane request with the given headers.
func (e *env) post(path, body string, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+e.httpAddr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
		// A connection accepted by a server a reload was closing: retried
		// once, as the official SDKs do.
		req, _ = http.NewRequest(http.MethodPost, "http://"+e.httpAddr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err = http.DefaultClient.Do(req)
	}
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	return resp
}

func (e *env) bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.token}
}

func (e *env) anthropicHdr() map[string]string {
	return map[string]string{"x-api-key": e.token, "anthropic-version": "2023-06-01"}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return b
}

// usageFor waits for the request's usage events to be committed (the
// writer group-commits every few milliseconds) and returns them.
func (e *env) usageFor(requestID string, want int) []*store.UsageEvent {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		evs, err := caddyaigateway.Current().Manage().UsageEvents(context.Background(), store.UsageQuery{From: time.Now().Add(-time.Hour), RequestID: requestID})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(evs) >= want || time.Now().After(deadline) {
			if len(evs) != want {
				e.t.Fatalf("request %s: %d usage events, want %d", requestID, len(evs), want)
			}
			return evs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

func fakeOptsRequireKey(key string) fakeprovider.Options {
	return fakeprovider.Options{RequireKey: key}
}

func fakeOptsFailModel(model string) fakeprovider.Options {
	return fakeprovider.Options{FailModels: map[string]int{model: 503}}
}

type nanoMoney = money.Nano

func caddyJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
