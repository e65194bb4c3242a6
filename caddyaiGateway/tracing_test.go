package caddyaigateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/gentrace"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/inflight"
)

// secretPrompt is the prompt of the traced requests: no span may carry it.
const secretPrompt = "the secret prompt 7f3a"

// tracedSpans are the spans of one traced request: Caddy's server span
// (the test's root), ai_gateway and the attempts in the order they
// started.
type tracedSpans struct {
	server, gateway sdktrace.ReadOnlySpan
	attempts        []sdktrace.ReadOnlySpan
}

// doTraced sends one chat request through the gateway under a recording
// server span, as Caddy's `tracing` handler leaves it in the context.
func (s *loopSetup) doTraced(t *testing.T, stream bool, ups ...loopUpstream) (*httptest.ResponseRecorder, tracedSpans) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	body := strings.Replace(chatBody(stream, ups[0].id+":m", fallbackRefs(ups[1:])...), `"hi"`, `"`+secretPrompt+`"`, 1)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	ctx, server := tp.Tracer("test").Start(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}), "server",
		trace.WithSpanKind(trace.SpanKindServer))
	w := httptest.NewRecorder()
	if err := s.g.ServeHTTP(w, r.WithContext(ctx), nopHandler); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	server.End()
	var ts tracedSpans
	for _, sp := range sr.Ended() {
		switch sp.Name() {
		case "server":
			ts.server = sp
		case gentrace.GatewaySpanName:
			ts.gateway = sp
		default:
			ts.attempts = append(ts.attempts, sp)
		}
	}
	if ts.server == nil || ts.gateway == nil {
		t.Fatalf("spans %v: want the server span and ai_gateway", names(sr.Ended()))
	}
	if ts.gateway.Parent().SpanID() != ts.server.SpanContext().SpanID() {
		t.Errorf("ai_gateway is not a child of the server span")
	}
	for i, a := range ts.attempts {
		if a.Parent().SpanID() != ts.gateway.SpanContext().SpanID() {
			t.Errorf("attempt span %d (%s) is not a child of ai_gateway", i, a.Name())
		}
		if a.SpanKind() != trace.SpanKindClient {
			t.Errorf("attempt span %d is %v, want client", i, a.SpanKind())
		}
		if i > 0 && a.StartTime().Before(ts.attempts[i-1].EndTime()) {
			t.Errorf("attempt span %d starts before span %d ended", i, i-1)
		}
	}
	for _, sp := range sr.Ended() {
		for _, kv := range sp.Attributes() {
			if v := kv.Value.Emit(); strings.Contains(v, secretPrompt) || strings.Contains(v, "sk-") {
				t.Errorf("span %s: %s = %q carries a key or the prompt", sp.Name(), kv.Key, v)
			}
		}
	}
	return w, ts
}

func fallbackRefs(ups []loopUpstream) []string {
	var out []string
	for _, u := range ups {
		out = append(out, u.id+":m")
	}
	return out
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// checkSpan checks that span has exactly the values of want among its
// attributes (a nil value: the attribute must be absent) and its status.
func checkSpan(t *testing.T, what string, span sdktrace.ReadOnlySpan, status codes.Code, want map[attribute.Key]any) {
	t.Helper()
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		got[kv.Key] = kv.Value
	}
	for k, v := range want {
		g, ok := got[k]
		switch {
		case v == nil && ok:
			t.Errorf("%s: %s = %s, want none", what, k, g.Emit())
		case v == nil:
		case !ok:
			t.Errorf("%s: no %s, want %v", what, k, v)
		default:
			if w, ok := v.([]string); ok && g.Emit() != attribute.StringSliceValue(w).Emit() || !ok && g.AsInterface() != v {
				t.Errorf("%s: %s = %s, want %v", what, k, g.Emit(), v)
			}
		}
	}
	if span.Status().Code != status {
		t.Errorf("%s: status %v %q, want %v", what, span.Status().Code, span.Status().Description, status)
	}
}

