package integration

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

func scrapeMetrics(t *testing.T, e *env) string {
	t.Helper()
	resp, err := http.Get("http://" + e.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue returns the value of the series with exactly these labels
// (0 when absent).
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestPrometheusMetrics: the gateway's metrics appear on Caddy's admin
// /metrics, with provider/model labels and no secrets. Collectors live as
// long as the process, so the test compares before and after.
func TestPrometheusMetrics(t *testing.T) {
	e := start(t, cfgOpts{})
	series := map[string]float64{
		`caddy_ai_gateway_requests_total{code="200",endpoint="chat.completions",model="gpt-4o-mini",provider="openai"}`: 3,
		`caddy_ai_gateway_attempts_total{model="gpt-4o",provider="openai",retry_action="next_backend"}`:                 1,
		`caddy_ai_gateway_failovers_total{model="gpt-4o",provider="openai",retry_action="next_backend"}`:                1,
		`caddy_ai_gateway_tokens_total{model="gpt-4o-mini",provider="openai",type="output"}`:                            30,
		`caddy_ai_gateway_time_to_first_token_seconds_count{model="gpt-4o-mini",provider="openai"}`:                     1,
		`caddy_ai_gateway_upstream_latency_seconds_count{model="gpt-4o-mini",provider="openai"}`:                        3,
	}
	before := scrapeMetrics(t, e)
	readAll(t, e.post("/v1/chat/completions", chatBody, e.bearer()))
	readAll(t, e.post("/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, e.bearer()))
	e.fake.SetOptions(fakeOptsFailModel("gpt-4o"))
	readAll(t, e.post("/v1/chat/completions", `{"model":"gpt-4o","models":["gpt-4o-mini"],"messages":[{"role":"user","content":"hi"}]}`, e.bearer()))
	after := scrapeMetrics(t, e)
	for s, delta := range series {
		if got := metricValue(after, s) - metricValue(before, s); got != delta {
			t.Errorf("%s grew by %v, want %v", s, got, delta)
		}
	}
	if !strings.Contains(after, `caddy_ai_gateway_cost_usd_total{model="gpt-4o-mini",provider="openai"}`) {
		t.Error("no cost metric")
	}
	for _, secret := range []string{"sk-managed", "cag_", e.token} {
		if strings.Contains(after, secret) {
			t.Fatalf("metrics contain %q", secret)
		}
	}
}

// TestRefusalMetrics: answers the gateway writes itself — from ai_auth,
// ai_credits and ai_gateway, before any provider is called — count in
// requests_total (provider and model "none") and in errors_total with
// their error code, once each.
func TestRefusalMetrics(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, ""))
	acct := e.createJSON("/ai/accounts", `{"name":"metrics"}`)["id"].(string)
	e.buy(acct, "1")
	keyWith := func(cfg string) map[string]string {
		id := e.createJSON("/ai/access-key-configurations", cfg)["id"].(string)
		tok := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`","accessKeyConfigurationId":"`+id+`"}`)["token"].(string)
		return map[string]string{"Authorization": "Bearer " + tok}
	}
	paying := keyWith(`{}`)
	limited := keyWith(`{"limits":{"requestsPerMinute":1}}`)
	restricted := keyWith(`{"access":{"models":{"allow":["metered:tenner"]}}}`)

	type refusal struct {
		status int
		code   string
		send   func() *http.Response
	}
	refusals := []refusal{
		{401, "invalid_access_key", func() *http.Response {
			return e.post("/v1/chat/completions", tenner, map[string]string{"Authorization": "Bearer cag_not-a-key"})
		}},
		{402, "insufficient_credits", func() *http.Response { return e.post("/v1/chat/completions", tenner, e.bearer()) }}, // the default account holds nothing
		{403, "model_not_allowed", func() *http.Response {
			return e.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, restricted)
		}},
		{413, "input_too_large", func() *http.Response {
			e.expectAdmin("PATCH", "/ai/gateway-config", `{"maxInputTokens":5}`, 200, "")
			defer e.expectAdmin("PATCH", "/ai/gateway-config", `{"maxInputTokens":null}`, 200, "")
			return e.post("/v1/chat/completions", `{"model":"metered:tenner","messages":[{"role":"user","content":"`+strings.Repeat("long ", 50)+`"}]}`, paying)
		}},
		{422, "no_matching_models", func() *http.Response {
			return e.post("/v1/chat/completions", `{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}`, paying)
		}},
		{429, "rate_limited", func() *http.Response {
			readAll(t, e.post("/v1/chat/completions", tenner, limited)) // the one allowed this minute
			return e.post("/v1/chat/completions", tenner, limited)
		}},
		{400, "invalid_request", func() *http.Response { return e.post("/v1/chat/completions", `{"model":`, paying) }},
		{404, "not_found", func() *http.Response { return e.post("/v1/no-such-endpoint", `{}`, paying) }},
	}
	for _, r := range refusals {
		t.Run(r.code, func(t *testing.T) {
			endpoint := "chat.completions"
			if r.code == "not_found" {
				endpoint = "other"
			}
			reqSeries := fmt.Sprintf(`caddy_ai_gateway_requests_total{code="%d",endpoint="%s",model="none",provider="none"}`, r.status, endpoint)
			errSeries := fmt.Sprintf(`caddy_ai_gateway_errors_total{code="%d",endpoint="%s",error="%s"}`, r.status, endpoint, r.code)
			before := scrapeMetrics(t, e)
			resp := r.send()
			b := readAll(t, resp)
			if resp.StatusCode != r.status || !strings.Contains(string(b), r.code) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, b, r.status, r.code)
			}
			after := scrapeMetrics(t, e)
			for _, s := range []string{reqSeries, errSeries} {
				if got := metricValue(after, s) - metricValue(before, s); got != 1 {
					t.Errorf("%s grew by %v, want 1", s, got)
				}
			}
		})
	}

	t.Run("method_not_allowed", func(t *testing.T) {
		s := `caddy_ai_gateway_requests_total{code="405",endpoint="chat.completions",model="none",provider="none"}`
		before := scrapeMetrics(t, e)
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.httpAddr+"/v1/chat/completions", nil)
		req.Header.Set("Authorization", paying["Authorization"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if resp.StatusCode != 405 {
			t.Fatalf("%d", resp.StatusCode)
		}
		if got := metricValue(scrapeMetrics(t, e), s) - metricValue(before, s); got != 1 {
			t.Errorf("%s grew by %v, want 1", s, got)
		}
	})

	// The attempt loop's own answers are not counted twice.
	t.Run("all_providers_failed once", func(t *testing.T) {
		e.fake.SetOptions(fakeprovider.Options{FailModels: map[string]int{"tenner": 503, "claude-cached": 503}})
		defer e.fake.SetOptions(fakeprovider.Options{})
		before := scrapeMetrics(t, e)
		resp := e.post("/v1/chat/completions", `{"model":"metered:tenner","models":["meteredant:claude-cached"],"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, paying)
		b := readAll(t, resp)
		after := scrapeMetrics(t, e)
		if resp.StatusCode != 502 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var total float64
		for _, line := range strings.Split(after, "\n") {
			if strings.HasPrefix(line, "caddy_ai_gateway_requests_total{") && strings.Contains(line, `code="502"`) {
				series, _, _ := strings.Cut(line, " ")
				total += metricValue(after, series) - metricValue(before, series)
			}
		}
		if total != 1 {
			t.Errorf("502 counted %v times in requests_total, want 1", total)
		}
	})
}

// requestsDelta sums requests_total over every series between two scrapes.
func requestsDelta(before, after string) float64 {
	var total float64
	for _, line := range strings.Split(after, "\n") {
		if strings.HasPrefix(line, "caddy_ai_gateway_requests_total{") {
			series, _, _ := strings.Cut(line, " ")
			total += metricValue(after, series) - metricValue(before, series)
		}
	}
	return total
}

// TestEachRequestCountedOnce: requests whose attempt loop retries the same
// key, runs out of time, or runs out of keys after a failure count once in
// requests_total.
func TestEachRequestCountedOnce(t *testing.T) {
	e := start(t, cfgOpts{})
	cf := failoverConfig(e, "ai_auth\n\tai_gateway")
	cf = strings.Replace(strings.Replace(cf, "per_request_timeout 5s", "per_request_timeout 200ms", 1), "total_timeout 10s", "total_timeout 300ms", 1)
	e.load(cf)
	for _, tc := range []struct {
		name, body string
		hdr        map[string]string
		status     int
	}{
		{"429 retried on the same key", `{"model":"openai:gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{fakeprovider.HeaderStatus: "429", fakeprovider.HeaderRetryAfter: "0.1"}, 429},
		{"failure, then a dead provider", `{"model":"openai:gpt-4o","models":["dead:dead-model"],"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{fakeprovider.HeaderStatus: "503"}, 502},
		{"total timeout", `{"model":"openai:gpt-4o","models":["spare:spare-model","other:gpt-4o"],"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{fakeprovider.HeaderLatency: "1s"}, 504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := e.bearer()
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			before := scrapeMetrics(t, e)
			resp := e.post("/v1/chat/completions", tc.body, hdr)
			b := readAll(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if got := requestsDelta(before, scrapeMetrics(t, e)); got != 1 {
				t.Fatalf("counted %v times in requests_total, want 1", got)
			}
		})
	}
}
