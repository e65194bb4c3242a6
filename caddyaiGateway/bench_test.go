package caddyaigateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/node"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// testApp builds an App around a temporary store, without Caddy.
func testApp(tb testing.TB, baseURL string) *App {
	tb.Helper()
	ref := node.Storage{Engine: node.BBolt, Where: filepath.Join(tb.TempDir(), "gw.db")}
	st, err := node.Open(ref, secrets.NewKey(), node.Options{Logger: zap.NewNop()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	a := &App{shared: &shared{State: st, id: ref.ID()}, PerRequestTimeout: 30e9, TotalTimeout: 60e9, transport: upstream.NewTransport(), logger: zap.NewNop(), eff: new(atomic.Pointer[effectiveRegistry])}
	cfgs := []*ProviderConfig{}
	if baseURL != "" {
		cfgs = append(cfgs, &ProviderConfig{ID: "openai", BaseURL: baseURL + "/v1", APIKeys: []string{"sk-test-0123456789abcdef"}},
			&ProviderConfig{ID: "anthropic", BaseURL: baseURL, APIKeys: []string{"sk-ant-0123456789abcdef"}})
	}
	a.registry, err = buildRegistry(cfgs, nil, nil, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

var nopHandler = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })

// BenchmarkAuthLookup: ai_auth admitting a valid key (hash + in-memory
// lookup + header strip + caller attach).
func BenchmarkAuthLookup(b *testing.B) {
	app := testApp(b, "")
	for i := 0; i < 1000; i++ { // a realistic number of keys
		if _, _, err := app.Manage().CreateAccessKey(manage.Patch{"name": []byte(`"k"`)}); err != nil {
			b.Fatal(err)
		}
	}
	_, token, _ := app.Manage().CreateAccessKey(manage.Patch{"name": []byte(`"bench"`)})
	auth := &Auth{app: app, logger: zap.NewNop()}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Header.Set("Authorization", "Bearer "+token)
		if err := auth.ServeHTTP(w, r, nopHandler); err != nil {
			b.Fatal(err)
		}
	}
}

const benchChat = `{"model":"gpt-4o-mini","models":["gpt-4o"],"stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about recursion in programming, then explain it in two sentences."}],"temperature":0.7,"max_tokens":256}`

// BenchmarkReadRequest: reading, checking and preparing a chat request
// body (models[] removed, stream usage asked for) and resolving targets.
func BenchmarkReadRequest(b *testing.B) {
	g := &Gateway{app: testApp(b, ""), MaxRequestBody: defaultMaxRequestBody, logger: zap.NewNop()}
	ep := clientreq.Lookup("chat/completions")
	w := httptest.NewRecorder()
	body := []byte(benchChat)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("POST", "/v1/chat/completions", bytes.NewReader(body))
		req, aerr := g.readRequest(w, r, ep, "")
		if aerr != nil {
			b.Fatal(aerr)
		}
		req.st = g.app.shared.Manage.Snapshot()
		if _, aerr := g.candidates(req, nil); aerr != nil {
			b.Fatal(aerr)
		}
	}
}

// BenchmarkStreamRelayMetering: reading a whole OpenAI chat stream (12
// events) event by event and metering it, as serveStream does.
func BenchmarkStreamRelayMetering(b *testing.B) {
	srv := httptest.NewServer(fakeprovider.New(fakeprovider.Options{}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json",
		bytes.NewReader([]byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)))
	if err != nil {
		b.Fatal(err)
	}
	stream, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rd := sse.NewReader(bytes.NewReader(stream))
	m := usage.NewMeter(usage.ChatCompletions)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rd.Reset(bytes.NewReader(stream))
		m.Reset(usage.ChatCompletions)
		for {
			ev, err := rd.Next()
			if err != nil {
				break
			}
			m.Observe(ev.Name, ev.Data)
		}
		if u, ok := m.Usage(); !ok || u.OutputTokens == 0 {
			b.Fatal("no usage")
		}
	}
}

// BenchmarkGatewayChatJSON: the whole ai_gateway handler for a
// non-streaming chat request against a loopback fake provider (includes
// the upstream round trip).
func BenchmarkGatewayChatJSON(b *testing.B) {
	srv := httptest.NewServer(fakeprovider.New(fakeprovider.Options{}))
	defer srv.Close()
	g := &Gateway{app: testApp(b, srv.URL), MaxRequestBody: defaultMaxRequestBody, logger: zap.NewNop()}
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/chat/completions", bytes.NewReader(body))
		if err := g.ServeHTTP(w, r, nopHandler); err != nil || w.Code != 200 {
			b.Fatalf("%d %v %s", w.Code, err, w.Body)
		}
	}
}

// BenchmarkGatewayChatStream: the whole ai_gateway handler for a streamed
// chat answer (13 events) against a loopback fake provider.
func BenchmarkGatewayChatStream(b *testing.B) {
	srv := httptest.NewServer(fakeprovider.New(fakeprovider.Options{}))
	defer srv.Close()
	g := &Gateway{app: testApp(b, srv.URL), MaxRequestBody: defaultMaxRequestBody, logger: zap.NewNop()}
	body := []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/chat/completions", bytes.NewReader(body))
		if err := g.ServeHTTP(w, r, nopHandler); err != nil || w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte("[DONE]")) {
			b.Fatalf("%d %v %s", w.Code, err, w.Body)
		}
	}
}
