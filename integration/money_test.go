package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// meteredAccount creates an account holding amount and an access key on it.
func (e *env) meteredAccount(name, amount string) (acct, token string) {
	e.t.Helper()
	acct = e.createJSON("/ai/accounts", `{"name":"`+name+`"}`)["id"].(string)
	token = e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`"}`)["token"].(string)
	if amount != "" {
		e.buy(acct, amount)
	}
	return acct, token
}

// upstreamOutputLimits returns the output limit member of every body the
// fake provider received.
func upstreamOutputLimits(t *testing.T, fake *fakeprovider.Server) []string {
	t.Helper()
	var out []string
	for _, r := range fake.Requests() {
		var v map[string]json.RawMessage
		mustJSON(t, r.Body, &v)
		var parts []string
		for _, k := range []string{"max_tokens", "max_completion_tokens", "max_output_tokens"} {
			if raw, ok := v[k]; ok {
				parts = append(parts, k+"="+string(raw))
			}
		}
		out = append(out, strings.Join(parts, ","))
	}
	return out
}

// TestHugeMaxTokensCannotOverspend: max_tokens 2,000,000,000 on the most
// expensive model, 200 at once on a $5.00 account. Before the fix the hold
// wrapped to zero and the balance went to −5.00. Now the output limit is
// clamped to the model's (and that is what the provider is sent), the hold
// covers it, and the balance never goes below zero.
func TestHugeMaxTokensCannotOverspend(t *testing.T) {
	e := start(t, cfgOpts{site: "ai_auth\n\tai_credits\n\tai_gateway"})
	acct, token := e.meteredAccount("hostile", "5.00")
	body := `{"model":"claude-opus-4-6","max_tokens":2000000000,"messages":[{"role":"user","content":"hi"}]}`
	var served, refused, other atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", "http://"+e.httpAddr+"/v1/messages", strings.NewReader(body))
			req.Header.Set("x-api-key", token)
			req.Header.Set("anthropic-version", "2023-06-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				other.Add(1)
				return
			}
			b := readAll(t, resp)
			switch resp.StatusCode {
			case 200:
				served.Add(1)
			case 402:
				refused.Add(1)
			default:
				other.Add(1)
				t.Logf("%d %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	bal, held, _ := e.balance(acct)
	t.Logf("served %d refused %d other %d; balance %s held %s", served.Load(), refused.Load(), other.Load(), bal, held)
	if other.Load() != 0 || served.Load() == 0 {
		t.Fatalf("served %d other %d", served.Load(), other.Load())
	}
	if n, _ := money.ParseUSD(bal); n < 0 || held != "0.00" {
		t.Fatalf("balance %s held %s", bal, held)
	}
	verifyLedger(t)
	for _, l := range upstreamOutputLimits(t, e.fake) {
		if l != "max_tokens=128000" {
			t.Fatalf("upstream body carried %q, want the model's limit max_tokens=128000", l)
		}
	}
	// One hold covers $3.21 of worst case: never two at once on $5.
	if served.Load() != int64(e.fake.Count()) {
		t.Fatalf("served %d, provider called %d times", served.Load(), e.fake.Count())
	}
}

// TestOutputLimitIsCanonical: the hold and the upstream body agree on the
// output limit, whatever the body's spelling.
func TestOutputLimitIsCanonical(t *testing.T) {
	e := start(t, cfgOpts{site: "ai_auth\n\tai_credits\n\tai_gateway"})
	_, token := e.meteredAccount("canon", "20.00")
	oa := map[string]string{"Authorization": "Bearer " + token}
	an := map[string]string{"x-api-key": token, "anthropic-version": "2023-06-01"}

	refused := []struct {
		name, path, body string
		hdr              map[string]string
	}{
		{"case variant on messages", "/v1/messages", `{"model":"gpt-4o","max_tokens":100000,"MAX_TOKENS":1,"messages":[{"role":"user","content":"hi"}]}`, an},
		{"case variant alone", "/v1/chat/completions", `{"model":"gpt-4o","Max_Tokens":1,"messages":[{"role":"user","content":"hi"}]}`, oa},
		{"duplicate member", "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":1,"max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}`, oa},
		{"chat fields disagree", "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":1,"max_completion_tokens":5000,"messages":[{"role":"user","content":"hi"}]}`, oa},
		{"model case variant", "/v1/chat/completions", `{"model":"gpt-4o","MODEL":"claude-opus-4-6","messages":[{"role":"user","content":"hi"}]}`, oa},
		{"float limit", "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":10.5,"messages":[{"role":"user","content":"hi"}]}`, an},
		{"exponent limit", "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":1e30,"messages":[{"role":"user","content":"hi"}]}`, an},
		{"string limit", "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":"10","messages":[{"role":"user","content":"hi"}]}`, oa},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := e.fake.Count()
			resp := e.post(tc.path, tc.body, tc.hdr)
			b := readAll(t, resp)
			if resp.StatusCode != 400 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if tc.path == "/v1/messages" {
				if !strings.Contains(string(b), `"type":"error"`) || !strings.Contains(string(b), `"invalid_request_error"`) {
					t.Fatalf("not an Anthropic error: %s", b)
				}
			} else if !strings.Contains(string(b), `"code":"invalid_request"`) {
				t.Fatalf("not an OpenAI error: %s", b)
			}
			if e.fake.Count() != before {
				t.Fatal("the provider was called")
			}
		})
	}

	served := []struct {
		name, path, body string
		hdr              map[string]string
		want             string
	}{
		// translated: messages → an OpenAI provider; the limit is clamped to gpt-4o's 16,384
		{"messages to openai, clamped", "/v1/messages", `{"model":"gpt-4o","max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}`, an, "max_completion_tokens=16384"},
		// translated: chat → anthropic with no limit: the model's, written out
		{"chat to anthropic, none given", "/v1/chat/completions", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`, oa, "max_tokens=64000"},
		{"chat, both fields agree", "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":50,"max_completion_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, oa, "max_completion_tokens=50"},
		{"chat, none given", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, oa, "max_completion_tokens=16384"},
		{"chat legacy field kept", "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`, oa, "max_tokens=20"},
		{"messages within limit", "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":30,"messages":[{"role":"user","content":"hi"}]}`, an, "max_tokens=30"},
	}
	for _, tc := range served {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.Reset()
			resp := e.post(tc.path, tc.body, tc.hdr)
			b := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if got := upstreamOutputLimits(t, e.fake); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("upstream limits %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNoEmptySuccess: a lone streaming attempt that stalls or is cut
// before its first content gets an error answer in the route's shape, not
// an empty 200.
func TestNoEmptySuccess(t *testing.T) {
	e := start(t, cfgOpts{site: "ai_auth\n\tai_gateway {\n\t\tfailover {\n\t\t\tfirst_token_timeout 300ms\n\t\t}\n\t}"})
	for _, tc := range []struct {
		name, path, body string
		hdr              map[string]string
	}{
		{"openai stalls", "/v1/chat/completions", `{"model":"openai:gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`, map[string]string{fakeprovider.HeaderStallBefore: "5s"}},
		{"openai cut", "/v1/chat/completions", `{"model":"openai:gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`, map[string]string{fakeprovider.HeaderCutAfter: "1"}},
		{"anthropic stalls", "/v1/messages", `{"model":"anthropic:claude-haiku-4-5","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, map[string]string{fakeprovider.HeaderStallBefore: "5s"}},
		{"anthropic cut", "/v1/messages", `{"model":"anthropic:claude-haiku-4-5","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, map[string]string{fakeprovider.HeaderCutAfter: "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := e.bearer()
			if tc.path == "/v1/messages" {
				hdr = e.anthropicHdr()
			}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			resp := e.post(tc.path, tc.body, hdr)
			b := readAll(t, resp)
			if resp.StatusCode != http.StatusBadGateway || len(b) == 0 {
				t.Fatalf("%d %q", resp.StatusCode, b)
			}
			if !strings.Contains(string(b), "all_providers_failed") || resp.Header.Get("AI-Gateway-Attempts") != "1" {
				t.Fatalf("%s (attempts %q)", b, resp.Header.Get("AI-Gateway-Attempts"))
			}
			if tc.path == "/v1/messages" && !strings.Contains(string(b), `"type":"error"`) {
				t.Fatalf("not an Anthropic error: %s", b)
			}
		})
	}
}

