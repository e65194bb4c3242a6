package caddyaigateway

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Prometheus metrics, exposed through Caddy's metrics (the admin
// endpoint's /metrics, or the `metrics` handler). Labels carry provider,
// model, endpoint, status, error code and retry action only: never keys,
// tokens or anything a client controls beyond catalog model names and
// known endpoints (unknown model names and paths are reported as "other"
// to bound cardinality).
var metrics = struct {
	once      sync.Once
	requests  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	failovers *prometheus.CounterVec
	tokens    *prometheus.CounterVec
	cost      *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	ttft      *prometheus.HistogramVec
	firewall  *prometheus.CounterVec
}{}

func initMetrics(reg prometheus.Registerer) error {
	const ns, sub = "caddy", "ai_gateway"
	metrics.once.Do(func() {
		pm := []string{"provider", "model"}
		metrics.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Requests answered by ai_auth, ai_credits and ai_gateway, by endpoint, serving provider and model (none when no attempt served) and status code."},
			[]string{"endpoint", "provider", "model", "code"})
		metrics.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "errors_total",
			Help: "Error answers written by the gateway itself (refusals, all_providers_failed, timeouts; not provider errors passed through), by endpoint, status code and error code."},
			[]string{"endpoint", "code", "error"})
		metrics.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "attempts_total",
			Help: "Upstream attempts by provider, model and what the gateway did next."}, []string{"provider", "model", "retry_action"})
		metrics.failovers = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "failovers_total",
			Help: "Attempts after which the gateway moved to another key or model."}, append(pm, "retry_action"))
		metrics.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "tokens_total",
			Help: "Tokens by provider, model and kind (input, output, cache_read, cache_write, reasoning)."}, append(pm, "type"))
		metrics.cost = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "cost_usd_total",
			Help: "Provider cost at catalog prices, in USD (the ledger, not this metric, is the money of record)."}, pm)
		metrics.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "upstream_latency_seconds",
			Help: "Duration of upstream attempts.", Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}}, pm)
		metrics.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "time_to_first_token_seconds",
			Help: "Time to the first streamed event of successful streaming attempts.", Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30}}, pm)
		metrics.firewall = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "firewall_decisions_total",
			Help: "Firewall rules that decided a request or a tool call, by policy, phase (request, response), action (block, allow, continue) and mode (enforce, dryRun)."},
			[]string{"policy", "phase", "action", "mode"})
	})
	for _, c := range []prometheus.Collector{metrics.requests, metrics.errors, metrics.attempts, metrics.failovers, metrics.tokens, metrics.cost, metrics.latency, metrics.ttft, metrics.firewall} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return err
			}
		}
	}
	return nil
}

// modelLabel bounds the label's cardinality: catalog models by name,
// anything else (pass-through names a client made up) as "other".
func modelLabel(t registry.Target) string {
	if t.Model == nil {
		return "other"
	}
	return t.Model.ID
}

// observeAttempt records one attempt's metrics.
func observeAttempt(t registry.Target, ev *store.UsageEvent, ttft time.Duration) {
	if metrics.attempts == nil {
		return
	}
	p, m := t.Provider.ID, modelLabel(t)
	metrics.attempts.WithLabelValues(p, m, ev.RetryAction).Inc()
	if ev.RetryAction == actionNextKey || ev.RetryAction == actionNextBack {
		metrics.failovers.WithLabelValues(p, m, ev.RetryAction).Inc()
	}
	for _, tk := range [...]struct {
		typ string
		n   int64
	}{{"input", ev.InputTokens}, {"output", ev.OutputTokens}, {"cache_read", ev.CacheReadTokens}, {"cache_write", ev.CacheWriteTokens}, {"reasoning", ev.ReasoningTokens}} {
		if tk.n > 0 {
			metrics.tokens.WithLabelValues(p, m, tk.typ).Add(float64(tk.n))
		}
	}
	if ev.Cost > 0 {
		metrics.cost.WithLabelValues(p, m).Add(float64(ev.Cost) / 1e9)
	}
	metrics.latency.WithLabelValues(p, m).Observe(float64(ev.LatencyMs) / 1000)
	if ttft > 0 && ev.RetryAction == actionSucceeded {
		metrics.ttft.WithLabelValues(p, m).Observe(ttft.Seconds())
	}
}

// observeRequest records a request's final answer.
func observeRequest(endpoint string, served *attempt, status int) {
	if metrics.requests == nil {
		return
	}
	p, m := "none", "none"
	if served != nil {
		p, m = served.target.Provider.ID, modelLabel(served.target)
	}
	metrics.requests.WithLabelValues(endpoint, p, m, strconv.Itoa(status)).Inc()
}

// countedByAttemptLoop are the error answers the attempt loop counts in
// requests_total itself, together with the attempt that ended the request
// (countRequest in outcome.go calls observeRequest); observeError counts every other error
// answer there.
var countedByAttemptLoop = map[string]bool{
	apierr.AllProvidersFailed: true,
	apierr.TotalTimeout:       true,
	apierr.ProviderAuthFailed: true,
}

// observeError records an error answer the gateway writes itself (every
// one goes through writeError): always in errors_total, and in
// requests_total unless the attempt loop counts it.
func observeError(path string, e *apierr.Error) {
	if metrics.requests == nil {
		return
	}
	ep, code := clientreq.EndpointName(path), strconv.Itoa(e.Status)
	metrics.errors.WithLabelValues(ep, code, e.Code).Inc()
	if !countedByAttemptLoop[e.Code] {
		metrics.requests.WithLabelValues(ep, "none", "none", code).Inc()
	}
}

// observeFirewall counts one firewall decision.
func observeFirewall(d firewall.Decision) {
	if metrics.firewall == nil {
		return
	}
	metrics.firewall.WithLabelValues(d.Policy, string(d.Phase), string(d.Action), string(d.Mode)).Inc()
}