// TestTracing: with a recording server span in the request's context, the
// gateway's span and one span per attempt carry the GenAI attributes.
func TestTracing(t *testing.T) {
	t.Parallel()
	t.Run("one attempt answers", func(t *testing.T) {
		t.Parallel()
		alpha := loopUpstream{id: "alpha", keys: []string{"sk-alpha-0"}, script: answers("from alpha")}
		s := newLoopSetup(t, 5*time.Second, 10*time.Second, nil, alpha)
		w, ts := s.doTraced(t, false, alpha)
		checkAnswer(t, w, 200, "1", "", "alpha")
		if len(ts.attempts) != 1 || ts.attempts[0].Name() != "chat m" {
			t.Fatalf("attempt spans %v, want [chat m]", names(ts.attempts))
		}
		checkSpan(t, "ai_gateway", ts.gateway, codes.Unset, map[attribute.Key]any{
			"gen_ai.operation.name": "chat", "gen_ai.request.model": "alpha:m", "gen_ai.provider.name": "alpha",
			"gen_ai.response.model": "m", "gen_ai.usage.input_tokens": int64(5), "gen_ai.usage.output_tokens": int64(3),
			"gen_ai.response.finish_reasons": []string{"stop"}, gentrace.AttrAttempts: int64(1), gentrace.AttrStream: false,
			gentrace.AttrRequestID: w.Header().Get(hdrRequestID), "error.type": nil,
		})
		checkSpan(t, "attempt", ts.attempts[0], codes.Unset, map[attribute.Key]any{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "alpha", "gen_ai.request.model": "m",
			"gen_ai.response.model": "m", "gen_ai.usage.input_tokens": int64(5), "gen_ai.usage.output_tokens": int64(3),
			gentrace.AttrAttempt: int64(1), gentrace.AttrKeySource: "managed", "http.response.status_code": int64(200),
			gentrace.AttrFailoverReason: nil,
		})
	})

	t.Run("failover: 500, then the next provider answers", func(t *testing.T) {
		t.Parallel()
		alpha := loopUpstream{id: "alpha", keys: []string{"sk-alpha-0"}, script: fails(http.StatusInternalServerError)}
		beta := loopUpstream{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")}
		s := newLoopSetup(t, 5*time.Second, 10*time.Second, nil, alpha, beta)
		w, ts := s.doTraced(t, false, alpha, beta)
		checkAnswer(t, w, 200, "2", "", "beta")
		if len(ts.attempts) != 2 {
			t.Fatalf("attempt spans %v, want 2", names(ts.attempts))
		}
		checkSpan(t, "first attempt", ts.attempts[0], codes.Error, map[attribute.Key]any{
			"gen_ai.provider.name": "alpha", gentrace.AttrAttempt: int64(1), gentrace.AttrKeySource: "managed",
			"http.response.status_code": int64(500), gentrace.AttrFailoverReason: gentrace.ReasonProviderError, "error.type": gentrace.ReasonProviderError,
			"gen_ai.usage.input_tokens": nil, "gen_ai.response.model": nil,
		})
		checkSpan(t, "second attempt", ts.attempts[1], codes.Unset, map[attribute.Key]any{
			"gen_ai.provider.name": "beta", gentrace.AttrAttempt: int64(2), "gen_ai.usage.input_tokens": int64(5),
			"gen_ai.usage.output_tokens": int64(3), gentrace.AttrFailoverReason: nil,
		})
		checkSpan(t, "ai_gateway", ts.gateway, codes.Unset, map[attribute.Key]any{
			"gen_ai.provider.name": "beta", "gen_ai.request.model": "alpha:m", gentrace.AttrAttempts: int64(2),
			"gen_ai.usage.input_tokens": int64(5), "gen_ai.usage.output_tokens": int64(3),
		})
	})

	t.Run("every provider fails: the gateway span is an error", func(t *testing.T) {
		t.Parallel()
		alpha := loopUpstream{id: "alpha", keys: []string{"sk-alpha-0"}, script: fails(http.StatusTooManyRequests)}
		beta := loopUpstream{id: "beta", keys: []string{"sk-beta-0"}} // nothing listens
		s := newLoopSetup(t, 5*time.Second, 10*time.Second, nil, alpha, beta)
		w, ts := s.doTraced(t, false, alpha, beta)
		checkAnswer(t, w, http.StatusBadGateway, "2", "", "")
		if len(ts.attempts) != 2 {
			t.Fatalf("attempt spans %v, want 2", names(ts.attempts))
		}
		checkSpan(t, "first attempt", ts.attempts[0], codes.Error, map[attribute.Key]any{gentrace.AttrFailoverReason: gentrace.ReasonRateLimited})
		checkSpan(t, "second attempt", ts.attempts[1], codes.Error, map[attribute.Key]any{
			gentrace.AttrFailoverReason: gentrace.ReasonConnection, "http.response.status_code": nil})
		checkSpan(t, "ai_gateway", ts.gateway, codes.Error, map[attribute.Key]any{
			"error.type": gentrace.ReasonConnection, "gen_ai.provider.name": nil, gentrace.AttrAttempts: int64(2)})
	})

	t.Run("a stream", func(t *testing.T) {
		t.Parallel()
		alpha := loopUpstream{id: "alpha", keys: []string{"sk-alpha-0"}, script: streams("chatcmpl-alpha", "from ", "alpha")}
		s := newLoopSetup(t, 5*time.Second, 10*time.Second, nil, alpha)
		w, ts := s.doTraced(t, true, alpha)
		checkAnswer(t, w, 200, "1", "", "alpha")
		if len(ts.attempts) != 1 {
			t.Fatalf("attempt spans %v, want 1", names(ts.attempts))
		}
		checkSpan(t, "attempt", ts.attempts[0], codes.Unset, map[attribute.Key]any{
			"gen_ai.operation.name": "chat", "gen_ai.response.model": "m", "gen_ai.usage.input_tokens": int64(5),
			"gen_ai.usage.output_tokens": int64(3), "gen_ai.response.finish_reasons": []string{"stop"},
		})
		checkSpan(t, "ai_gateway", ts.gateway, codes.Unset, map[attribute.Key]any{
			gentrace.AttrStream: true, "gen_ai.usage.output_tokens": int64(3), "gen_ai.provider.name": "alpha"})
		// The attempt ends with the stream, not before its last event.
		if ts.attempts[0].EndTime().After(ts.gateway.EndTime()) {
			t.Errorf("the attempt span ends after ai_gateway")
		}
	})

	t.Run("a stream cut after content, continued on the next provider", func(t *testing.T) {
		t.Parallel()
		alpha := loopUpstream{id: "alpha", keys: []string{"sk-alpha-0"}, script: cutAfter("chatcmpl-alpha", "Hello")}
		beta := loopUpstream{id: "beta", keys: []string{"sk-beta-0"}, script: streams("chatcmpl-beta", " world")}
		s := newLoopSetup(t, 5*time.Second, 10*time.Second, nil, alpha, beta)
		w, ts := s.doTraced(t, true, alpha, beta)
		checkAnswer(t, w, 200, "1", "", "alpha")
		if len(ts.attempts) != 2 {
			t.Fatalf("attempt spans %v, want 2", names(ts.attempts))
		}
		checkSpan(t, "cut segment", ts.attempts[0], codes.Error, map[attribute.Key]any{
			"gen_ai.provider.name": "alpha", gentrace.AttrFailoverReason: gentrace.ReasonInterrupted})
		checkSpan(t, "continuation", ts.attempts[1], codes.Unset, map[attribute.Key]any{
			"gen_ai.provider.name": "beta", gentrace.AttrAttempt: int64(2), "gen_ai.usage.output_tokens": int64(3)})
		checkSpan(t, "ai_gateway", ts.gateway, codes.Unset, map[attribute.Key]any{gentrace.AttrAttempts: int64(2)})
	})
}

// TestTracingOff: a server span that does not record (no `tracing`, or
// the sampler left the request out) gets no spans under it.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	alpha := loopUpstream{id: "alpha", keys: []string{"sk-alpha-0"}, script: answers("from alpha")}
	s := newLoopSetup(t, 5*time.Second, 10*time.Second, nil, alpha)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(sdktrace.NeverSample()))
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(false, "alpha:m")))
	ctx, server := tp.Tracer("test").Start(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}), "server")
	w := httptest.NewRecorder()
	if err := s.g.ServeHTTP(w, r.WithContext(ctx), nopHandler); err != nil || w.Code != 200 {
		t.Fatalf("ServeHTTP: %v %d %s", err, w.Code, w.Body)
	}
	server.End()
	if got := sr.Started(); len(got) != 0 {
		t.Errorf("%d spans started under a server span that does not record", len(got))
	}
}

