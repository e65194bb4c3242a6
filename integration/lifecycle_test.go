package integration

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
)

// The tests in this file run a built Caddy (go build ./cmd/caddy) as
// separate processes: `caddy validate` must be checked beside a running
// `caddy run`, as an operator would use them.

var caddyBin struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildCaddy builds cmd/caddy once per test process, into the temporary
// directory TestMain removes.
func buildCaddy(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Caddy binary; skipped in -short mode")
	}
	caddyBin.once.Do(func() {
		dir := filepath.Join(os.Getenv("XDG_DATA_HOME"), "bin")
		caddyBin.path = filepath.Join(dir, "caddy")
		cmd := exec.Command("go", "build", "-o", caddyBin.path, "../cmd/caddy")
		caddyBin.out, caddyBin.err = cmd.CombinedOutput()
	})
	if caddyBin.err != nil {
		t.Fatalf("building caddy: %v\n%s", caddyBin.err, caddyBin.out)
	}
	return caddyBin.path
}

// proc is one Caddy process environment: its own data, config and home
// directories, and no AI_GATEWAY_* or provider keys from the test's
// environment.
type proc struct {
	t    *testing.T
	bin  string
	dir  string // data, config and home live under it
	vars []string
}

func newProc(t *testing.T, dir string, vars ...string) *proc {
	bin := buildCaddy(t)
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "HOME=" + filepath.Join(dir, "home")}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "XDG_DATA_HOME", k == "XDG_CONFIG_HOME", k == "HOME", strings.HasPrefix(k, "AI_GATEWAY_"),
			k == "OPENAI_API_KEY", k == "ANTHROPIC_API_KEY":
			continue
		}
		env = append(env, kv)
	}
	return &proc{t: t, bin: bin, dir: dir, vars: append(env, vars...)}
}

func (p *proc) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.vars
	return cmd
}

