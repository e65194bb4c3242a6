package caddyaigateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// The benchmarks below measure the ai_gateway handler's own cost: the
// provider is a canned answer returned by a RoundTripper registered on the
// app's transport (no server, no connection), the client request and
// response writer are reused between iterations, and usage events go to a
// journal that stores nothing. What they report is what ServeHTTP
// allocates on the request's goroutine, upstream request and all, without
// what Go's HTTP client and server spend on the wire and what the store
// spends journaling usage events in batches (BenchmarkGatewayChatJSON
// includes both).

// cannedUpstream answers every request with the same recorded response.
// Like a server it reads the request body to its end.
type cannedUpstream struct {
	resp *http.Response
	body []byte
	rd   *bytes.Reader
}

// newCannedUpstream records the fake provider's answer to body on path.
func newCannedUpstream(tb testing.TB, path, body string) *cannedUpstream {
	tb.Helper()
	rec := httptest.NewRecorder()
	fakeprovider.New(fakeprovider.Options{}).ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
	if rec.Code != 200 {
		tb.Fatalf("fake provider: %d %s", rec.Code, rec.Body)
	}
	cu := &cannedUpstream{body: rec.Body.Bytes(), rd: bytes.NewReader(nil)}
	cu.resp = &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.Result().Header, Body: io.NopCloser(cu.rd), ContentLength: int64(len(cu.body))}
	return cu
}

// cannedHost is the host the canned upstream answers for.
const cannedHost = "upstream.invalid"

func (cu *cannedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != cannedHost {
		return nil, http.ErrSkipAltProtocol
	}
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	cu.rd.Reset(cu.body)
	cu.resp.Request = r
	return cu.resp, nil
}

// benchWriter is a reusable response writer that keeps only the status
// and the number of bytes written.
type benchWriter struct {
	h    http.Header
	code int
	n    int
	last []byte // the last chunk written
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.n += len(p)
	w.last = append(w.last[:0], p...)
	return len(p), nil
}
func (w *benchWriter) Flush() {}

func (w *benchWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

// discardUsage stores nothing.
type discardUsage struct{}

func (discardUsage) StoreUsage(context.Context, []*store.UsageEvent) error { return nil }

// reusableBody is a request body that can be rewound.
type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

// benchHandler runs ServeHTTP b.N times for body on path against a canned
// answer to upstreamBody, with a reused request (carrying Caddy's vars, as
// a Caddy server's does) and response writer.
func benchHandler(b *testing.B, path, body, upstreamBody string, check func(*benchWriter) bool) {
	cu := newCannedUpstream(b, path, upstreamBody)
	app := testApp(b, "http://"+cannedHost)
	app.transport.RegisterProtocol("http", cu)
	// Usage events are journaled by the group-commit writer's goroutine,
	// in batches, off the request path: leave the store out of the count.
	journal := app.shared.Usage
	app.shared.Usage = store.NewWriter(discardUsage{}, store.WriterOptions{})
	b.Cleanup(func() { app.shared.Usage.Close(); app.shared.Usage = journal })
	g := &Gateway{app: app, MaxRequestBody: defaultMaxRequestBody, logger: zap.NewNop()}

	vars := map[string]any{}
	rb := new(reusableBody)
	r := httptest.NewRequest("POST", path, nil)
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "OpenAI/Python 1.40.0")
	w := &benchWriter{h: http.Header{}}
	bodyBytes := []byte(body)
	run := func() {
		clear(vars)
		w.reset()
		rb.Reset(bodyBytes)
		r.Body, r.ContentLength = rb, int64(len(body))
		if err := g.ServeHTTP(w, r, nopHandler); err != nil || w.code != 200 || !check(w) {
			b.Fatalf("%d %v %s", w.code, err, w.last)
		}
	}
	run() // warm the transport, the snapshot and the key health
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
}

// BenchmarkGatewayChatJSONOwn: what the ai_gateway handler itself costs
// for a non-streaming chat request (BenchmarkGatewayChatJSON without the
// loopback server and HTTP client).
func BenchmarkGatewayChatJSONOwn(b *testing.B) {
	const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	benchHandler(b, "/v1/chat/completions", body, body, func(w *benchWriter) bool {
		return bytes.Contains(w.last, []byte(`"chat.completion"`))
	})
}

// BenchmarkGatewayChatStreamOwn: the same for a streamed answer (13
// events).
func BenchmarkGatewayChatStreamOwn(b *testing.B) {
	const body = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	const upstreamBody = `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	benchHandler(b, "/v1/chat/completions", body, upstreamBody, func(w *benchWriter) bool {
		return bytes.Contains(w.last, []byte("[DONE]"))
	})
}