func TestFailoverReason(t *testing.T) {
	t.Parallel()
	body := []byte(`{"error":{"message":"` + secretPrompt + `"}}`)
	cases := []struct {
		a    attempt
		want string
	}{
		{attempt{outcome: served, status: 200}, ""},
		{attempt{outcome: nextKey, status: 429, errBody: body, errText: secretPrompt}, gentrace.ReasonRateLimited},
		{attempt{outcome: nextKey, status: 401, errBody: body}, gentrace.ReasonKeyRefused},
		{attempt{outcome: nextTarget, status: 503, errBody: body}, gentrace.ReasonProviderError},
		{attempt{outcome: nextTarget, status: 408, errBody: body}, gentrace.ReasonProviderError},
		{attempt{outcome: failFast, status: 400, errBody: body}, gentrace.ReasonRequestRejected},
		{attempt{outcome: nextTarget, errText: "connection failed: dial tcp: refused"}, gentrace.ReasonConnection},
		{attempt{outcome: nextTarget, errText: errAttemptTimeout.Error()}, gentrace.ReasonTimeout},
		{attempt{outcome: nextTarget, status: 200, errText: errFirstToken.Error()}, gentrace.ReasonFirstToken},
		{attempt{outcome: nextTarget, status: 200, errText: errTotalDeadline.Error()}, gentrace.ReasonTotalTimeout},
		{attempt{outcome: served, status: 200, errText: errStalled.Error()}, gentrace.ReasonStalled},
		{attempt{outcome: served, status: 200, errText: "the provider ended the stream before its end"}, gentrace.ReasonInterrupted},
		{attempt{outcome: served, status: 200, errText: inflight.ErrShutdown.Error()}, gentrace.ReasonShutdown},
		{attempt{outcome: nextTarget, status: http.StatusBadGateway, errText: "provider stream error: {}"}, gentrace.ReasonStreamError},
		{attempt{outcome: nextTarget, status: http.StatusBadGateway, errText: "translating the provider's answer: x"}, gentrace.ReasonBadResponse},
		{attempt{outcome: clientGone, status: 200, errText: "client closed the connection"}, gentrace.ReasonClientClosed},
	}
	for _, tc := range cases {
		if got := failoverReason(&tc.a); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.a, got, tc.want)
		}
	}
}
