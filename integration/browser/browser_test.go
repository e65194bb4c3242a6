// Package browser tests the ai_dashboard in a real browser: a Caddy
// process built from ./cmd/caddy serves the dashboard over HTTPS (`tls
// internal`) beside the gateway, and dashboard.mjs drives headless
// Chromium (Debian's chromium, through playwright-core) through it while
// this test sends real traffic with the access key the browser created.
//
// Needs /usr/bin/chromium (apt-get install chromium) and `npm ci` in this
// directory; without them the test skips, unless
// AI_GATEWAY_REQUIRE_BROWSER=1 (CI), where it fails. Screenshots of every
// page go to $AI_GATEWAY_ARTIFACTS, default integration/browser/artifacts/.
package browser

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
)

const (
	adminKey  = "browser-admin-key-0123456789"
	secretKey = "62726f777365722d7365637265742d6b65792d30313233343536373839303132"
	// ports is this package's range of loopback ports (testports keeps
	// one per package that starts servers).
	ports = testports.Browser
)

func TestDashboardInBrowser(t *testing.T) {
	chromium := "/usr/bin/chromium"
	if c := os.Getenv("CHROMIUM"); c != "" {
		chromium = c
	}
	missing := func(what string) {
		if os.Getenv("AI_GATEWAY_REQUIRE_BROWSER") == "1" {
			t.Fatalf("AI_GATEWAY_REQUIRE_BROWSER=1 but %s", what)
		}
		t.Skipf("skipping the browser test: %s (set AI_GATEWAY_REQUIRE_BROWSER=1 to make it fail instead)", what)
	}
	if _, err := os.Stat(chromium); err != nil {
		missing(chromium + " is missing: apt-get install chromium")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		missing("playwright-core is not installed: (cd integration/browser && npm ci)")
	}
	testkit.CaddyBinary(t) // built once, before the clock starts
	start := time.Now()

	// flaky always fails (503), so a request for the virtual model the
	// browser creates moves on to openai:gpt-4o-mini, which the demo
	// upstream answers: two attempts, one "why it moved on".
	flaky := httptest.NewServer(fakeprovider.New(fakeprovider.Options{FailStatus: http.StatusServiceUnavailable}))
	t.Cleanup(flaky.Close)

	gw := startGateway(t, flaky.URL)
	artifacts := os.Getenv("AI_GATEWAY_ARTIFACTS")
	if artifacts == "" {
		artifacts = "artifacts"
	}
	artifacts, err = filepath.Abs(artifacts)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(node, "dashboard.mjs")
	cmd.Env = append(os.Environ(), "DASHBOARD_URL="+gw.url+"/ui/", "DASHBOARD_KEY="+adminKey,
		"ARTIFACTS_DIR="+artifacts, "CHROMIUM="+chromium)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var shots []string
	var sent bool
	scan := bufio.NewScanner(stdout)
	for scan.Scan() {
		line := scan.Text()
		t.Log("dashboard.mjs: " + line)
		switch {
		case strings.HasPrefix(line, "TOKEN "):
			f := strings.Fields(line) // TOKEN <token> MODEL <model>
			if len(f) != 4 {
				t.Errorf("bad line from dashboard.mjs: %q", line)
				break
			}
			id := gw.chat(t, f[1], f[3])
			sent = id != ""
			fmt.Fprintf(stdin, "SENT %s\n", id)
		case strings.HasPrefix(line, "SHOTS "):
			_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "SHOTS ")), &shots)
		}
	}
	stdin.Close()
	err = cmd.Wait()
	if stderr.Len() > 0 {
		t.Log("dashboard.mjs stderr:\n" + stderr.String())
	}
	if err != nil {
		t.Fatalf("dashboard.mjs failed: %v (screenshots so far in %s; Caddy's log: %s)", err, artifacts, gw.log)
	}
	if !sent {
		t.Fatal("dashboard.mjs never asked for traffic")
	}
	t.Logf("screenshots: %s", strings.Join(shots, " "))

	// the key never reaches the log (logins are logged)
	logText, err := os.ReadFile(gw.log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(logText), adminKey) {
		t.Error("the management key is in Caddy's log")
	}
	t.Logf("browser test took %s (Caddy start, the browser's run, the traffic)", time.Since(start).Round(100*time.Millisecond))
}

// gateway is a running Caddy with the gateway and the dashboard.
type gateway struct {
	url, log string
	client   *http.Client
}

func startGateway(t *testing.T, flakyURL string) *gateway {
	bin := testkit.CaddyBinary(t)
	dir := t.TempDir()
	adminAddr, siteAddr := testports.Free(t, ports), testports.Free(t, ports)
	caddyfile := fmt.Sprintf(`{
	admin %s
	skip_install_trust
	auto_https disable_redirects
	servers {
		protocols h1 h2
	}
	ai {
		storage %s
		secret_key %s
		admin_key %s
		demo_upstream
		provider flaky {
			format openai
			base_url %s/v1
			api_key flaky-key-0123456789
			model model-a {
				input_price 1
				output_price 2
			}
		}
	}
}

https://%s {
	tls internal
	handle_path /ui/* {
		ai_dashboard
	}
	handle {
		ai_auth
		ai_credits
		ai_gateway
	}
}
`, adminAddr, filepath.Join(dir, "gw.db"), secretKey, adminKey, flakyURL, siteAddr)
	cfg := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := &gateway{url: "https://" + siteAddr, log: filepath.Join(dir, "caddy.log"),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // tls internal: the test's own CA
		}}}
	logf, err := os.Create(gw.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir, "HOME="+dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			logf.Close()
		})
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := gw.client.Get(gw.url + "/ui/session")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return gw
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			b, _ := os.ReadFile(gw.log)
			t.Fatalf("caddy did not start:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chat sends one chat completion with token through ai_auth, ai_credits
// and ai_gateway, and returns its request id.
func (gw *gateway) chat(t *testing.T, token, model string) string {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"max_tokens":16,"messages":[{"role":"user","content":"hello from the browser test"}]}`, model)
	req, err := http.NewRequest("POST", gw.url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := gw.client.Do(req)
	if err != nil {
		t.Errorf("chat: %v", err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("chat: %d %s", resp.StatusCode, b)
		return ""
	}
	id := resp.Header.Get("AI-Gateway-Request-Id")
	if id == "" {
		t.Error("chat: no AI-Gateway-Request-Id header")
	}
	return id
}
