package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// creditsConfig: credits on, a provider "metered" whose model costs
// exactly 1 USD per 1M output tokens and nothing for input, so a request
// with max_tokens 10 (the fake answers 10 words = 10 tokens) costs
// exactly 0.00001 USD and reserves exactly that.
func creditsConfig(e *env, extra string) string {
	return e.caddyfile(cfgOpts{site: "ai_auth\n\tai_credits\n\tai_gateway", extraAI: `min_purchase 0.00001
		` + extra + `
		provider metered {
			format openai
			base_url ` + e.fakeURL + `/v1
			api_key metered-key-0123456789
			model tenner {
				input_price 0
				output_price 1
				max_output_tokens 10
			}
			model unpriced-model {
				max_output_tokens 10
			}
		}
		provider meteredant {
			format anthropic
			base_url ` + e.fakeURL + `
			api_key metered-ant-0123456789
			model claude-cached {
				input_price 3
				output_price 15
				cache_read_price 0.30
				cache_write_price 3.75
				max_output_tokens 100
			}
		}`})
}

const tenner = `{"model":"metered:tenner","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`

func (e *env) balance(accountID string) (balance, held, available string) {
	e.t.Helper()
	b := e.expectAdmin("GET", "/ai/credits/balance?accountId="+accountID, "", 200, "")
	var v struct{ Balance, Held, Available string }
	mustJSON(e.t, b, &v)
	return v.Balance, v.Held, v.Available
}

func (e *env) buy(accountID, amount string) {
	e.t.Helper()
	e.expectAdmin("POST", "/ai/credits/purchases", `{"accountId":"`+accountID+`","amount":"`+amount+`"}`, 201, "")
}

func verifyLedger(t *testing.T) {
	t.Helper()
	if err := caddyaigateway.Current().Manage().Ledger().Verify(); err != nil {
		t.Fatalf("ledger invariant: %v", err)
	}
}

// TestConcurrentSpendersExactBalance: 1,000 concurrent requests on an
// account that pays for exactly 500.
func TestConcurrentSpendersExactBalance(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, ""))
	acct := e.createJSON("/ai/accounts", `{"name":"spender"}`)["id"].(string)
	token := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
	e.buy(acct, "0.005") // 500 × 0.00001

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}
	var served, refused, other atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", "http://"+e.httpAddr+"/v1/chat/completions", strings.NewReader(tenner))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				other.Add(1)
				return
			}
			b := readAll(t, resp)
			switch {
			case resp.StatusCode == 200:
				served.Add(1)
			case resp.StatusCode == 402 && strings.Contains(string(b), "insufficient_credits"):
				refused.Add(1)
			default:
				other.Add(1)
				t.Logf("unexpected %d %s", resp.StatusCode, b)
			}
		}()
	}
	close(start)
	wg.Wait()
	bal, held, _ := e.balance(acct)
	t.Logf("served %d, refused %d, other %d; balance %s held %s", served.Load(), refused.Load(), other.Load(), bal, held)
	if served.Load() > 500 || other.Load() != 0 || served.Load()+refused.Load() != 1000 {
		t.Fatalf("served %d refused %d other %d", served.Load(), refused.Load(), other.Load())
	}
	if served.Load() != 500 {
		t.Fatalf("exact reservations should serve exactly 500, served %d", served.Load())
	}
	if bal != "0.00" || held != "0.00" {
		t.Fatalf("balance %s held %s", bal, held)
	}
	verifyLedger(t)
	// the provider was called only for served requests
	if n := e.fake.Count(); n != 500 {
		t.Fatalf("provider called %d times", n)
	}
}

