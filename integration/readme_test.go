package integration

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestReadmeCurlExamples runs every curl example of README.md, in the
// README's order, against a real gateway: the management API calls on
// $AI and the data-plane calls on localhost:8080. An example must answer
// 2xx, or a status its own comment names (`# 409 while …`). Ids written as
// `<prefix>_01…` stand for the latest resource of that kind an earlier
// example created (one is created first when none has been); `$KEY` is
// the first access key an example created (the Quick start's). A README example that names a wrong path,
// field or value fails here, so the examples stay true.
func TestReadmeCurlExamples(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// the many-nodes walk-through runs as a script of its own
	// (integration/multinode TestReadmeManyNodes)
	readme := string(raw)
	if i := strings.Index(readme, "\n### Try it: two nodes on one machine"); i >= 0 {
		if j := strings.Index(readme[i+1:], "\n### "); j >= 0 {
			readme = readme[:i] + readme[i+1+j:]
		}
	}
	cmds := readmeCurls(readme)
	if len(cmds) < 20 {
		t.Fatalf("only %d curl examples found in README.md", len(cmds))
	}
	e := start(t, cfgOpts{site: "ai_health /ready\n\tai_auth\n\tai_credits\n\tai_gateway", extraAI: "min_purchase 1"})
	// the Gemini examples' google provider is the fake too
	site := "ai_health /ready\n\tai_auth\n\tai_credits\n\tai_gateway"
	e.load(e.caddyfile(cfgOpts{site: site, extraAI: "min_purchase 1\n\t\t" + googleProvider(e)}))
	r := &readmeRun{e: e, ids: map[string]string{}, key: e.token}
	// the quick start's access key has credits to spend
	r.ids["acct"] = "default"
	if st, b := e.admin("POST", "/ai/credits/purchases", `{"accountId":"default","amount":"100"}`); st != 201 {
		t.Fatalf("purchase: %d %s", st, b)
	}
	for _, c := range cmds {
		r.run(t, c)
	}
	t.Logf("%d README curl examples ran", len(cmds))
}

// readmeCmd is one curl example: its words (after joining continued
// lines) and the comment after it.
type readmeCmd struct {
	line    string
	words   []string
	comment string
}

// readmeCurls returns the curl commands of the README's ```sh blocks.
func readmeCurls(readme string) []readmeCmd {
	var out []readmeCmd
	inSh := false
	var pending string
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(line, "```"):
			inSh = false
			continue
		case !inSh:
			continue
		}
		if pending != "" {
			line = pending + "\n" + line
			pending = ""
		}
		if strings.HasSuffix(strings.TrimSpace(line), "\\") || openQuote(line) {
			pending = strings.TrimSuffix(strings.TrimSpace(line), "\\")
			continue
		}
		if !strings.HasPrefix(strings.TrimSpace(line), "curl ") {
			continue
		}
		words, comment := shellWords(line)
		out = append(out, readmeCmd{line: line, words: words, comment: comment})
	}
	return out
}

// openQuote reports whether s ends inside a single-quoted string.
func openQuote(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'' && !in:
			in = true
		case s[i] == '\'' && in:
			in = false
		case s[i] == '#' && !in && (i == 0 || s[i-1] == ' '):
			return false
		}
	}
	return in
}

