package caddyaigateway

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// testRegistry registers the gateway's collectors (process-wide, like
// Caddy's) in a fresh registry.
func testRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := initMetrics(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

// series counts the label sets per metric family.
func series(t *testing.T, reg *prometheus.Registry) map[string]int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, mf := range mfs {
		out[mf.GetName()] = len(mf.GetMetric())
	}
	return out
}

// counter reads one series' value (0 when absent).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestMetricLabelsBounded: 10,000 requests for distinct made-up model
// names (pass-through) and paths leave every label set bounded.
func TestMetricLabelsBounded(t *testing.T) {
	reg := testRegistry(t)
	p := &registry.Provider{Provider: &catalog.Provider{ID: "openai"}}
	known := registry.Target{Provider: p, Model: &catalog.Model{ID: "gpt-4o"}, Name: "gpt-4o"}
	observeAttempt(known, &store.UsageEvent{RetryAction: actionSucceeded, InputTokens: 1, OutputTokens: 1, Cost: 1}, 1)
	before := series(t, reg)
	for i := range 10_000 {
		name := fmt.Sprintf("made-up-%d-%x", i, rand.Uint64())
		tg := registry.Target{Provider: p, Name: name}
		ev := &store.UsageEvent{RetryAction: []string{actionSucceeded, actionNextBack, actionExhausted}[i%3], InputTokens: 3, OutputTokens: 5, Cost: 7, LatencyMs: 12}
		observeAttempt(tg, ev, 1)
		observeRequest("chat.completions", &attempt{target: tg}, 200)
		observeError("/v1/"+name, apierr.New(http.StatusNotFound, apierr.NotFound, "no such endpoint"))
		observeError("/"+name+"/v1/chat/completions", apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, "no provider serves "+name))
	}
	after := series(t, reg)
	for name, n := range after {
		if grew := n - before[name]; grew > 8 {
			t.Errorf("%s grew by %d label sets", name, grew)
		}
	}
	if got := counter(t, reg, "caddy_ai_gateway_requests_total", map[string]string{"endpoint": "chat.completions", "provider": "openai", "model": "other", "code": "200"}); got < 10_000 {
		t.Errorf("pass-through requests not counted as model other: %v", got)
	}
}

// TestWriteErrorCounts: every error answer the gateway writes itself is
// counted once: refusals in requests_total and errors_total; the attempt
// loop's own answers (all_providers_failed, total_timeout,
// provider_auth_failed), which outcome.go already counts in requests_total,
// only in errors_total.
func TestWriteErrorCounts(t *testing.T) {
	reg := testRegistry(t)
	for _, tc := range []struct {
		path        string
		err         *apierr.Error
		endpoint    string
		inRequests  bool
		requestCode string
	}{
		{"/v1/chat/completions", apierr.New(401, apierr.InvalidAccessKey, "x"), "chat.completions", true, "401"},
		{"/v1/messages", apierr.New(402, apierr.InsufficientCredits, "x"), "messages", true, "402"},
		{"/v1/chat/completions", apierr.New(403, apierr.ModelNotAllowed, "x"), "chat.completions", true, "403"},
		{"/v1/chat/completions", apierr.New(413, apierr.InputTooLarge, "x"), "chat.completions", true, "413"},
		{"/v1/responses", apierr.New(422, apierr.NoMatchingModels, "x"), "responses", true, "422"},
		{"/v1/chat/completions", apierr.New(429, apierr.RateLimited, "x"), "chat.completions", true, "429"},
		{"/v1/embeddings", apierr.New(400, apierr.InvalidRequest, "x"), "embeddings", true, "400"},
		{"/v1/nope", apierr.New(404, apierr.NotFound, "x"), "other", true, "404"},
		{"/v1/models", apierr.New(405, apierr.MethodNotAllowed, "x"), "models", true, "405"},
		{"/v1/chat/completions", apierr.New(502, apierr.AllProvidersFailed, "x"), "chat.completions", false, "502"},
		{"/v1/chat/completions", apierr.New(504, apierr.TotalTimeout, "x"), "chat.completions", false, "504"},
		{"/v1/messages", apierr.New(502, apierr.ProviderAuthFailed, "x"), "messages", false, "502"},
	} {
		t.Run(tc.err.Code, func(t *testing.T) {
			reqLabels := map[string]string{"endpoint": tc.endpoint, "provider": "none", "model": "none", "code": tc.requestCode}
			errLabels := map[string]string{"endpoint": tc.endpoint, "code": tc.requestCode, "error": tc.err.Code}
			reqBefore := counter(t, reg, "caddy_ai_gateway_requests_total", reqLabels)
			errBefore := counter(t, reg, "caddy_ai_gateway_errors_total", errLabels)
			w := httptest.NewRecorder()
			if err := writeError(w, httptest.NewRequest(http.MethodPost, tc.path, nil), tc.err); err != nil || w.Code != tc.err.Status {
				t.Fatalf("writeError: %v, status %d", err, w.Code)
			}
			wantReq := 0.0
			if tc.inRequests {
				wantReq = 1
			}
			if got := counter(t, reg, "caddy_ai_gateway_requests_total", reqLabels) - reqBefore; got != wantReq {
				t.Errorf("requests_total grew by %v, want %v", got, wantReq)
			}
			if got := counter(t, reg, "caddy_ai_gateway_errors_total", errLabels) - errBefore; got != 1 {
				t.Errorf("errors_total grew by %v, want 1", got)
			}
		})
	}
}
