// Package multinode runs several gateway nodes — real Caddy processes
// built from ./cmd/caddy — on one PostgreSQL database (internal/testpg),
// the way a team runs the gateway for availability: a change made through
// any node applies on every node, and credits stay exact across them.
package multinode

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/pgstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testports"
)

func TestMain(m *testing.M) { testpg.Main(m) }

const (
	adminKey  = "multinode-admin-key-0123456789"
	secretKey = "6d756c74696e6f64652d7365637265742d6b65792d3031323334353637383930"
)

// node is one gateway process.
type node struct {
	t                   *testing.T
	bin, dir, cfg       string
	adminAddr, httpAddr string
	cmd                 *exec.Cmd
}

// startNodes starts n nodes on the database url, in front of upstream.
func startNodes(t *testing.T, n int, url, upstream string) []*node {
	bin := testkit.CaddyBinary(t)
	var nodes []*node
	for i := range n {
		nd := &node{t: t, bin: bin, dir: t.TempDir(), adminAddr: testports.Free(t, testports.MultiNode), httpAddr: testports.Free(t, testports.MultiNode)}
		nd.cfg = filepath.Join(nd.dir, "Caddyfile")
		caddyfile := fmt.Sprintf(`{
	admin %s
	auto_https off
	log default {
		level ERROR
	}
	ai {
		storage postgres {env.AI_GATEWAY_DATABASE_URL}
		secret_key %s
		admin_key %s
		min_purchase 0.01
		provider metered {
			format openai
			base_url %s/v1
			api_key metered-key-0123456789
			# output only, and the fake answers with max_tokens tokens:
			# a request costs exactly its hold (10 output tokens)
			model tenner {
				input_price 0
				output_price 1000
				max_output_tokens 10
			}
		}
	}
}

http://%s {
	ai_health /ready
	ai_health /live live
	ai_auth
	ai_credits
	ai_gateway
}
`, nd.adminAddr, secretKey, adminKey, upstream, nd.httpAddr)
		if err := os.WriteFile(nd.cfg, []byte(caddyfile), 0o600); err != nil {
			t.Fatal(err)
		}
		nd.start(url)
		t.Cleanup(nd.stop)
		nodes = append(nodes, nd)
		_ = i
	}
	return nodes
}

