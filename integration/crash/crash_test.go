// Package crash kills a real Caddy process with SIGKILL under load, over
// and over, and checks the credit ledger after each death: bbolt opens
// clean, every account's entries sum to its balance, and every response a
// client received in full was charged exactly once, and every charged
// request has its usage event. It runs a built
// binary (go build ./cmd/caddy), so it lives apart from the in-process
// integration tests.
package crash

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
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

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
)

const adminKey = "crash-admin-key-0123456789"

func freePort(t *testing.T) string { return testports.Free(t, testports.Crash) }

type gateway struct {
	t         *testing.T
	bin, cfg  string
	dir       string
	adminAddr string
	httpAddr  string
	cmd       *exec.Cmd
}

func (g *gateway) start() {
	g.t.Helper()
	cmd := exec.Command(g.bin, "run", "--config", g.cfg, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+g.dir, "XDG_CONFIG_HOME="+g.dir, "HOME="+g.dir)
	logf, _ := os.OpenFile(filepath.Join(g.dir, "caddy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.cmd = cmd
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Caddy starts its apps in no fixed order: the site may listen
		// before the ai app runs, so wait for the management API too.
		if c, err := net.Dial("tcp", g.httpAddr); err == nil {
			c.Close()
			if st, _ := g.admin("GET", "/ai/accounts", ""); st == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(g.dir, "caddy.log"))
			g.t.Fatalf("caddy did not start:\n%s", tail(string(b), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *gateway) kill() {
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = g.cmd.Process.Wait()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (g *gateway) admin(method, path, body string) (int, []byte) {
	req, _ := http.NewRequest(method, "http://"+g.adminAddr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// completed records request ids whose answers reached the client whole.
type completed struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (c *completed) add(id string) {
	c.mu.Lock()
	c.ids[id] = true
	c.mu.Unlock()
}

func TestKill9UnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	cycles := 20
	started := time.Now()
	dir := t.TempDir()
	bin := testkit.CaddyBinary(t)
	t.Logf("built caddy in %s", time.Since(started).Round(time.Millisecond))

	fake := httptest.NewServer(fakeprovider.New(fakeprovider.Options{}))
	defer fake.Close()
	g := &gateway{t: t, bin: bin, dir: dir, adminAddr: freePort(t), httpAddr: freePort(t), cfg: filepath.Join(dir, "Caddyfile")}
	dbPath := filepath.Join(dir, "gw.db")
	caddyfile := fmt.Sprintf(`{
	admin %s
	auto_https off
	log default {
		level ERROR
	}
	ai {
		storage %s
		admin_key %s
		min_purchase 0.01
		processing_fee 0.25
		provider metered {
			format openai
			base_url %s/v1
			api_key metered-key-0123456789
			model tenner {
				input_price 0.5
				output_price 1
				max_output_tokens 10
			}
		}
	}
}

http://%s {
	ai_auth
	ai_credits
	ai_gateway
}
`, g.adminAddr, dbPath, adminKey, fake.URL, g.httpAddr)
	if err := os.WriteFile(g.cfg, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}

	g.start()
	var tokens, accounts []string
	for i := 0; i < 3; i++ {
		st, b := g.admin("POST", "/ai/accounts", `{"name":"crash"}`)
		if st != 201 {
			t.Fatalf("%d %s", st, b)
		}
		var acct struct{ ID string }
		_ = json.Unmarshal(b, &acct)
		_, b = g.admin("POST", "/ai/access-keys", `{"accountId":"`+acct.ID+`"}`)
		var key struct{ Token string }
		_ = json.Unmarshal(b, &key)
		if st, b := g.admin("POST", "/ai/credits/purchases", `{"accountId":"`+acct.ID+`","amount":"1000"}`); st != 201 {
			t.Fatalf("%d %s", st, b)
		}
		tokens, accounts = append(tokens, key.Token), append(accounts, acct.ID)
	}

	done := &completed{ids: map[string]bool{}}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	var totalServed int
	for cycle := 0; cycle < cycles; cycle++ {
		if cycle > 0 {
			g.start()
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		served := 0
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for ctx.Err() == nil {
					stream := w%2 == 1
					body := `{"model":"metered:tenner","max_tokens":10,"messages":[{"role":"user","content":"crash test"}]}`
					if stream {
						body = strings.Replace(body, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
					}
					req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+g.httpAddr+"/v1/chat/completions", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tokens[w%len(tokens)])
					resp, err := client.Do(req)
					if err != nil {
						continue // the process died under it
					}
					id := resp.Header.Get("AI-Gateway-Request-Id")
					whole := false
					if resp.StatusCode == 200 && !stream {
						b, err := io.ReadAll(resp.Body)
						whole = err == nil && json.Valid(b)
					} else if resp.StatusCode == 200 {
						sc := bufio.NewScanner(resp.Body)
						for sc.Scan() {
							if sc.Text() == "data: [DONE]" {
								whole = true
							}
						}
					}
					resp.Body.Close()
					if whole {
						done.add(id)
						mu.Lock()
						served++
						mu.Unlock()
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(150+rand.IntN(900)) * time.Millisecond)
		g.kill()
		cancel()
		wg.Wait()
		totalServed += served
		if err := verify(dbPath, done); err != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "caddy.log"))
			t.Fatalf("cycle %d: %v\n%s", cycle, err, tail(string(b), 2000))
		}
		t.Logf("cycle %d: %d answers served before SIGKILL; ledger consistent", cycle, served)
	}
	if totalServed == 0 {
		t.Fatal("no traffic was served")
	}
	t.Logf("%d kills, %d answers, %s in all", cycles, totalServed, time.Since(started).Round(time.Second))
	_ = accounts
}

// verify opens the database of a killed process and checks the ledger.
func verify(dbPath string, done *completed) error {
	db, err := boltstore.Open(dbPath)
	if err != nil {
		return fmt.Errorf("bbolt did not open clean: %w", err)
	}
	defer db.Close()
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		return err
	}
	if err := l.Verify(); err != nil {
		return err
	}
	entries, err := l.Entries()
	if err != nil {
		return err
	}
	usage := map[string]int{}
	for _, e := range entries {
		if e.Type == credits.Usage {
			usage[e.RequestID]++
		}
	}
	done.mu.Lock()
	defer done.mu.Unlock()
	for id, n := range usage {
		if n != 1 {
			return fmt.Errorf("request %s charged %d times", id, n)
		}
	}
	for id := range done.ids {
		if usage[id] != 1 {
			return fmt.Errorf("request %s reached its client whole but was not charged", id)
		}
	}
	// A usage event commits with its settlement: every charged request has
	// its succeeded attempt journaled, whatever instant the kill came at.
	events, err := db.Usage(context.Background(), store.UsageQuery{})
	if err != nil {
		return err
	}
	succeeded := map[string]bool{}
	for _, ev := range events {
		if ev.RetryAction == "succeeded" {
			succeeded[ev.RequestID] = true
		}
	}
	missing := 0
	for id := range usage {
		if !succeeded[id] {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%d of %d charged requests have no usage event", missing, len(usage))
	}
	return nil
}