// shellWords splits a command the way sh would for the forms the README
// uses: '…' literal, "…" with $VARS, bare words with $VARS, a # comment.
// Variables are kept as written ($AI, $ADMIN, $KEY) and expanded later.
func shellWords(s string) (words []string, comment string) {
	var cur strings.Builder
	have := false
	flush := func() {
		if have {
			words = append(words, cur.String())
		}
		cur.Reset()
		have = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			have = true
		case c == '"':
			j := i + 1
			for ; s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			cur.WriteString(strings.ReplaceAll(s[i+1:j], `\"`, `"`))
			i = j
			have = true
		case c == '#' && !have:
			return words, strings.TrimSpace(s[i+1:])
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	flush()
	return words, ""
}

type readmeRun struct {
	e   *env
	ids map[string]string // prefix → latest id
	key string            // $KEY: the Quick start's access key
	// keyFromReadme: key is the first one an example created
	keyFromReadme bool
}

var (
	placeholder = regexp.MustCompile(`\b([a-z]+)_01…`)
	statusInRe  = regexp.MustCompile(`\b([1-5][0-9][0-9])\b`)
	idRe        = regexp.MustCompile(`^([a-z]+)_[0-9a-z]{26}$`)
)

func (r *readmeRun) run(t *testing.T, c readmeCmd) {
	t.Helper()
	method, url, body := "GET", "", ""
	hdr := http.Header{}
	w := c.words[1:]
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "-s":
		case "-X":
			i++
			method = w[i]
		case "-H":
			i++
			k, v, ok := strings.Cut(r.expand(t, w[i]), ": ")
			if !ok {
				t.Fatalf("README: header %q in %s", w[i], c.line)
			}
			hdr.Add(k, v)
		case "-d":
			i++
			body = r.expand(t, w[i])
			if method == "GET" {
				method = "POST"
			}
		default:
			if strings.HasPrefix(w[i], "-") || url != "" {
				t.Fatalf("README: curl option or second URL %q not understood by this test in:\n%s", w[i], c.line)
			}
			url = r.expand(t, w[i])
		}
	}
	switch {
	case strings.HasPrefix(url, "localhost:8080"):
		url = "http://" + r.e.httpAddr + strings.TrimPrefix(url, "localhost:8080")
	case strings.HasPrefix(url, "localhost:2019"):
		url = "http://" + r.e.adminAddr + strings.TrimPrefix(url, "localhost:2019")
	default:
		t.Fatalf("README: URL %q is neither the gateway (localhost:8080) nor the admin endpoint (localhost:2019):\n%s", url, c.line)
	}
	if body != "" && !json.Valid([]byte(body)) {
		t.Fatalf("README: the body is not valid JSON:\n%s", c.line)
	}
	var resp *http.Response
	var b []byte
	// a request's usage events are committed a few milliseconds after
	// its answer: a lookup of one just made may wait for them
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(url, "/usage/requests/") || time.Now().After(deadline) {
			break
		}
	}
	ok := resp.StatusCode/100 == 2
	for _, m := range statusInRe.FindAllString(c.comment, -1) {
		ok = ok || m == fmt.Sprint(resp.StatusCode)
	}
	if !ok {
		t.Errorf("README example answered %d %s:\n%s", resp.StatusCode, b, c.line)
		return
	}
	if rid := resp.Header.Get("Ai-Gateway-Request-Id"); rid != "" {
		r.ids["req"] = rid
	}
	if method == "DELETE" && resp.StatusCode/100 == 2 {
		for p, id := range r.ids {
			if strings.HasSuffix(url, "/"+id) {
				delete(r.ids, p)
			}
		}
	}
	var v map[string]any
	if json.Unmarshal(b, &v) == nil && method == "POST" {
		if id, _ := v["id"].(string); idRe.MatchString(id) {
			r.ids[idRe.FindStringSubmatch(id)[1]] = id
		}
		if tok, _ := v["token"].(string); strings.HasPrefix(tok, "cag_") && !r.keyFromReadme {
			r.key, r.keyFromReadme = tok, true // the Quick start's key, $KEY from then on
		}
	}
}

// expand replaces $VARS and <prefix>_01… placeholders.
func (r *readmeRun) expand(t *testing.T, s string) string {
	t.Helper()
	s = strings.NewReplacer(
		"$AI_GATEWAY_ADMIN_KEY", adminKey,
		"$ADMIN", "Authorization: Bearer "+adminKey,
		"$AI", "localhost:2019/ai",
		"$KEY", r.key,
	).Replace(s)
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		prefix := strings.TrimSuffix(m, "_01…")
		if id, ok := r.ids[prefix]; ok {
			return id
		}
		id := r.fixture(t, prefix)
		r.ids[prefix] = id
		return id
	})
}

