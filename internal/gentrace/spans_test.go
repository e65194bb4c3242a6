package gentrace

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

func attrs(sp sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range sp.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestSpans: the gateway and attempt spans carry their GenAI attributes;
// under a span that does not record none starts.
func TestSpans(t *testing.T) {
	t.Parallel()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	ctx, server := tp.Tracer("test").Start(context.Background(), "server")
	ctx, gw := StartGateway(ctx)
	p := &registry.Provider{Provider: &catalog.Provider{ID: "google", BuiltIn: true}}
	start := time.Now()
	span := StartAttempt(ctx, Attempt{Endpoint: usage.ChatCompletions, Provider: p, Model: "m", N: 1, KeySource: "managed", Start: start})
	u := usage.Usage{InputTokens: 2, CacheReadTokens: 3, OutputTokens: 4}
	EndAttempt(span, Result{Status: 429, Reason: ReasonRateLimited, End: start.Add(time.Second)})
	c := Call{Endpoint: usage.ChatCompletions, RequestID: "r1", Attempts: 1, Model: "google:m", Reason: ReasonRateLimited}
	c.Add(u)
	SetCall(gw, c)
	End(gw)
	server.End()

	ended := sr.Ended()
	if len(ended) != 3 || ended[0].Name() != "chat m" || ended[1].Name() != GatewaySpanName {
		t.Fatalf("spans %d, want the attempt, ai_gateway and the server's", len(ended))
	}
	at := attrs(ended[0])
	if at[AttrFailoverReason].AsString() != ReasonRateLimited || at["gen_ai.provider.name"].AsString() != "gcp.gemini" ||
		at[AttrProviderID].AsString() != "google" || at["http.response.status_code"].AsInt64() != 429 ||
		ended[0].Status().Code != codes.Error || !ended[0].EndTime().Equal(start.Add(time.Second)) {
		t.Errorf("attempt span: %v %v", at, ended[0].Status())
	}
	if _, ok := at["gen_ai.usage.input_tokens"]; ok {
		t.Errorf("a refused attempt has usage")
	}
	g := attrs(ended[1])
	if g["gen_ai.usage.input_tokens"].AsInt64() != 5 || g["gen_ai.usage.cache_read.input_tokens"].AsInt64() != 3 ||
		g["error.type"].AsString() != ReasonRateLimited || ended[1].Status().Code != codes.Error {
		t.Errorf("ai_gateway span: %v %v", g, ended[1].Status())
	}

	off := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	ctx, server = off.Tracer("test").Start(context.Background(), "server")
	defer server.End()
	if _, gw := StartGateway(ctx); gw != nil {
		t.Errorf("ai_gateway started under a span that does not record")
	}
	if s := StartAttempt(ctx, Attempt{Provider: p}); s != nil {
		t.Errorf("an attempt span started under a span that does not record")
	}
}

// TestInject: the upstream request's traceparent names the attempt's
// span, not the server span Caddy's tracing wrote into the client's
// request; without an attempt span the header stays as it came.
func TestInject(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	ctx, server := tp.Tracer("test").Start(context.Background(), "server")
	defer server.End()
	_, span := tp.Tracer("test").Start(ctx, "attempt")
	defer span.End()
	const fromClient = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

	h := http.Header{"Traceparent": {fromClient}}
	Inject(ctx, h, span)
	if got, want := h.Get("traceparent"), span.SpanContext().SpanID().String(); !strings.Contains(got, want) ||
		!strings.Contains(got, span.SpanContext().TraceID().String()) {
		t.Errorf("traceparent %q, want the attempt span %s", got, want)
	}

	h = http.Header{"Traceparent": {fromClient}}
	Inject(ctx, h, nil)
	if got := h.Get("traceparent"); got != fromClient {
		t.Errorf("traceparent %q changed without an attempt span", got)
	}
}
