package multinode

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
)

// TestReadmeManyNodes runs the shell blocks of the README's "Try it: two
// nodes on one machine" as one script, as a new user would after the Quick
// start: a bbolt gateway with an access key ($KEY) is stopped, its data
// moves to PostgreSQL with `caddy ai migrate`, two nodes start with `caddy
// start` on examples/multinode/Caddyfile, credits bought through node 1
// are spent through node 2, and after a load on both nodes both report the
// same balance and every request is metered once. The script's ports
// (localhost:2011/2012 and :8081/8082) and database URL are the test's;
// every command must succeed.
func TestReadmeManyNodes(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	dbURL := testpg.URL(t)
	bin := testkit.CaddyBinary(t)
	dir := t.TempDir()

	script := readmeSection(t, "\n### Try it: two nodes on one machine")
	const readmeURL = "postgres://gateway:gateway@localhost:5432/gateway"
	if !strings.Contains(script, readmeURL) || !strings.Contains(script, "caddy ai migrate") || !strings.Contains(script, "credits balance") {
		t.Fatalf("the walk-through lost its database URL, migrate or balance step:\n%s", script)
	}
	script = strings.ReplaceAll(script, readmeURL, dbURL)

	// The Quick start's gateway: bbolt in dir, an access key, stopped.
	token := quickStartGateway(t, bin, dir)

	// examples/multinode/Caddyfile with the test's ports.
	example, err := os.ReadFile("../../examples/multinode/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	cf := string(example)
	for _, s := range []string{"localhost:201{$NODE:1}", ":808{$NODE:1}"} {
		if !strings.Contains(cf, s) {
			t.Fatalf("examples/multinode/Caddyfile has no %s", s)
		}
	}
	cf = strings.Replace(cf, "localhost:201{$NODE:1}", "{$TEST_ADMIN}", 1)
	cf = strings.Replace(cf, ":808{$NODE:1}", "http://{$TEST_SITE}", 1)
	cf = strings.Replace(cf, "{\n\tadmin", "{\n\tlog default {\n\t\tlevel ERROR\n\t}\n\tadmin", 1)
	if err := os.MkdirAll(filepath.Join(dir, "examples/multinode"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "examples/multinode/Caddyfile"), []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}

	admin := []string{testports.Free(t, testports.MultiNode), testports.Free(t, testports.MultiNode)}
	site := []string{testports.Free(t, testports.MultiNode), testports.Free(t, testports.MultiNode)}
	t.Cleanup(func() {
		for _, a := range admin {
			_ = exec.Command(bin, "stop", "--address", a).Run()
		}
	})
	// ./caddy: the built binary, with the README's addresses mapped to the
	// test's; NODE picks the ports `caddy start` gives the Caddyfile.
	wrapper := fmt.Sprintf(`#!/usr/bin/env bash
args=()
for a in "$@"; do a=${a//localhost:2011/%[1]s}; a=${a//localhost:2012/%[2]s}; args+=("$a"); done
case "${NODE:-1}" in
1) export TEST_ADMIN=%[1]s TEST_SITE=%[3]s ;;
2) export TEST_ADMIN=%[2]s TEST_SITE=%[4]s ;;
esac
exec %[5]q "${args[@]}"
`, admin[0], admin[1], site[0], site[1], bin)
	if err := os.WriteFile(filepath.Join(dir, "caddy-wrapper"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	shims := fmt.Sprintf(`set -euo pipefail
go() { if [ "$1" = build ] && [ "$2" = -o ] && [ "$3" = caddy ]; then cp caddy-wrapper caddy; else command go "$@"; fi; }
curl() {
	local args=()
	for a in "$@"; do a=${a//localhost:8081/%s}; a=${a//localhost:8082/%s}; args+=("$a"); done
	command curl --fail-with-body "${args[@]}"; echo
}
`, site[0], site[1])

	out, err := os.Create(filepath.Join(dir, "walkthrough.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("bash", "-c", shims+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KEY="+token, "XDG_DATA_HOME="+filepath.Join(dir, "xdg"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg"), "HOME="+filepath.Join(dir, "xdg"))
	// a file, not a pipe: `caddy start` leaves the nodes writing to it
	cmd.Stdout, cmd.Stderr = out, out
	runErr := cmd.Run()
	if os.Getenv("AI_GATEWAY_TEST_VERBOSE") != "" {
		defer func() { b, _ := os.ReadFile(out.Name()); t.Logf("%s", b) }()
	}
	log, _ := os.ReadFile(out.Name())
	if runErr != nil {
		t.Fatalf("the walk-through failed: %v\n%s", runErr, log)
	}
	text := string(log)
	for _, want := range []string{"verified: counts and sums equal", `"object":"chat.completion"`, "Successfully started Caddy"} {
		if !strings.Contains(text, want) {
			t.Errorf("the walk-through's output has no %q:\n%s", want, text)
		}
	}
	// Both nodes' balance tables show the same balance, below the 10 USD
	// bought; the usage table counts 1 + 200 requests, all served.
	rows := regexp.MustCompile(`(?m)^default +([0-9.]+) `).FindAllStringSubmatch(text, -1)
	if len(rows) != 2 || rows[0][1] != rows[1][1] || !strings.HasPrefix(rows[0][1], "9.") {
		t.Errorf("the two nodes' balances: %v (want two equal rows below 10 USD)\n%s", rows, text)
	}
	total := regexp.MustCompile(`(?m)^TOTAL +201 +0 +[0-9,]+ +[0-9,]+ +[0-9.]+ +([0-9.]+)$`).FindStringSubmatch(text)
	if total == nil {
		t.Fatalf("usage does not count 201 requests without errors:\n%s", text)
	}
	// what the usage events say was spent is what left the balance
	if len(rows) == 2 {
		balance, err1 := money.ParseUSD(rows[0][1])
		spent, err2 := money.ParseUSD(total[1])
		if err1 != nil || err2 != nil || balance+spent != 10*money.USD {
			t.Errorf("balance %s + spent %s != the 10 USD bought (%v %v)", rows[0][1], total[1], err1, err2)
		}
	}
	if strings.Contains(text, token) {
		t.Error("the access key appears in the walk-through's output or the nodes' logs")
	}
}

// readmeSection returns the shell blocks of the README section that starts
// with heading, up to the next heading of its level or higher.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, heading)
	if start < 0 {
		t.Fatalf("README.md has no %q", strings.TrimSpace(heading))
	}
	section := doc[start+1:]
	if end := regexp.MustCompile(`\n#{2,3} `).FindStringIndex(section); end != nil {
		section = section[:end[0]]
	}
	var script strings.Builder
	inSh := false
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
		case strings.HasPrefix(line, "```"):
			inSh = false
		case inSh:
			script.WriteString(line + "\n")
		}
	}
	return script.String()
}

// quickStartGateway leaves in dir what the Quick start leaves: a bbolt
// gateway's ai-gateway.db with its two key files and an access key of the
// default account (returned), and stops the gateway.
func quickStartGateway(t *testing.T, bin, dir string) string {
	t.Helper()
	adminAddr := testports.Free(t, testports.MultiNode)
	cfg := filepath.Join(dir, "Caddyfile.bbolt")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{
	admin %s
	log default {
		level ERROR
	}
	ai {
		storage %s
		demo_upstream
	}
}
http://%s {
	ai_auth
	ai_gateway
}
`, adminAddr, filepath.Join(dir, "ai-gateway.db"), testports.Free(t, testports.MultiNode))), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, "xdg"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg"), "HOME="+filepath.Join(dir, "xdg"))
	logf, _ := os.Create(filepath.Join(dir, "bbolt.log"))
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("the bbolt gateway did not answer:\n%s", b)
		}
		adminKey, _ := os.ReadFile(filepath.Join(dir, "ai-gateway.db.admin.key"))
		if len(adminKey) == 0 {
			continue
		}
		req, _ := http.NewRequest("POST", "http://"+adminAddr+"/ai/access-keys", strings.NewReader(`{"name":"my laptop"}`))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(adminKey)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		var v struct{ Token string }
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated && v.Token != "" {
			return v.Token
		}
	}
}
