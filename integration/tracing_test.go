package integration

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a minimal OTLP/HTTP trace receiver (POST /v1/traces,
// protobuf): what Caddy's `tracing` exports to by default.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rc := &otlpReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not an OTLP trace export", http.StatusNotFound)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				rc.spans = append(rc.spans, ss.GetSpans()...)
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// trace waits until the receiver has an ai_gateway span with the request
// id and `attempts` attempt spans under it, and returns the request's
// spans: Caddy's server span, ai_gateway and the attempts by number.
func (rc *otlpReceiver) trace(t *testing.T, requestID string, attempts int) (server, gateway *tracepb.Span, tries []*tracepb.Span) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rc.mu.Lock()
		spans := append([]*tracepb.Span(nil), rc.spans...)
		rc.mu.Unlock()
		server, gateway, tries = nil, nil, nil
		for _, s := range spans {
			if s.GetName() == "ai_gateway" && attr(s, "ai_gateway.request_id") == requestID {
				gateway = s
			}
		}
		if gateway != nil {
			for _, s := range spans {
				switch {
				case bytes.Equal(s.GetSpanId(), gateway.GetParentSpanId()):
					server = s
				case bytes.Equal(s.GetParentSpanId(), gateway.GetSpanId()):
					tries = append(tries, s)
				}
			}
		}
		if server != nil && len(tries) == attempts {
			for _, s := range tries {
				tries[attrInt(s, "ai_gateway.attempt")-1] = s
			}
			return server, gateway, tries
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s: server span %v, ai_gateway %v, %d attempt spans (want %d) among %d spans received",
				requestID, server != nil, gateway != nil, len(tries), attempts, len(spans))
		}
	}
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return anyString(kv.GetValue())
		}
	}
	return ""
}

func attrInt(s *tracepb.Span, key string) int64 {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetIntValue()
		}
	}
	return -1
}

func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, anyString(e))
		}
		return strings.Join(parts, ",")
	}
	return v.String()
}

// TestTracing: a site with Caddy's `tracing` before the gateway exports,
// over OTLP, Caddy's server span, the ai_gateway span under it and a
// span per upstream attempt under that, with the GenAI semantic
// conventions' attributes, the failover reason of a failed attempt, and
// never a key or the prompt.
func TestTracing(t *testing.T) {
	rc := newOTLPReceiver(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rc.URL+"/v1/traces")
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	e := start(t, cfgOpts{site: "tracing {\n\t\tspan gateway\n\t}\n\tai_auth\n\tai_gateway"})

	type want struct {
		provider, requestModel, model, key string
		attempts                           int
	}
	check := func(t *testing.T, path, body string, hdr map[string]string, w want) []*tracepb.Span {
		t.Helper()
		resp := e.post(path, body, hdr)
		if b := readAll(t, resp); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		server, gateway, tries := rc.trace(t, resp.Header.Get("Ai-Gateway-Request-Id"), w.attempts)
		if server.GetName() != "gateway" || server.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("ai_gateway's parent is %q (%v), want Caddy's server span", server.GetName(), server.GetKind())
		}
		for _, s := range append([]*tracepb.Span{server, gateway}, tries...) {
			if !bytes.Equal(s.GetTraceId(), server.GetTraceId()) {
				t.Errorf("span %s is in trace %s, not the server span's", s.GetName(), hex.EncodeToString(s.GetTraceId()))
			}
			for _, kv := range s.GetAttributes() {
				v := anyString(kv.GetValue())
				for _, secret := range []string{w.key, e.token, "Say hello to the gateway please"} {
					if strings.Contains(v, secret) {
						t.Errorf("span %s: %s = %q carries a key or the prompt", s.GetName(), kv.GetKey(), v)
					}
				}
			}
		}
		for k, v := range map[string]string{"gen_ai.operation.name": "chat", "gen_ai.provider.name": w.provider,
			"gen_ai.request.model": w.requestModel, "gen_ai.response.model": w.model} {
			if got := attr(gateway, k); got != v {
				t.Errorf("ai_gateway: %s = %q, want %q", k, got, v)
			}
		}
		last := tries[len(tries)-1]
		if last.GetKind() != tracepb.Span_SPAN_KIND_CLIENT || last.GetName() != "chat "+w.model {
			t.Errorf("attempt span %q (%v), want client span %q", last.GetName(), last.GetKind(), "chat "+w.model)
		}
		for k, v := range map[string]string{"gen_ai.operation.name": "chat", "gen_ai.provider.name": w.provider,
			"gen_ai.request.model": w.model, "gen_ai.response.model": w.model, "ai_gateway.key.source": "managed"} {
			if got := attr(last, k); got != v {
				t.Errorf("attempt %d: %s = %q, want %q", len(tries), k, got, v)
			}
		}
		for _, k := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} {
			if attrInt(last, k) <= 0 || attrInt(gateway, k) < attrInt(last, k) {
				t.Errorf("%s: attempt %d, ai_gateway %d, want > 0", k, attrInt(last, k), attrInt(gateway, k))
			}
		}
		if last.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR || attr(last, "ai_gateway.failover.reason") != "" {
			t.Errorf("the attempt that answered is marked failed: %v %q", last.GetStatus(), attr(last, "ai_gateway.failover.reason"))
		}
		return tries
	}

	t.Run("chat completions", func(t *testing.T) {
		check(t, "/v1/chat/completions", chatBody, e.bearer(),
			want{provider: "openai", requestModel: "gpt-4o-mini", model: "gpt-4o-mini", key: "sk-managed-openai-0123456789abcdef", attempts: 1})
	})
	t.Run("anthropic messages", func(t *testing.T) {
		check(t, "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":50,"messages":[{"role":"user","content":"Say hello to the gateway please"}]}`,
			e.anthropicHdr(), want{provider: "anthropic", requestModel: "claude-haiku-4-5", model: "claude-haiku-4-5", key: "sk-ant-managed-0123456789abcdef", attempts: 1})
	})
	t.Run("a stream", func(t *testing.T) {
		check(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello to the gateway please"}]}`,
			e.bearer(), want{provider: "openai", requestModel: "gpt-4o-mini", model: "gpt-4o-mini", key: "sk-managed-openai-0123456789abcdef", attempts: 1})
	})
	t.Run("failover: the first model fails with 503", func(t *testing.T) {
		e.fake.SetOptions(fakeOptsFailModel("gpt-4o"))
		tries := check(t, "/v1/chat/completions", `{"model":"gpt-4o","models":["gpt-4o-mini"],"messages":[{"role":"user","content":"Say hello to the gateway please"}]}`,
			e.bearer(), want{provider: "openai", requestModel: "gpt-4o", model: "gpt-4o-mini", key: "sk-managed-openai-0123456789abcdef", attempts: 2})
		first := tries[0]
		if first.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || attr(first, "ai_gateway.failover.reason") != "provider_error" ||
			attrInt(first, "http.response.status_code") != 503 || attr(first, "gen_ai.request.model") != "gpt-4o" {
			t.Errorf("failed attempt: status %v, reason %q, http status %d, model %q", first.GetStatus(),
				attr(first, "ai_gateway.failover.reason"), attrInt(first, "http.response.status_code"), attr(first, "gen_ai.request.model"))
		}
		if first.GetEndTimeUnixNano() > tries[1].GetStartTimeUnixNano() {
			t.Errorf("the attempts' spans overlap")
		}
	})
}