// TestCreditsLifecycle: a new user buys credits, spends them, hits 402,
// tops up and flows again; the transactions explain every nano-dollar.
func TestCreditsLifecycle(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, "processing_fee 0.5"))
	acct := e.createJSON("/ai/accounts", `{"name":"user"}`)["id"].(string)
	token := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
	hdr := map[string]string{"Authorization": "Bearer " + token}

	resp := e.post("/v1/chat/completions", tenner, hdr)
	b := readAll(t, resp)
	if resp.StatusCode != 402 || e.fake.Count() != 0 {
		t.Fatalf("no credits: %d %s", resp.StatusCode, b)
	}
	var ae anthropicError
	resp = e.post("/v1/messages", `{"model":"meteredant:claude-cached","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": token, "anthropic-version": "2023-06-01"})
	mustJSON(t, readAll(t, resp), &ae)
	if resp.StatusCode != 402 || ae.Error.Type != "billing_error" {
		t.Fatalf("anthropic shape 402: %d %+v", resp.StatusCode, ae)
	}

	// minimum purchase and idempotency
	e.expectAdmin("POST", "/ai/credits/purchases", `{"accountId":"`+acct+`","amount":"0.000001"}`, 400, "minimum")
	e.expectAdmin("POST", "/ai/credits/purchases", `{"accountId":"acct_nope","amount":"1"}`, 400, "accountId")
	e.expectAdmin("POST", "/ai/credits/purchases", `{"accountId":"`+acct+`","amount":1}`, 400, "amount")
	purchase := func(amount, key string, want int) {
		req, _ := http.NewRequest("POST", "http://"+e.adminAddr+"/ai/credits/purchases", strings.NewReader(`{"accountId":"`+acct+`","amount":"`+amount+`"}`))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		if resp.StatusCode != want {
			t.Fatalf("purchase %s %s: %d %s", amount, key, resp.StatusCode, b)
		}
	}
	purchase("0.00007", "order-1", 201)
	purchase("0.00007", "order-1", 200) // retried: not double-counted
	purchase("0.0003", "order-1", 409)
	if bal, _, _ := e.balance(acct); bal != "0.00007" {
		t.Fatalf("after idempotent purchase: %s", bal)
	}

	// each request: 10 output tokens at 1 USD/1M = 0.00001, plus a 0.5 USD/1M
	// processing fee on its 11 tokens = 0.0000055
	served := 0
	for i := 0; i < 5; i++ {
		resp := e.post("/v1/chat/completions", tenner, hdr)
		readAll(t, resp)
		if resp.StatusCode == 402 {
			break
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%d", resp.StatusCode)
		}
		if got := resp.Header.Get("AI-Gateway-Cost-USD"); got != "0.0000155" {
			t.Fatalf("cost header %q", got)
		}
		served++
	}
	if served != 1 {
		// 0.00007 pays for one 0.0000155 request; the worst case of the next
		// (0.000066: its 86 bytes + 16 tokens of input and 10 of output at
		// the 0.5 USD/1M fee, plus 10 output tokens at 1 USD/1M) exceeds the
		// 0.0000545 left
		t.Fatalf("served %d", served)
	}
	purchase("0.001", "order-2", 201)
	resp = e.post("/v1/chat/completions", tenner, hdr)
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("after top-up: %d", resp.StatusCode)
	}
	b = e.expectAdmin("GET", "/ai/credits/transactions?accountId="+acct, "", 200, "")
	var txs struct {
		Transactions []struct {
			Type, Amount, BalanceAfter, RequestID string
		}
	}
	mustJSON(t, b, &txs)
	types := []string{}
	for _, x := range txs.Transactions {
		types = append(types, x.Type+":"+x.Amount)
	}
	want := "fee:-0.0000055,usage:-0.00001,purchase:0.001,fee:-0.0000055,usage:-0.00001,purchase:0.00007"
	if strings.Join(types, ",") != want {
		t.Fatalf("transactions %s\nwant %s", strings.Join(types, ","), want)
	}
	if bal, _, _ := e.balance(acct); bal != "0.001039" || txs.Transactions[0].BalanceAfter != "0.001039" {
		t.Fatalf("balance %s, newest balanceAfter %s", bal, txs.Transactions[0].BalanceAfter)
	}
	// paging
	b = e.expectAdmin("GET", "/ai/credits/transactions?accountId="+acct+"&limit=4", "", 200, "nextPageUri")
	var page struct{ NextPageURI *string }
	mustJSON(t, b, &page)
	if page.NextPageURI == nil {
		t.Fatal("no next page")
	}
	e.expectAdmin("GET", *page.NextPageURI, "", 200, `"type":"purchase"`)
	// an account holding credits cannot be deleted
	rich := e.createJSON("/ai/accounts", `{"name":"rich"}`)["id"].(string)
	e.buy(rich, "1")
	e.expectAdmin("DELETE", "/ai/accounts/"+rich, "", 409, "credits")
	verifyLedger(t)
}

func TestCreditsStreamsAndCache(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, ""))
	acct := e.createJSON("/ai/accounts", `{"name":"streamer"}`)["id"].(string)
	token := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
	e.buy(acct, "1")
	hdr := func(extra ...string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + token}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	lastCharge := func() (usageAmt string, estimated bool, reqID string) {
		b := e.expectAdmin("GET", "/ai/credits/transactions?accountId="+acct+"&limit=1", "", 200, "")
		var v struct {
			Transactions []struct{ Type, Amount, RequestID string }
		}
		mustJSON(t, b, &v)
		return v.Transactions[0].Amount, false, v.Transactions[0].RequestID
	}
	streamBody := `{"model":"metered:tenner","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

	t.Run("normal stream", func(t *testing.T) {
		resp := e.post("/v1/chat/completions", streamBody, hdr())
		sseData(t, resp)
		amt, _, rid := lastCharge()
		if amt != "-0.00001" || rid != resp.Header.Get("AI-Gateway-Request-Id") {
			t.Fatalf("charged %s for %s", amt, rid)
		}
	})

	t.Run("stream the provider cuts", func(t *testing.T) {
		resp := e.post("/v1/chat/completions", streamBody, hdr("X-Fake-Cut-After", "5"))
		readAll(t, resp)
		ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
		amt, _, rid := lastCharge()
		if rid != resp.Header.Get("AI-Gateway-Request-Id") || !ev.UsageEstimated || amt == "-0.00001" || amt == "0.00" {
			t.Fatalf("cut stream charged %s (event %+v)", amt, ev)
		}
	})

	t.Run("stream the client abandons", func(t *testing.T) {
		req, _ := http.NewRequest("POST", "http://"+e.httpAddr+"/v1/chat/completions", strings.NewReader(streamBody))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Fake-Stall-After", "4")
		req.Header.Set("X-Fake-Stall-For", "10s")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		got := ""
		for !strings.Contains(got, `from`) {
			n, err := resp.Body.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got += string(buf[:n])
		}
		resp.Body.Close()
		rid := resp.Header.Get("AI-Gateway-Request-Id")
		deadline := time.Now().Add(3 * time.Second)
		for {
			amt, _, last := lastCharge()
			if last == rid {
				if amt == "0.00" || amt == "-0.00001" {
					t.Fatalf("abandoned stream charged %s", amt)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("abandoned stream never charged")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, held, _ := e.balance(acct); held != "0.00" {
			t.Fatalf("hold not released: %s", held)
		}
	})

	t.Run("cache tokens priced once", func(t *testing.T) {
		e.fake.SetOptions(fakeprovider.Options{CacheReadTokens: 1000, CacheWriteTokens: 2000})
		defer e.fake.SetOptions(fakeprovider.Options{})
		// a prompt long enough that its hold covers the cache tokens the
		// fake reports (a charge never exceeds its hold)
		resp := e.post("/v1/messages", `{"model":"meteredant:claude-cached","max_tokens":100,"messages":[{"role":"user","content":"`+strings.Repeat("hi ", 1500)+`"}]}`,
			map[string]string{"x-api-key": token, "anthropic-version": "2023-06-01"})
		b := readAll(t, resp)
		var m struct {
			Usage struct {
				InputTokens  int64 `json:"input_tokens"`
				OutputTokens int64 `json:"output_tokens"`
			}
		}
		mustJSON(t, b, &m)
		// input 3/1M, output 15/1M, cache read 0.30/1M ×1000, cache write 3.75/1M ×2000
		wantNano := m.Usage.InputTokens*3000 + m.Usage.OutputTokens*15000 + 1000*300 + 2000*3750
		amt, _, _ := lastCharge()
		if want := fmt.Sprintf("-%s", nanoString(wantNano)); amt != want {
			t.Fatalf("charged %s, want %s", amt, want)
		}
	})
	verifyLedger(t)
}

func nanoString(n int64) string {
	b, _ := json.Marshal(nanoMoney(n))
	return strings.Trim(string(b), `"`)
}

func TestCreditsByokUnpricedAndLimits(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, ""))
	acct := e.createJSON("/ai/accounts", `{"name":"byok"}`)["id"].(string)
	pk := e.createJSON("/ai/provider-keys", `{"providerId":"metered","accountId":"`+acct+`","value":"customer-metered-key-1"}`)["id"].(string)
	cfg := e.createJSON("/ai/access-key-configurations", `{"router":{"rules":[{"provider":"metered","steps":[{"type":"user","keys":["`+pk+`"]}]}]}}`)["id"].(string)
	token := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`","accessKeyConfigurationId":"`+cfg+`"}`)["token"].(string)
	hdr := map[string]string{"Authorization": "Bearer " + token}

	t.Run("BYOK flows at zero balance", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			resp := e.post("/v1/chat/completions", tenner, hdr)
			readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%d", resp.StatusCode)
			}
		}
		assertKeySwap(t, e, "Authorization", "Bearer customer-metered-key-1")
		if bal, _, _ := e.balance(acct); bal != "0.00" {
			t.Fatalf("BYOK charged: %s", bal)
		}
		// a managed model for the same key still needs credits
		resp := e.post("/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, hdr)
		readAll(t, resp)
		if resp.StatusCode != 402 {
			t.Fatalf("managed at zero: %d", resp.StatusCode)
		}
	})

	t.Run("BYOK fee is charged when set", func(t *testing.T) {
		e.expectAdmin("PATCH", "/ai/gateway-config", `{"byokFee":"100"}`, 200, `"byokFee":"100.00"`)
		defer e.expectAdmin("PATCH", "/ai/gateway-config", `{"byokFee":null}`, 200, "")
		resp := e.post("/v1/chat/completions", tenner, hdr)
		readAll(t, resp)
		if resp.StatusCode != 402 {
			t.Fatalf("BYOK with a fee at zero balance: %d", resp.StatusCode)
		}
		e.buy(acct, "1")
		resp = e.post("/v1/chat/completions", tenner, hdr)
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Cost-USD") != "0.0011" {
			t.Fatalf("%d cost %q", resp.StatusCode, resp.Header.Get("AI-Gateway-Cost-USD"))
		}
	})

	t.Run("unpriced managed model refused", func(t *testing.T) {
		mtoken := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
		e.fake.Reset()
		resp := e.post("/v1/chat/completions", `{"model":"metered:unpriced-model","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"Authorization": "Bearer " + mtoken})
		b := readAll(t, resp)
		if resp.StatusCode != 422 || !strings.Contains(string(b), "model_not_priced") || !strings.Contains(string(b), "metered:unpriced-model") || e.fake.Count() != 0 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("limits", func(t *testing.T) {
		lcfg := func(limits string) string {
			id := e.createJSON("/ai/access-key-configurations", `{"limits":`+limits+`}`)["id"].(string)
			return e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`","accessKeyConfigurationId":"`+id+`"}`)["token"].(string)
		}
		cases := []struct {
			name, limits string
			ok           int
		}{
			{"requestsPerMinute", `{"requestsPerMinute":2}`, 2},
			{"tokensPerMinute", `{"tokensPerMinute":130}`, 2}, // each reserves 112 (86 body bytes + 16 of input, 10 of output) and settles 11
			{"spendPerDay", `{"spendPerDay":"0.00002"}`, 2},   // 0.00001 each
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				tok := lcfg(c.limits)
				for i := 0; i <= c.ok; i++ {
					resp := e.post("/v1/chat/completions", tenner, map[string]string{"Authorization": "Bearer " + tok})
					b := readAll(t, resp)
					if i < c.ok && resp.StatusCode != 200 {
						t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
					}
					if i == c.ok {
						var v openAIError
						mustJSON(t, b, &v)
						if resp.StatusCode != 429 || v.Error.Code != "rate_limited" || resp.Header.Get("Retry-After") == "" || !strings.Contains(v.Error.Message, c.name) && !strings.Contains(v.Error.Message, "per") {
							t.Fatalf("over the limit: %d %v %s", resp.StatusCode, resp.Header, b)
						}
					}
				}
			})
		}
	})
	verifyLedger(t)
}