// TestSingleModel429PassesThrough: a lone model answering 429 with a short
// Retry-After is retried once; the client then gets the 429 (with its
// Retry-After, so its SDK backs off), not a 502.
func TestSingleModel429PassesThrough(t *testing.T) {
	e := start(t, cfgOpts{})
	e.fake.SetOptions(fakeprovider.Options{FailStatus: 429, RetryAfter: "1"})
	defer e.fake.SetOptions(fakeprovider.Options{})
	resp := e.post("/v1/chat/completions", `{"model":"openai:gpt-4o","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
	b := readAll(t, resp)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("%d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if e.fake.Count() != 2 {
		t.Fatalf("provider called %d times, want the retry once", e.fake.Count())
	}
}

// TestProviderKeyNeverReachesTheClient: a provider (or a proxy before it)
// that echoes the key in a response header: the header is dropped.
func TestProviderKeyNeverReachesTheClient(t *testing.T) {
	e := start(t, cfgOpts{})
	for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
		hdr := e.bearer()
		model := "openai:gpt-4o"
		if path == "/v1/messages" {
			hdr, model = e.anthropicHdr(), "anthropic:claude-haiku-4-5"
		}
		hdr[fakeprovider.HeaderEchoKey] = "1"
		for _, stream := range []bool{false, true} {
			resp := e.post(path, fmt.Sprintf(`{"model":%q,"max_tokens":10,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, model, stream), hdr)
			b := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
			}
			for k, v := range resp.Header {
				if s := strings.Join(v, " "); strings.Contains(s, "managed-") || strings.Contains(s, "0123456789abcdef") {
					t.Fatalf("%s stream=%v: header %s carries the provider key: %s", path, stream, k, s)
				}
			}
		}
	}
	// the same with an error answer passed through
	hdr := e.bearer()
	hdr[fakeprovider.HeaderEchoKey] = "1"
	hdr[fakeprovider.HeaderStatus] = "400"
	resp := e.post("/v1/chat/completions", `{"model":"openai:gpt-4o","messages":[{"role":"user","content":"hi"}]}`, hdr)
	readAll(t, resp)
	if resp.StatusCode != 400 || resp.Header.Get("X-Echo-Key") != "" {
		t.Fatalf("%d, X-Echo-Key %q", resp.StatusCode, resp.Header.Get("X-Echo-Key"))
	}
}