// run starts `caddy run` and waits for httpAddr; the process is stopped
// (SIGINT, as Ctrl-C) at the end of the test.
func (p *proc) run(config, httpAddr string) {
	p.t.Helper()
	logPath := filepath.Join(p.dir, "run.log")
	logf, err := os.Create(logPath)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := p.command("run", "--config", config, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	p.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", httpAddr); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			p.t.Fatalf("caddy run exited:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			p.t.Fatalf("caddy did not start:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// validate runs `caddy validate` and fails the test unless it succeeds.
func (p *proc) validate(config string) string {
	p.t.Helper()
	cmd := p.command("validate", "--config", config, "--adapter", "caddyfile")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			p.t.Fatalf("caddy validate: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		p.t.Fatalf("caddy validate hung:\n%s", out.String())
	}
	for _, bad := range []string{"bind", "address already in use", "locked"} {
		if strings.Contains(out.String(), bad) {
			p.t.Fatalf("caddy validate output mentions %q:\n%s", bad, out.String())
		}
	}
	return out.String()
}

// exampleCaddyfile is Caddyfile.example on free ports, written into dir.
func exampleCaddyfile(t *testing.T, dir, adminAddr, httpAddr string) string {
	t.Helper()
	b, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	cf := string(b)
	for old, new := range map[string]string{"admin localhost:2019": "admin " + adminAddr, "\n:8080 {": "\nhttp://" + httpAddr + " {",
		"\nhttps://localhost:8443 {": "\nhttps://localhost:" + portOf(freePort(t)) + " {"} {
		if !strings.Contains(cf, old) {
			t.Fatalf("Caddyfile.example has no %q any more; update this test", old)
		}
		cf = strings.Replace(cf, old, new, 1)
	}
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(cf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func sameTree(t *testing.T, what string, before, after []string) {
	t.Helper()
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Fatalf("%s changed:\nbefore: %v\nafter:  %v", what, before, after)
	}
}

func callAdmin(t *testing.T, adminAddr, key, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// chatThroughDemo creates an access key and asks the demo upstream
// through the gateway.
func chatThroughDemo(t *testing.T, adminAddr, httpAddr, adminKey string) {
	t.Helper()
	// Caddy starts its apps in map order: the site may listen a moment
	// before the ai app is published to the management API (503 then).
	st, b := callAdmin(t, adminAddr, adminKey, "POST", "/ai/access-keys", `{"name":"lifecycle"}`)
	for deadline := time.Now().Add(5 * time.Second); st == http.StatusServiceUnavailable && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		st, b = callAdmin(t, adminAddr, adminKey, "POST", "/ai/access-keys", `{"name":"lifecycle"}`)
	}
	if st != http.StatusCreated {
		t.Fatalf("create access key: %d %s", st, b)
	}
	var k struct{ Token string }
	mustJSON(t, b, &k)
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+k.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b = readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("chat through the demo upstream: %d %s", resp.StatusCode, b)
	}
	req, _ = http.NewRequest("POST", "http://"+httpAddr+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+k.Token)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	b = readAll(t, resp)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("data: [DONE]")) {
		t.Fatalf("stream through the demo upstream: %d %s", resp.StatusCode, b)
	}
}

// TestValidateBesideRunningGateway: `caddy validate` with the config and
// storage of a running `caddy run` succeeds (no bbolt lock wait, no port
// bound), creates no file in the storage or data directory, and leaves the
// running gateway serving.
func TestValidateBesideRunningGateway(t *testing.T) {
	dir := t.TempDir()
	storeDir := filepath.Join(dir, "store")
	p := newProc(t, dir, "AI_GATEWAY_STORAGE="+filepath.Join(storeDir, "gw.db"))
	adminAddr, httpAddr := freePort(t), freePort(t)
	cf := exampleCaddyfile(t, dir, adminAddr, httpAddr)
	p.run(cf, httpAddr)

	// no AI_GATEWAY_ADMIN_KEY: the key was generated beside the database,
	// and the secret key with it; nothing into Caddy's data dir
	keyFile := filepath.Join(storeDir, "gw.db.admin.key")
	if _, err := os.Stat(filepath.Join(storeDir, "gw.db.key")); err != nil {
		t.Fatalf("generated secret key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "caddy", "ai-gateway")); !os.IsNotExist(err) {
		t.Fatalf("key files in Caddy's data dir: %v", err)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("generated admin key: %v", err)
	}
	key := strings.TrimSpace(string(kb))
	chatThroughDemo(t, adminAddr, httpAddr, key)

	dataDir := filepath.Join(dir, "data")
	storeBefore, dataBefore := testkit.Files(t, storeDir), testkit.Files(t, dataDir)
	start := time.Now()
	p.validate(cf)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("validate took %s", d)
	}
	sameTree(t, "storage directory", storeBefore, testkit.Files(t, storeDir))
	sameTree(t, "data directory", dataBefore, testkit.Files(t, dataDir))

	// validate twice more in a row: nothing accumulates, nothing is held
	p.validate(cf)
	p.validate(cf)
	sameTree(t, "storage directory", storeBefore, testkit.Files(t, storeDir))
	sameTree(t, "data directory", dataBefore, testkit.Files(t, dataDir))

	chatThroughDemo(t, adminAddr, httpAddr, key)
}

// TestValidateFreshDirectoryCreatesNothing: validating before the first
// start creates no database, no key file and no directory.
func TestValidateFreshDirectoryCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	p := newProc(t, dir, "AI_GATEWAY_STORAGE="+filepath.Join(dir, "store", "gw.db"))
	cf := exampleCaddyfile(t, dir, freePort(t), freePort(t))
	before := testkit.Files(t, dir)
	p.validate(cf)
	// Caddy's own pki app makes its local CA (for the example's `tls
	// internal` dashboard site) when it provisions: that is Caddy's, not
	// the gateway's
	var after []string
	for _, f := range testkit.Files(t, dir) {
		if !strings.HasPrefix(f, "data/caddy/pki") && f != "data" && f != "data/caddy" {
			after = append(after, f)
		}
	}
	sameTree(t, "directory", before, after)
}

// TestExampleAdminKeyNotInAutosave: the admin key of Caddyfile.example is
// a runtime placeholder, so Caddy's autosaved config (and its config API)
// holds the placeholder, not the key.
func TestExampleAdminKeyNotInAutosave(t *testing.T) {
	dir := t.TempDir()
	const key = "admin-key-from-env-5f0c2a7e91d4"
	p := newProc(t, dir, "AI_GATEWAY_STORAGE="+filepath.Join(dir, "store", "gw.db"), "AI_GATEWAY_ADMIN_KEY="+key)
	adminAddr, httpAddr := freePort(t), freePort(t)
	p.run(exampleCaddyfile(t, dir, adminAddr, httpAddr), httpAddr)
	chatThroughDemo(t, adminAddr, httpAddr, key)

	autosave := filepath.Join(dir, "config", "caddy", "autosave.json")
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if b, err = os.ReadFile(autosave); err == nil && len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no autosave.json: %v", err)
		}
	}
	if bytes.Contains(b, []byte(key)) {
		t.Fatalf("autosave.json holds the admin key:\n%s", b)
	}
	if !bytes.Contains(b, []byte("{env.AI_GATEWAY_ADMIN_KEY}")) {
		t.Fatalf("autosave.json has no admin_key placeholder:\n%s", b)
	}
	st, cfg := callAdmin(t, adminAddr, key, "GET", "/config/", "")
	if st != 200 || bytes.Contains(cfg, []byte(key)) {
		t.Fatalf("config API: %d, holds the key: %v", st, bytes.Contains(cfg, []byte(key)))
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "gw.db.admin.key")); !os.IsNotExist(err) {
		t.Fatalf("an admin key file generated although AI_GATEWAY_ADMIN_KEY is set: %v", err)
	}
}

// TestFailedReloadKeepsCreditSettings: a reload whose config provisions
// but fails to start (its site's port is taken) leaves the running
// config's credit settings in force.
func TestFailedReloadKeepsCreditSettings(t *testing.T) {
	e := start(t, cfgOpts{extraAI: "min_purchase 5.00"})
	for round := 0; round < 4; round++ { // Caddy starts apps in map order: try both orders
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cf := e.caddyfile(cfgOpts{extraAI: "min_purchase 50.00"}) + "\nhttp://" + taken.Addr().String() + " {\n\trespond ok\n}\n"
		req, _ := http.NewRequest(http.MethodPost, "http://"+e.adminAddr+"/load", strings.NewReader(cf))
		req.Header.Set("Content-Type", "text/caddyfile")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		taken.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("reload onto a taken port succeeded: %s", b)
		}
		http.DefaultClient.CloseIdleConnections()

		if st, b := e.admin("POST", "/ai/credits/purchases", `{"accountId":"default","amount":"10.00"}`); st != http.StatusCreated {
			t.Fatalf("round %d: purchase of $10 after the failed reload: %d %s", round, st, b)
		}
		// the gateway still serves with the old config
		resp = e.post("/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		if b := readAll(t, resp); resp.StatusCode != 200 {
			t.Fatalf("round %d: chat after the failed reload: %d %s", round, resp.StatusCode, b)
		}
	}
	// and a good reload applies its settings
	e.load(e.caddyfile(cfgOpts{extraAI: "min_purchase 50.00"}))
	if st, b := e.admin("POST", "/ai/credits/purchases", `{"accountId":"default","amount":"10.00"}`); st != http.StatusBadRequest {
		t.Fatalf("purchase of $10 under min_purchase 50: %d %s", st, b)
	}
}