func TestCreditExpiryAndLowBalanceWebhook(t *testing.T) {
	var hooks []map[string]any
	var mu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		mu.Lock()
		hooks = append(hooks, v)
		mu.Unlock()
	}))
	defer hook.Close()
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, "credit_lifetime 1s\n\t\tlow_balance_thresholds 0.000025 0.00001\n\t\tlow_balance_webhook "+hook.URL))
	acct := e.createJSON("/ai/accounts", `{"name":"lapsing"}`)["id"].(string)
	token := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
	e.buy(acct, "0.00003")
	b := e.expectAdmin("GET", "/ai/credits/balance?accountId="+acct, "", 200, `"nextExpiry":{`)
	_ = b
	resp := e.post("/v1/chat/completions", tenner, map[string]string{"Authorization": "Bearer " + token})
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	time.Sleep(1100 * time.Millisecond)
	resp = e.post("/v1/chat/completions", tenner, map[string]string{"Authorization": "Bearer " + token})
	readAll(t, resp)
	if resp.StatusCode != 402 {
		t.Fatalf("expired credits still spendable: %d", resp.StatusCode)
	}
	e.expectAdmin("GET", "/ai/credits/transactions?accountId="+acct+"&limit=1", "", 200, `"type":"expiry","amount":"-0.00002"`)
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(hooks)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 2 || hooks[0]["threshold"] != "0.000025" || hooks[1]["threshold"] != "0.00001" || hooks[0]["accountId"] != acct {
		t.Fatalf("webhooks %v", hooks)
	}
	verifyLedger(t)
}

// TestUsageOverviewShowsCredits: the overview of an account shows what the
// range spent (cost + fees) and the balance and holds now.
func TestUsageOverviewShowsCredits(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, "processing_fee 0.5"))
	acct := e.createJSON("/ai/accounts", `{"name":"o"}`)["id"].(string)
	token := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
	e.buy(acct, "1")
	for i := 0; i < 2; i++ {
		resp := e.post("/v1/chat/completions", tenner, map[string]string{"Authorization": "Bearer " + token})
		readAll(t, resp)
		e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1) // usage events are group-committed
	}
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	b := e.expectAdmin("GET", "/ai/usage/overview?from="+from+"&to="+to+"&accountId="+acct, "", 200, "")
	var v struct {
		Totals struct {
			Requests          int64
			Cost, Fees, Spent string
		}
		Credits struct{ Balance, Held, Available string }
	}
	mustJSON(t, b, &v)
	if v.Totals.Requests != 2 || v.Totals.Cost != "0.00002" || v.Totals.Fees != "0.000011" || v.Totals.Spent != "0.000031" ||
		v.Credits.Balance != "0.999969" || v.Credits.Held != "0.00" {
		t.Fatalf("overview %s", b)
	}
}