// fixture creates a resource of the kind an example refers to before any
// example created one.
func (r *readmeRun) fixture(t *testing.T, prefix string) string {
	t.Helper()
	var path, body string
	switch prefix {
	case "acct":
		path, body = "/ai/accounts", `{"name":"readme"}`
	case "akc":
		path, body = "/ai/access-key-configurations", `{"name":"readme"}`
	case "ak":
		path, body = "/ai/access-keys", `{"name":"readme"}`
	case "pk":
		path, body = "/ai/provider-keys", `{"providerId":"openai","name":"readme","value":"sk-readme-0123456789abcdef"}`
	case "req":
		resp := r.e.post("/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, map[string]string{"Authorization": "Bearer " + r.e.token})
		readAll(t, resp)
		return resp.Header.Get("Ai-Gateway-Request-Id")
	default:
		t.Fatalf("README: no fixture for ids %s_…", prefix)
	}
	st, b := r.e.admin("POST", path, body)
	if st != 201 {
		t.Fatalf("fixture %s: %d %s", prefix, st, b)
	}
	var v struct{ ID string }
	_ = json.Unmarshal(b, &v)
	return v.ID
}

// TestReadmeQuickStart runs the shell blocks of the README's Quick start
// as one script, as a new user would in a second terminal: against
// Caddyfile.example started by the built caddy in an empty directory.
// `go run ./cmd/caddy` is that same binary; localhost:8080 and :2019 are
// the test's ports. Every command must succeed (curl --fail-with-body).
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(raw)
	start := strings.Index(section, "\n## Quick start")
	end := strings.Index(section[start+1:], "\n## ")
	section = section[start : start+1+end]
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
	if !strings.Contains(script.String(), "AI_GATEWAY_ADMIN_KEY") || !strings.Contains(script.String(), "/v1/chat/completions") {
		t.Fatalf("the Quick start's shell blocks lost their key or chat example:\n%s", script.String())
	}

	dir := t.TempDir()
	p := newProc(t, dir, "AI_GATEWAY_STORAGE="+filepath.Join(dir, "ai-gateway.db"))
	adminAddr, httpAddr := freePort(t), freePort(t)
	cfPath := exampleCaddyfile(t, dir, adminAddr, httpAddr)
	p.run(cfPath, httpAddr)

	// the example's dashboard answers over HTTPS
	cf, _ := os.ReadFile(cfPath)
	dash := regexp.MustCompile(`(?m)^https://localhost:[0-9]+`).FindString(string(cf))
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err = insecure.Get(dash + "/ui/"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("the example's dashboard: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<html") || resp.TLS == nil {
		t.Fatalf("the example's dashboard: %d over TLS %v:\n%.300s", resp.StatusCode, resp.TLS != nil, page)
	}

	shims := `set -euo pipefail
go() { if [ "$1" = run ] && [ "$2" = ./cmd/caddy ]; then shift 2; "$CADDY_BIN" "$@"; else command go "$@"; fi; }
curl() {
	local args=()
	for a in "$@"; do a=${a//localhost:8080/$HTTP_ADDR}; a=${a//localhost:2019/$CADDY_ADMIN}; args+=("$a"); done
	command curl --fail-with-body "${args[@]}"; echo
}
`
	cmd := exec.Command("bash", "-c", shims+script.String())
	cmd.Dir = dir
	cmd.Env = append(p.vars, "CADDY_BIN="+p.bin, "HTTP_ADDR="+httpAddr, "CADDY_ADMIN="+adminAddr, "PATH="+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Quick start failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"status":"ready"`, `"token":"cag_`, `"chat.completion"`, `"type":"message"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the Quick start's output has no %s:\n%s", want, out)
		}
	}
}

// TestSystemdUnitVerifies: the README's systemd unit passes
// `systemd-analyze verify` with the built caddy as its binary.
func TestSystemdUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("../examples/systemd/caddy-ai-gateway.service")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildCaddy(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "caddy-ai-gateway.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/caddy", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestReadmeCaddyfiles: every ```caddyfile example of README.md and
// xcaddy.md adapts and passes `caddy validate` (a block that is one
// directive, as `ai_gateway { … }`, is put in a site block first), so
// the documented configuration stays what the modules accept.
func TestReadmeCaddyfiles(t *testing.T) {
	t.Setenv("AI_GATEWAY_DATABASE_URL", "postgres://gateway@127.0.0.1:5432/gateway")
	t.Setenv("AI_GATEWAY_SECRET_KEY", strings.Repeat("ab", 32))
	n := 0
	for _, doc := range []string{"../README.md", "../xcaddy.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		var block []string
		in, start := false, 0
		for i, line := range strings.Split(string(raw), "\n") {
			switch {
			case strings.HasPrefix(line, "```caddyfile"):
				in, start, block = true, i+1, nil
			case in && strings.HasPrefix(line, "```"):
				in = false
				n++
				cf := strings.Join(block, "\n")
				if first := strings.TrimSpace(block[0]); strings.HasPrefix(first, "ai_") || strings.HasPrefix(first, "handle") {
					cf = ":8080 {\n" + cf + "\n}"
				}
				got, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
				if err != nil {
					t.Errorf("%s:%d: the example does not adapt: %v\n%s", doc, start, err, cf)
					continue
				}
				var cfg caddy.Config
				if err := json.Unmarshal(got, &cfg); err != nil {
					t.Fatal(err)
				}
				if err := caddy.Validate(&cfg); err != nil {
					t.Errorf("%s:%d: the example fails caddy validate: %v\n%s", doc, start, err, cf)
				}
			case in:
				block = append(block, line)
			}
		}
	}
	if n < 6 {
		t.Fatalf("only %d Caddyfile examples found", n)
	}
}
