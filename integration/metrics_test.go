package integration

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
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