// TestContinuationNeedsCredit: a stream that stalls after content is
// continued only when the balance covers the continuation's worst case;
// otherwise it ends with a well-formed error event, and the balance stays
// at or above zero.
func TestContinuationNeedsCredit(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{site: "ai_auth\n\tai_credits\n\tai_gateway {\n\t\tfailover {\n\t\t\tstream_idle_timeout 300ms\n\t\t}\n\t}",
		extraAI: `min_purchase 0.000001
		provider cheap {
			format openai
			base_url ` + e.fakeURL + `/cheap/v1
			api_key cheap-key-0123456789
			model first {
				input_price 0
				output_price 1000
				max_output_tokens 50
			}
			model second {
				input_price 0
				output_price 1000
				max_output_tokens 50
			}
		}`}))
	e.fake.SetOptions(fakeprovider.Options{StallModels: map[string]int{"first": 4}, StallFor: 10 * time.Second})
	defer e.fake.SetOptions(fakeprovider.Options{})
	body := `{"model":"cheap:first","models":["cheap:second"],"max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

	t.Run("covered", func(t *testing.T) {
		_, token := e.meteredAccount("rich", "1.00")
		events := sseData(t, e.post("/v1/chat/completions", body, map[string]string{"Authorization": "Bearer " + token}))
		if events[len(events)-1] != "[DONE]" || strings.Contains(strings.Join(events, "\n"), `"error"`) {
			t.Fatalf("not continued: %q", events)
		}
	})
	t.Run("not covered", func(t *testing.T) {
		// one hold is 50 × $1000/1M = $0.05; $0.06 cannot cover a second
		acct, token := e.meteredAccount("poor", "0.06")
		events := sseData(t, e.post("/v1/chat/completions", body, map[string]string{"Authorization": "Bearer " + token}))
		last := events[len(events)-1]
		if !strings.Contains(last, `"stream_interrupted"`) || !strings.Contains(last, "credits cannot cover") {
			t.Fatalf("last event %q", last)
		}
		bal, held, _ := e.balance(acct)
		if n, _ := money.ParseUSD(bal); n < 0 || held != "0.00" {
			t.Fatalf("balance %s held %s", bal, held)
		}
		verifyLedger(t)
	})
}

// TestMissingUsageEstimatesTheText: an answer without usage is estimated
// from its generated text, not its JSON envelope.
func TestMissingUsageEstimatesTheText(t *testing.T) {
	e := start(t, cfgOpts{})
	hdr := e.bearer()
	hdr[fakeprovider.HeaderOmitUsage] = "1"
	hdr[fakeprovider.HeaderReply] = "Hello there, friend."
	resp := e.post("/v1/chat/completions", `{"model":"openai:gpt-4o","messages":[{"role":"user","content":"hi"}]}`, hdr)
	b := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	// 20 bytes of text ≈ 5 tokens; the whole body is ~10× that
	if !ev.UsageEstimated || ev.OutputTokens < 1 || ev.OutputTokens > 8 {
		t.Fatalf("estimated %v, %d output tokens (body %d bytes)", ev.UsageEstimated, ev.OutputTokens, len(b))
	}
}