func (nd *node) start(url string) {
	nd.t.Helper()
	cmd := exec.Command(nd.bin, "run", "--config", nd.cfg, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+nd.dir, "XDG_CONFIG_HOME="+nd.dir, "HOME="+nd.dir, "AI_GATEWAY_DATABASE_URL="+url)
	logf, _ := os.OpenFile(filepath.Join(nd.dir, "caddy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		nd.t.Fatal(err)
	}
	nd.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _ := nd.adminTry("GET", "/ai/accounts", ""); st == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(nd.dir, "caddy.log"))
			nd.t.Fatalf("node did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the node cleanly (SIGTERM: its leases go back).
func (nd *node) stop() {
	if nd.cmd == nil || nd.cmd.ProcessState != nil {
		return
	}
	_ = nd.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _, _ = nd.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = nd.cmd.Process.Kill()
		<-done
	}
}

// kill ends the node as a crash would.
func (nd *node) kill() {
	_ = nd.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = nd.cmd.Process.Wait()
}

func (nd *node) adminTry(method, path, body string) (int, []byte) {
	req, _ := http.NewRequest(method, "http://"+nd.adminAddr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (nd *node) admin(method, path, body string) (int, []byte) {
	nd.t.Helper()
	st, b := nd.adminTry(method, path, body)
	if st == 0 {
		nd.t.Fatalf("%s %s: no answer", method, path)
	}
	return st, b
}

func (nd *node) create(path, body string) map[string]any {
	nd.t.Helper()
	st, b := nd.admin("POST", path, body)
	if st != http.StatusCreated && st != http.StatusOK {
		nd.t.Fatalf("POST %s: %d %s", path, st, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// chat sends one metered request; it returns the status.
func (nd *node) chat(token string) int {
	st, _, _ := nd.send(token)
	return st
}

// send sends one metered request: its status (0 when it failed), its
// whole body (nil when cut) and its request id.
func (nd *node) send(token string) (status int, body []byte, requestID string) {
	req, _ := http.NewRequest("POST", "http://"+nd.httpAddr+"/v1/chat/completions",
		strings.NewReader(`{"model":"metered:tenner","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		b = nil
	}
	return resp.StatusCode, b, resp.Header.Get("AI-Gateway-Request-Id")
}

// balance reads an account's balance and held amount (USD strings).
func (nd *node) balance(acct string) (balance, held string) {
	nd.t.Helper()
	st, b := nd.admin("GET", "/ai/credits/balance?accountId="+acct, "")
	if st != 200 {
		nd.t.Fatalf("balance: %d %s", st, b)
	}
	var v struct{ Balance, Held string }
	_ = json.Unmarshal(b, &v)
	return v.Balance, v.Held
}

// eventually retries check until it returns "" or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, check func() string) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < within {
		if last = check(); last == "" {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %s", what, within, last)
	return 0
}

// answers waits until every node answers token's requests with want,
// within a bound, and returns how long each node took.
func answers(t *testing.T, nodes []*node, token string, want int, within time.Duration, what string) []time.Duration {
	t.Helper()
	took := make([]time.Duration, len(nodes))
	for i, nd := range nodes {
		took[i] = eventually(t, within, fmt.Sprintf("%s on node %d", what, i), func() string {
			if st := nd.chat(token); st != want {
				return fmt.Sprint(st)
			}
			return ""
		})
	}
	return took
}

// noneHeld waits until nothing of acct is held or leased.
func (nd *node) noneHeld(acct string, within time.Duration, what string) {
	nd.t.Helper()
	eventually(nd.t, within, what, func() string {
		if _, held := nd.balance(acct); mustUSD(nd.t, held) != 0 {
			return "held " + held
		}
		return ""
	})
}

// accountWithKey creates, through nd, an account named name with an
// access key, and buys amount USD of credits for it unless amount is
// empty; it returns the account id and the key's token.
func (nd *node) accountWithKey(name, amount string) (acct, token string) {
	nd.t.Helper()
	acct = nd.create("/ai/accounts", `{"name":"`+name+`"}`)["id"].(string)
	token = nd.create("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
	if amount != "" {
		nd.create("/ai/credits/purchases", `{"accountId":"`+acct+`","amount":"`+amount+`"}`)
	}
	return acct, token
}

func fakeUpstream(t *testing.T) string {
	srv := httptest.NewServer(fakeprovider.New(fakeprovider.Options{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestChangesReachEveryNode: an access key created through one node
// serves on the others, and revoked through another it is refused
// everywhere, each within a second.
func TestChangesReachEveryNode(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 3, url, fakeUpstream(t))
	acct := nodes[0].create("/ai/accounts", `{"name":"team"}`)["id"].(string)
	nodes[0].create("/ai/credits/purchases", `{"accountId":"`+acct+`","amount":"10"}`)
	k := nodes[0].create("/ai/access-keys", `{"accountId":"`+acct+`"}`)
	token, id := k["token"].(string), k["id"].(string)
	for i, took := range answers(t, nodes, token, 200, time.Second, "the new key") {
		t.Logf("node %d serves the new key after %s", i, took.Round(time.Millisecond))
	}
	if st, b := nodes[1].admin("DELETE", "/ai/access-keys/"+id, ""); st != 204 && st != 200 {
		t.Fatalf("delete: %d %s", st, b)
	}
	for i, took := range answers(t, nodes, token, 401, time.Second, "the revoked key") {
		t.Logf("node %d refuses the revoked key after %s", i, took.Round(time.Millisecond))
	}
}

// TestCreditsExactAcrossNodes: 1,000 concurrent requests spread over three
// nodes against a balance that pays for exactly 500 of them: at most 500
// are served, at least 490, the rest get 402; afterwards the ledger sums
// to the balance, the balance is what the served requests left and, the
// leases returned, nothing is held or leased.
func TestCreditsExactAcrossNodes(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 3, url, fakeUpstream(t))
	// what one request costs: measured on an account of its own
	probe, probeToken := nodes[0].accountWithKey("probe", "1")
	if st := nodes[0].chat(probeToken); st != 200 {
		t.Fatalf("probe: %d", st)
	}
	left, _ := nodes[0].balance(probe)
	cost := money.USD - mustUSD(t, left)
	if cost != money.USD/100 {
		t.Fatalf("a request cost %s, want 0.01 (10 output tokens at $1000/M)", cost)
	}

	acct, token := nodes[0].accountWithKey("shared", "")
	// every node knows the key (and its account): 402, no credit yet
	answers(t, nodes, token, 402, time.Second, "the key")
	nodes[1].create("/ai/credits/purchases", `{"accountId":"`+acct+`","amount":"`+(500*cost).String()+`"}`)
	var served, refused atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 96) // concurrent requests in flight
	for i := range 1000 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			switch st := nodes[i%3].chat(token); st {
			case 200:
				served.Add(1)
			case 402:
				refused.Add(1)
			default:
				t.Errorf("request %d: %d", i, st)
			}
		})
	}
	wg.Wait()
	t.Logf("served %d, refused %d", served.Load(), refused.Load())
	if s := served.Load(); s > 500 || s < 490 {
		t.Fatalf("%d requests served with a balance for 500", s)
	}
	want := (500 - money.Nano(served.Load())) * cost
	eventually(t, 10*time.Second, "the leases returned", func() string {
		b, held := nodes[2].balance(acct)
		if mustUSD(t, b) != want || mustUSD(t, held) != 0 {
			return fmt.Sprintf("balance %s held %s, want %s and 0", b, held, want)
		}
		return ""
	})
	verifyLedger(t, url)
}

// verifyLedger checks, from the database, that every account's entries
// sum to its balance.
func verifyLedger(t *testing.T, url string) {
	t.Helper()
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func mustUSD(t *testing.T, s string) money.Nano {
	t.Helper()
	n, err := money.ParseUSD(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// TestKilledNodeLeaseComesBack: nodes killed with SIGKILL under load, ten
// times (a node is killed and started again each second), keep no credit:
// within the lease lifetime (credits.DefaultLeaseTTL, 15 s, plus 5 s of
// grace and one reclaim period) after the last kill every dead node's
// unspent lease is back on the account; the ledger sums to the balance;
// and every answer a client received whole was charged exactly once.
func TestKilledNodeLeaseComesBack(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 3, url, fakeUpstream(t))
	acct, token := nodes[0].accountWithKey("crash", "100")
	var mu sync.Mutex
	whole := map[string]bool{} // request ids of answers received whole
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 24 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				nd := nodes[w%3]
				mu.Unlock()
				if id, ok := nd.chatWhole(token); ok {
					mu.Lock()
					whole[id] = true
					mu.Unlock()
				}
			}
		})
	}
	kills := 10
	if testing.Short() {
		kills = 2
	}
	for i := range kills {
		time.Sleep(time.Second)
		nd := nodes[i%3]
		nd.kill()
		nd.start(url) // a new process: a new node name, new leases
	}
	killed := time.Now()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	nodes[1].noneHeld(acct, credits.DefaultLeaseTTL+15*time.Second, "the dead nodes' leases back")
	t.Logf("%d kills; %d answers received whole; every lease was back %s after the last kill",
		kills, len(whole), time.Since(killed).Round(time.Second))
	verifyLedger(t, url)
	charged := chargedRequests(t, url)
	for id := range whole {
		if charged[id] != 1 {
			t.Errorf("request %s received whole, charged %d times", id, charged[id])
		}
	}
	for id, n := range charged {
		if n > 1 {
			t.Errorf("request %s charged %d times", id, n)
		}
	}
}

// chatWhole sends one request and reports its id when the whole answer
// arrived.
func (nd *node) chatWhole(token string) (string, bool) {
	st, b, id := nd.send(token)
	return id, st == 200 && b != nil && json.Valid(b)
}

// chargedRequests counts, per request id, the usage entries of the
// ledger.
func chargedRequests(t *testing.T, url string) map[string]int {
	t.Helper()
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := l.Entries()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range entries {
		if e.Type == credits.Usage {
			out[e.RequestID]++
		}
	}
	return out
}

// TestDatabaseRestartUnderLoad: PostgreSQL stops (as a crash would) and
// comes back while two nodes serve: requests get 200 (covered by a lease
// the node holds) or a clean 503 storage_unavailable in the route's
// shape, nothing else; no request is charged twice; both nodes serve
// again by themselves once the database is back, and the ledger sums to
// the balance.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 2, url, fakeUpstream(t))
	// $20 at $0.01 a request: a lease covers at most 32 requests, so the
	// nodes run out of leased credit during the outage
	acct, token := nodes[0].accountWithKey("outage", "20")
	answers(t, nodes, token, 200, 2*time.Second, "serving")
	var mu sync.Mutex
	statuses := map[int]int{}
	var badShape atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			nd := nodes[w%2]
			for {
				select {
				case <-stop:
					return
				default:
				}
				st, body := nd.chatBody(token)
				if st == 503 && !strings.Contains(body, `"storage_unavailable"`) {
					badShape.Add(1)
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	time.Sleep(time.Second)
	testpg.Restart(t, 3*time.Second)
	// service resumes by itself
	for i, took := range answers(t, nodes, token, 200, 30*time.Second, "serving after the restart") {
		t.Logf("node %d served again %s after the database came back", i, took.Round(10*time.Millisecond))
	}
	close(stop)
	wg.Wait()
	t.Logf("statuses during the run: %v", statuses)
	// what settlements could not charge goes back with the leases
	nodes[1].noneHeld(acct, 15*time.Second, "the leases returned")
	for st := range statuses {
		if st != 200 && st != 503 {
			t.Errorf("%d requests answered %d", statuses[st], st)
		}
	}
	if n := badShape.Load(); n > 0 {
		t.Errorf("%d 503s without the storage_unavailable error", n)
	}
	if statuses[503] == 0 {
		t.Error("no request met the outage: the test did not exercise it")
	}
	verifyLedger(t, url)
	for id, n := range chargedRequests(t, url) {
		if n > 1 {
			t.Errorf("request %s charged %d times", id, n)
		}
	}
}

// chatBody sends one metered request; it returns the status and body.
func (nd *node) chatBody(token string) (int, string) {
	st, b, _ := nd.send(token)
	return st, string(b)
}

// TestKeyLimitsAcrossNodes: a key limited to 30 requests per minute gets
// 30 answers in the minute, not 30 per node: after one request on each of
// three nodes, 90 concurrent requests spread over them get the 27 left and
// 63 429s.
func TestKeyLimitsAcrossNodes(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 3, url, fakeUpstream(t))
	acct := nodes[0].create("/ai/accounts", `{"name":"limited"}`)["id"].(string)
	nodes[0].create("/ai/credits/purchases", `{"accountId":"`+acct+`","amount":"10"}`)
	cfg := nodes[0].create("/ai/access-key-configurations", `{"name":"30 a minute","limits":{"requestsPerMinute":30}}`)["id"].(string)
	token := nodes[0].create("/ai/access-keys", `{"accountId":"`+acct+`","accessKeyConfigurationId":"`+cfg+`"}`)["token"].(string)
	answers(t, nodes, token, 200, time.Second, "the key") // 3 of its 30
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Go(func() {
			st := nodes[i%3].chat(token)
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[200] != 27 || statuses[429] != 63 {
		t.Fatalf("statuses %v, want the 27 answers left in the minute and 63 429s", statuses)
	}
}

// TestGatewayConfigReachesEveryNode: a credit lifetime set in the gateway
// config through one node applies to a purchase made through another.
func TestGatewayConfigReachesEveryNode(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 2, url, fakeUpstream(t))
	if st, b := nodes[0].admin("PATCH", "/ai/gateway-config", `{"creditLifetime":"24h"}`); st != 200 {
		t.Fatalf("gateway config: %d %s", st, b)
	}
	eventually(t, time.Second, "a purchase on node 1 expiring after a day", func() string {
		p := nodes[1].create("/ai/credits/purchases", `{"accountId":"default","amount":"1"}`)
		created, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(p["createdAt"]))
		expires, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(p["expiresAt"]))
		if d := expires.Sub(created); d != 24*time.Hour {
			return fmt.Sprintf("lot expires %v after purchase (%v)", d, p)
		}
		return ""
	})
}

// TestHostileKeyHolderAcrossNodes: a key holder spreads hostile requests
// over three nodes of one small balance — huge max_tokens, a member given
// twice, a doubled credential header — concurrently: malformed ones get
// 400 or 401 and reach no provider, the rest can never take the balance
// below zero, and the ledger sums to the balance.
func TestHostileKeyHolderAcrossNodes(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 3, url, fakeUpstream(t))
	acct, token := nodes[0].accountWithKey("hostile", "0.05")
	answers(t, nodes, token, 200, time.Second, "the key")
	bodies := []struct {
		body string
		want []int // allowed statuses
	}{
		{`{"model":"metered:tenner","max_tokens":2000000000,"messages":[{"role":"user","content":"hi"}]}`, []int{200, 402}},
		{`{"model":"metered:tenner","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`, []int{200, 402}},
		// malformed: 400, or 402 once the balance is spent (ai_credits
		// refuses an empty account before ai_gateway reads the body);
		// never served
		{`{"model":"metered:tenner","max_tokens":9223372036854775808,"messages":[{"role":"user","content":"hi"}]}`, []int{400, 402}},
		{`{"model":"metered:tenner","max_tokens":1,"max_tokens":2000000000,"messages":[{"role":"user","content":"hi"}]}`, []int{400, 402}},
		{`{"model":"metered:tenner","messages":[{"role":"user","content":"hi"}],"n":128,"max_tokens":10}`, []int{200, 402}},
	}
	// While the balance is still there, every node meets each malformed
	// body with the body check (afterwards ai_credits may answer 402
	// first, which is also a refusal without a provider call).
	for _, nd := range nodes {
		for _, bi := range []int{2, 3} {
			req, _ := http.NewRequest("POST", "http://"+nd.httpAddr+"/v1/chat/completions", strings.NewReader(bodies[bi].body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Fatalf("malformed body %d on a funded account: %d, want 400", bi, resp.StatusCode)
			}
		}
	}
	var mu sync.Mutex
	bad := map[string]int{}
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			nd, b := nodes[i%3], bodies[i%len(bodies)]
			req, _ := http.NewRequest("POST", "http://"+nd.httpAddr+"/v1/chat/completions", strings.NewReader(b.body))
			req.Header.Set("Authorization", "Bearer "+token)
			if i%7 == 0 {
				req.Header.Add("X-Api-Key", token)
				req.Header.Add("X-Api-Key", token) // doubled: ambiguous
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ok := slices.Contains(b.want, resp.StatusCode) || (i%7 == 0 && resp.StatusCode == 401)
			mu.Lock()
			if !ok {
				bad[fmt.Sprintf("body %d → %d", i%len(bodies), resp.StatusCode)]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("unexpected answers: %v", bad)
	}
	nodes[0].noneHeld(acct, 10*time.Second, "the leases returned")
	if b, _ := nodes[1].balance(acct); mustUSD(t, b) < 0 {
		t.Fatalf("balance %s", b)
	}
	verifyLedger(t, url)
}

// TestReadinessFollowsDatabase: ai_health's readiness answers 503 while
// the database is down and 200 again once it is back, without a key;
// liveness stays 200 throughout.
func TestReadinessFollowsDatabase(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 1, url, fakeUpstream(t))
	nd := nodes[0]
	health := func(path string) (int, string) {
		resp, err := http.Get("http://" + nd.httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := health("/ready"); st != 200 || !strings.Contains(b, `"ready"`) {
		t.Fatalf("ready with the database up: %d %s", st, b)
	}
	var sawDown, liveDown atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if st, b := health("/ready"); st == 503 {
				if strings.Contains(b, "postgres") || strings.Contains(b, secretKey) {
					t.Errorf("readiness names the database or a key: %s", b)
				}
				sawDown.Store(true)
			}
			if st, _ := health("/live"); st != 200 {
				liveDown.Store(true)
			}
		}
	})
	testpg.Restart(t, 3*time.Second)
	close(stop)
	wg.Wait()
	if !sawDown.Load() {
		t.Error("readiness never answered 503 while the database was down")
	}
	if liveDown.Load() {
		t.Error("liveness failed while only the database was down")
	}
	eventually(t, 10*time.Second, "ready again after the restart", func() string {
		if st, b := health("/ready"); st != 200 {
			return fmt.Sprintf("%d %s", st, b)
		}
		return ""
	})
}
