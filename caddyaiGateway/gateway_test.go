package caddyaigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// These tests drive the attempt loop through (*Gateway).ServeHTTP against
// loopback providers each case scripts, and check what the client got,
// what each provider saw and the usage events recorded per attempt.

// seenRequest is one request a scripted provider received.
type seenRequest struct {
	Path          string
	Authorization string
	APIKey        string // X-Api-Key
	Header        http.Header
	Body          []byte
}

// key is the credential the request carried, however it was sent.
func (s seenRequest) key() string {
	if s.APIKey != "" {
		return s.APIKey
	}
	return strings.TrimPrefix(s.Authorization, "Bearer ")
}

// script answers the n-th request (from 0) a provider receives.
type script func(w http.ResponseWriter, r *http.Request, n int, seen seenRequest)

// scriptedProvider is a loopback provider answering by its script.
type scriptedProvider struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newScriptedProvider(t *testing.T, s script) *scriptedProvider {
	t.Helper()
	p := &scriptedProvider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen := seenRequest{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), APIKey: r.Header.Get("X-Api-Key"),
			Header: r.Header.Clone(), Body: body}
		p.mu.Lock()
		n := len(p.seen)
		p.seen = append(p.seen, seen)
		p.mu.Unlock()
		s(w, r, n, seen)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *scriptedProvider) requests() []seenRequest {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seenRequest(nil), p.seen...)
}

func (p *scriptedProvider) keys() []string {
	var out []string
	for _, s := range p.requests() {
		out = append(out, s.key())
	}
	return out
}

// refusedURL is the address of a server that is gone: connecting to it
// is refused.
func refusedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// Scripts.

func openAIChatJSON(text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": "m",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
	})
	return b
}

func anthropicMessageJSON(text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": "msg_test", "type": "message", "role": "assistant", "model": "m",
		"content":     []any{map[string]any{"type": "text", "text": text}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 5, "output_tokens": 3},
	})
	return b
}

// answers serves every request with an OpenAI chat completion saying text.
func answers(text string) script {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ seenRequest) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAIChatJSON(text))
	}
}

// fails answers every request with status and an OpenAI error body;
// header pairs are set on the answer.
func fails(status int, header ...string) script {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ seenRequest) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"scripted %d","type":"scripted_error","code":"scripted"}}`, status)
	}
}

// hangs never answers; it returns when the gateway gives up the request.
func hangs(w http.ResponseWriter, r *http.Request, _ int, _ seenRequest) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// byKey answers with the script for the request's key.
func byKey(scripts map[string]script) script {
	return func(w http.ResponseWriter, r *http.Request, n int, seen seenRequest) {
		s := scripts[seen.key()]
		if s == nil {
			http.Error(w, "unexpected key", http.StatusTeapot)
			return
		}
		s(w, r, n, seen)
	}
}

// inTurn answers the n-th request with scripts[n], the last one after.
func inTurn(scripts ...script) script {
	return func(w http.ResponseWriter, r *http.Request, n int, seen seenRequest) {
		scripts[min(n, len(scripts)-1)](w, r, n, seen)
	}
}

// Gateway setup.

// loopUpstream is one provider of a case: id, wire format, managed keys and
// its script (nil: nothing listens at its address).
type loopUpstream struct {
	id     string
	format string // openai (default) or anthropic
	keys   []string
	script script
}

// loopSetup is a Gateway over a test App whose providers are the case's
// upstreams, each with one model "m".
type loopSetup struct {
	g         *Gateway
	app       *App
	providers map[string]*scriptedProvider
}

func newLoopSetup(t *testing.T, perRequest, total time.Duration, fo *FailoverConfig, ups ...loopUpstream) *loopSetup {
	t.Helper()
	app := testApp(t, "")
	app.PerRequestTimeout, app.TotalTimeout = caddy.Duration(perRequest), caddy.Duration(total)
	s := &loopSetup{app: app, providers: map[string]*scriptedProvider{}}
	var cfgs []*ProviderConfig
	for _, u := range ups {
		base := refusedURL(t)
		if u.script != nil {
			p := newScriptedProvider(t, u.script)
			s.providers[u.id] = p
			base = p.URL
		}
		format := u.format
		if format == "" {
			format = "openai"
		}
		if format == "openai" {
			base += "/v1"
		}
		cfgs = append(cfgs, &ProviderConfig{ID: u.id, Format: format, BaseURL: base, APIKeys: u.keys,
			Models: []*ModelConfig{{ID: "m", InputPrice: "1", OutputPrice: "2"}}})
	}
	var err error
	if app.registry, err = buildRegistry(cfgs, nil, nil, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	s.g = &Gateway{app: app, MaxRequestBody: defaultMaxRequestBody, logger: zap.NewNop(), Failover: fo}
	return s
}

// do sends one client request through the gateway.
func (s *loopSetup) do(t *testing.T, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
	w := httptest.NewRecorder()
	if err := s.g.ServeHTTP(w, r, nopHandler); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w
}

// doChat sends a chat request naming ups in order (the first as model, the
// others as fallbacks).
func (s *loopSetup) doChat(t *testing.T, stream bool, ups []loopUpstream) *httptest.ResponseRecorder {
	t.Helper()
	refs := make([]string, 0, len(ups))
	for _, u := range ups {
		refs = append(refs, u.id+":m")
	}
	return s.do(t, "/v1/chat/completions", chatBody(stream, refs[0], refs[1:]...))
}

// checkAnswer checks an answer's status, attempts header and error code
// (when code is set), and that the provider and model headers name
// provider (none when it is empty).
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, status int, attempts, code, provider string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if got := w.Header().Get(hdrAttempts); got != attempts {
		t.Errorf("%s: %q, want %q", hdrAttempts, got, attempts)
	}
	if code != "" {
		if e := decodeError(t, w); e.Error.Code != code {
			t.Errorf("error code %q, want %q: %s", e.Error.Code, code, w.Body)
		}
	}
	wantModel := ""
	if provider != "" {
		wantModel = "m"
	}
	if got := w.Header().Get(hdrProvider); got != provider {
		t.Errorf("%s: %q, want %q", hdrProvider, got, provider)
	}
	if got := w.Header().Get(hdrModel); got != wantModel {
		t.Errorf("%s: %q, want %q", hdrModel, got, wantModel)
	}
}

// checkAttempts checks which keys each upstream saw and the retry action
// of each attempt, and returns the request's usage events.
func (s *loopSetup) checkAttempts(t *testing.T, w *httptest.ResponseRecorder, ups []loopUpstream, seen map[string][]string, actions []string) []*store.UsageEvent {
	t.Helper()
	for _, u := range ups {
		if got, want := strings.Join(s.providers[u.id].keys(), ","), strings.Join(seen[u.id], ","); got != want {
			t.Errorf("%s saw keys [%s], want [%s]", u.id, got, want)
		}
	}
	evs := usageOf(t, s.app, w.Header().Get(hdrRequestID))
	if got, want := strings.Join(actionsOf(evs), ","), strings.Join(actions, ","); got != want {
		t.Fatalf("retry actions [%s], want [%s]", got, want)
	}
	return evs
}

// usageOf returns the usage events of a request in attempt order, once
// everything recorded so far is committed: the usage writer commits in
// order, so a marker event enqueued now is visible only after them.
func usageOf(t *testing.T, app *App, requestID string) []*store.UsageEvent {
	t.Helper()
	marker := ids.New("req")
	app.shared.Usage.RecordUsage(&store.UsageEvent{ID: ids.New("ue"), RequestID: marker, Attempt: 1, Timestamp: time.Now().UTC(),
		ProviderID: "marker", Model: "marker", Endpoint: "chat.completions", RetryAction: store.RetrySucceeded})
	for give := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if evs, err := app.Manage().RequestUsage(context.Background(), marker); err == nil && len(evs) == 1 {
			break
		}
		if time.Now().After(give) {
			t.Fatal("the usage writer never committed")
		}
	}
	evs, err := app.Manage().RequestUsage(context.Background(), requestID)
	if err != nil && len(evs) == 0 {
		t.Fatalf("usage of %s: %v", requestID, err)
	}
	return evs
}

func actionsOf(evs []*store.UsageEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ProviderID + ":" + e.RetryAction
	}
	return out
}

// gatewayError is a gateway error body in OpenAI's shape.
type gatewayError struct {
	Error struct {
		Message  string `json:"message"`
		Type     string `json:"type"`
		Code     string `json:"code"`
		Attempts []struct {
			Provider string `json:"provider"`
			Model    string `json:"model"`
			Status   int    `json:"status"`
			Error    string `json:"error"`
		} `json:"attempts"`
	} `json:"error"`
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) gatewayError {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answer Content-Type %q: %s", ct, w.Body)
	}
	var e gatewayError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	return e
}

// chatText is the assistant text of an OpenAI chat completion.
func chatText(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Object != "chat.completion" || len(v.Choices) != 1 || v.Choices[0].Message.Role != "assistant" {
		t.Fatalf("not a chat completion (%v): %s", err, body)
	}
	return v.Choices[0].Message.Content
}

// chatBody is a chat request for model with the fallbacks.
func chatBody(stream bool, model string, fallbacks ...string) string {
	b, _ := json.Marshal(map[string]any{"model": model, "models": fallbacks, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	return string(b)
}

// TestAttemptLoop: one request per case through ServeHTTP; the case's
// providers are tried in the order the request names them (alpha, then
// beta, then gamma).
func TestAttemptLoop(t *testing.T) {
	t.Parallel()
	const long, short = 10 * time.Second, 90 * time.Millisecond
	type want struct {
		status   int
		code     string // a gateway error's code; "" for an answer
		text     string // the served answer's text
		provider string
		attempts string
		seen     map[string][]string // provider → the keys of its requests, in order
		actions  []string            // provider:retryAction per attempt
	}
	cases := []struct {
		name              string
		perRequest, total time.Duration
		ups               []loopUpstream
		want              want
		check             func(t *testing.T, w *httptest.ResponseRecorder, evs []*store.UsageEvent)
	}{
		{
			name: "401 from the first managed key: the next key of the provider serves",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0", "sk-alpha-1"}, script: byKey(map[string]script{
					"sk-alpha-0": fails(http.StatusUnauthorized), "sk-alpha-1": answers("from alpha key 1")})},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 200, text: "from alpha key 1", provider: "alpha", attempts: "2",
				seen:    map[string][]string{"alpha": {"sk-alpha-0", "sk-alpha-1"}},
				actions: []string{"alpha:next_key", "alpha:succeeded"}},
		},
		{
			name: "429 with Retry-After 1: the same key once more, then served",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: inTurn(fails(http.StatusTooManyRequests, "Retry-After", "1"), answers("from alpha, retried"))},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 200, text: "from alpha, retried", provider: "alpha", attempts: "2",
				seen:    map[string][]string{"alpha": {"sk-alpha-0", "sk-alpha-0"}},
				actions: []string{"alpha:retry_same_backend", "alpha:succeeded"}},
		},
		{
			name: "429 with a long Retry-After: the next key, no waiting",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0", "sk-alpha-1"}, script: byKey(map[string]script{
					"sk-alpha-0": fails(http.StatusTooManyRequests, "Retry-After", "60"), "sk-alpha-1": answers("from alpha key 1")})},
			},
			want: want{status: 200, text: "from alpha key 1", provider: "alpha", attempts: "2",
				seen:    map[string][]string{"alpha": {"sk-alpha-0", "sk-alpha-1"}},
				actions: []string{"alpha:next_key", "alpha:succeeded"}},
		},
		{
			name: "429 with a long Retry-After on the only key: the next target",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: fails(http.StatusTooManyRequests, "Retry-After", "60")},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 200, text: "from beta", provider: "beta", attempts: "2",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "beta": {"sk-beta-0"}},
				actions: []string{"alpha:next_backend", "beta:succeeded"}},
		},
		{
			name: "a lone model answering 429 twice: the client gets the 429 with its Retry-After",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: fails(http.StatusTooManyRequests, "Retry-After", "1")},
			},
			want: want{status: 429, attempts: "2",
				seen:    map[string][]string{"alpha": {"sk-alpha-0", "sk-alpha-0"}},
				actions: []string{"alpha:retry_same_backend", "alpha:exhausted"}},
			check: func(t *testing.T, w *httptest.ResponseRecorder, _ []*store.UsageEvent) {
				if ra := w.Header().Get("Retry-After"); ra != "1" {
					t.Errorf("Retry-After %q", ra)
				}
				if e := decodeError(t, w); e.Error.Message != "scripted 429" || e.Error.Code != "scripted" {
					t.Errorf("the provider's error was not passed through: %s", w.Body)
				}
			},
		},
		{
			name: "5xx: the next target",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0", "sk-alpha-1"}, script: fails(http.StatusInternalServerError)},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 200, text: "from beta", provider: "beta", attempts: "2",
				// a provider failure is not the key's: its other key is not tried
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "beta": {"sk-beta-0"}},
				actions: []string{"alpha:next_backend", "beta:succeeded"}},
		},
		{
			name: "connection refused: the next target",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 200, text: "from beta", provider: "beta", attempts: "2",
				seen:    map[string][]string{"beta": {"sk-beta-0"}},
				actions: []string{"alpha:next_backend", "beta:succeeded"}},
			check: func(t *testing.T, _ *httptest.ResponseRecorder, evs []*store.UsageEvent) {
				if evs[0].Status != 0 || !strings.Contains(evs[0].Error, "connection failed") {
					t.Errorf("refused attempt recorded as %d %q", evs[0].Status, evs[0].Error)
				}
			},
		},
		{
			name: "every target fails: 502 all_providers_failed listing each attempt",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: fails(http.StatusServiceUnavailable)},
				{id: "beta", keys: []string{"sk-beta-0"}},
				{id: "gamma", keys: []string{"sk-gamma-0"}, script: fails(http.StatusInternalServerError)},
			},
			want: want{status: 502, code: "all_providers_failed", attempts: "3",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "gamma": {"sk-gamma-0"}},
				actions: []string{"alpha:next_backend", "beta:next_backend", "gamma:exhausted"}},
			check: func(t *testing.T, w *httptest.ResponseRecorder, _ []*store.UsageEvent) {
				e := decodeError(t, w)
				var got []string
				for _, a := range e.Error.Attempts {
					got = append(got, fmt.Sprintf("%s:%s %d", a.Provider, a.Model, a.Status))
					if a.Error == "" {
						t.Errorf("attempt %s:%s without an error", a.Provider, a.Model)
					}
				}
				if strings.Join(got, ", ") != "alpha:m 503, beta:m 0, gamma:m 500" {
					t.Errorf("attempts listed: %v", got)
				}
				for _, p := range []string{"alpha:m", "beta:m", "gamma:m"} {
					if !strings.Contains(e.Error.Message, p) {
						t.Errorf("message does not name %s: %q", p, e.Error.Message)
					}
				}
			},
		},
		{
			name: "400 from the provider: failed fast, passed through as it came",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0", "sk-alpha-1"}, script: fails(http.StatusBadRequest, "X-Provider-Trace", "t-1")},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 400, attempts: "1",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}},
				actions: []string{"alpha:fail_fast"}},
			check: func(t *testing.T, w *httptest.ResponseRecorder, _ []*store.UsageEvent) {
				if got := w.Body.String(); got != `{"error":{"message":"scripted 400","type":"scripted_error","code":"scripted"}}` {
					t.Errorf("body %s", got)
				}
				if w.Header().Get("X-Provider-Trace") != "t-1" {
					t.Errorf("the provider's headers were not passed on: %v", w.Header())
				}
			},
		},
		{
			name:       "per-request timeout: the next target",
			perRequest: short,
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: hangs},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 200, text: "from beta", provider: "beta", attempts: "2",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "beta": {"sk-beta-0"}},
				actions: []string{"alpha:next_backend", "beta:succeeded"}},
			check: func(t *testing.T, _ *httptest.ResponseRecorder, evs []*store.UsageEvent) {
				if !strings.Contains(evs[0].Error, "per_request_timeout") {
					t.Errorf("timed-out attempt recorded with error %q", evs[0].Error)
				}
			},
		},
		{
			name:       "total timeout before the next target: 504 total_timeout",
			perRequest: long, total: short,
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: hangs},
				{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")},
			},
			want: want{status: 504, code: "total_timeout", attempts: "1",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}},
				actions: []string{"alpha:exhausted"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			per, total := tc.perRequest, tc.total
			if per == 0 {
				per = long
			}
			if total == 0 {
				total = 2 * long
			}
			s := newLoopSetup(t, per, total, nil, tc.ups...)
			w := s.doChat(t, false, tc.ups)
			checkAnswer(t, w, tc.want.status, tc.want.attempts, tc.want.code, tc.want.provider)
			if tc.want.text != "" {
				if got := chatText(t, w.Body.Bytes()); got != tc.want.text {
					t.Errorf("answer %q, want %q", got, tc.want.text)
				}
			}
			evs := s.checkAttempts(t, w, tc.ups, tc.want.seen, tc.want.actions)
			for i, e := range evs {
				if e.Attempt != i+1 || e.Endpoint != "chat.completions" || e.KeySource != routing.SourceManaged || e.Model != "m" {
					t.Errorf("event %d: %+v", i, e)
				}
			}
			if last := evs[len(evs)-1]; tc.want.status == 200 && (last.Status != 200 || last.InputTokens != 5 || last.OutputTokens != 3 || last.Cost == 0) {
				t.Errorf("served attempt recorded as %+v", last)
			}
			if tc.check != nil {
				tc.check(t, w, evs)
			}
		})
	}
}

// TestAttemptLoopRefusedKeyCoolsDown: a managed key the provider refused
// (401) is tried after the healthy key by later requests, whatever the
// rotation over the provider's keys would start with.
func TestAttemptLoopRefusedKeyCoolsDown(t *testing.T) {
	t.Parallel()
	s := newLoopSetup(t, 10*time.Second, 20*time.Second, nil,
		loopUpstream{id: "alpha", keys: []string{"sk-alpha-0", "sk-alpha-1"}, script: byKey(map[string]script{
			"sk-alpha-0": fails(http.StatusUnauthorized), "sk-alpha-1": answers("ok")})})
	body := chatBody(false, "alpha:m")
	for i := 0; i < 4; i++ {
		w := s.do(t, "/v1/chat/completions", body)
		if w.Code != 200 || chatText(t, w.Body.Bytes()) != "ok" {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
		wantAttempts, wantActions := "1", "alpha:succeeded"
		if i == 0 {
			wantAttempts, wantActions = "2", "alpha:next_key,alpha:succeeded"
		}
		if got := w.Header().Get(hdrAttempts); got != wantAttempts {
			t.Errorf("request %d: %s %q, want %q", i, hdrAttempts, got, wantAttempts)
		}
		if got := strings.Join(actionsOf(usageOf(t, s.app, w.Header().Get(hdrRequestID))), ","); got != wantActions {
			t.Errorf("request %d: retry actions [%s], want [%s]", i, got, wantActions)
		}
	}
	if got := strings.Join(s.providers["alpha"].keys(), ","); got != "sk-alpha-0,sk-alpha-1,sk-alpha-1,sk-alpha-1,sk-alpha-1" {
		t.Fatalf("alpha saw keys %s: the refused key was tried again while cooling down", got)
	}
}

// TestAttemptLoopAllKeysRefused: a provider refusing every managed key is
// the operator's problem, not the client's credentials: 502, never the
// provider's 401.
func TestAttemptLoopAllKeysRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		keys     []string
		code     string
		attempts string
		actions  string
	}{
		{[]string{"sk-alpha-0"}, "provider_auth_failed", "1", "alpha:exhausted"},
		{[]string{"sk-alpha-0", "sk-alpha-1"}, "all_providers_failed", "2", "alpha:next_key,alpha:exhausted"},
	} {
		t.Run(fmt.Sprintf("%d keys", len(tc.keys)), func(t *testing.T) {
			t.Parallel()
			s := newLoopSetup(t, 10*time.Second, 20*time.Second, nil,
				loopUpstream{id: "alpha", keys: tc.keys, script: fails(http.StatusUnauthorized)})
			w := s.do(t, "/v1/chat/completions", chatBody(false, "alpha:m"))
			if w.Code != http.StatusBadGateway {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if e := decodeError(t, w); e.Error.Code != tc.code {
				t.Errorf("code %q, want %q: %s", e.Error.Code, tc.code, w.Body)
			}
			if got := w.Header().Get(hdrAttempts); got != tc.attempts {
				t.Errorf("%s %q, want %q", hdrAttempts, got, tc.attempts)
			}
			if got := strings.Join(s.providers["alpha"].keys(), ","); got != strings.Join(tc.keys, ",") {
				t.Errorf("alpha saw keys %s", got)
			}
			if got := strings.Join(actionsOf(usageOf(t, s.app, w.Header().Get(hdrRequestID))), ","); got != tc.actions {
				t.Errorf("retry actions [%s], want [%s]", got, tc.actions)
			}
		})
	}
}

// TestCrossFormat: a request is served by a provider of the other wire
// format: the body is translated there, the provider's own auth is used,
// and the answer is translated back into the client's format.
func TestCrossFormat(t *testing.T) {
	t.Parallel()
	t.Run("OpenAI chat request, Anthropic provider", func(t *testing.T) {
		t.Parallel()
		s := newLoopSetup(t, 10*time.Second, 20*time.Second, nil, loopUpstream{id: "claude", format: "anthropic", keys: []string{"sk-ant-claude-0"},
			script: func(w http.ResponseWriter, _ *http.Request, _ int, _ seenRequest) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(anthropicMessageJSON("from claude"))
			}})
		w := s.do(t, "/v1/chat/completions",
			`{"model":"claude:m","max_tokens":64,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if got := chatText(t, w.Body.Bytes()); got != "from claude" {
			t.Errorf("answer %q", got)
		}
		var u struct {
			Usage struct {
				Prompt     int `json:"prompt_tokens"`
				Completion int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if json.Unmarshal(w.Body.Bytes(), &u); u.Usage.Prompt != 5 || u.Usage.Completion != 3 {
			t.Errorf("usage not translated: %s", w.Body)
		}
		if w.Header().Get(hdrProvider) != "claude" || w.Header().Get(hdrModel) != "m" || w.Header().Get(hdrAttempts) != "1" {
			t.Errorf("headers %v", w.Header())
		}
		seen := s.providers["claude"].requests()
		if len(seen) != 1 {
			t.Fatalf("claude saw %d requests", len(seen))
		}
		r := seen[0]
		if r.Path != "/v1/messages" || r.APIKey != "sk-ant-claude-0" || r.Authorization != "" || r.Header.Get("Anthropic-Version") == "" {
			t.Errorf("upstream request %s x-api-key=%q authorization=%q anthropic-version=%q", r.Path, r.APIKey, r.Authorization, r.Header.Get("Anthropic-Version"))
		}
		var body struct {
			Model     string `json:"model"`
			MaxTokens int    `json:"max_tokens"`
			System    any    `json:"system"`
			Messages  []struct {
				Role string `json:"role"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Model != "m" || body.MaxTokens != 64 || body.System == nil ||
			len(body.Messages) != 1 || body.Messages[0].Role != "user" {
			t.Errorf("not an Anthropic messages body (%v): %s", err, r.Body)
		}
		evs := usageOf(t, s.app, w.Header().Get(hdrRequestID))
		if got := strings.Join(actionsOf(evs), ","); got != "claude:succeeded" || evs[0].InputTokens != 5 || evs[0].OutputTokens != 3 || evs[0].Endpoint != "chat.completions" {
			t.Errorf("usage [%s] %+v", got, evs[0])
		}
	})
	t.Run("Anthropic messages request, OpenAI provider", func(t *testing.T) {
		t.Parallel()
		s := newLoopSetup(t, 10*time.Second, 20*time.Second, nil, loopUpstream{id: "gpt", keys: []string{"sk-gpt-0"}, script: answers("from gpt")})
		r := httptest.NewRequest(http.MethodPost, "/v1/messages",
			strings.NewReader(`{"model":"gpt:m","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`))
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
		r.Header.Set("Anthropic-Version", "2023-06-01")
		w := httptest.NewRecorder()
		if err := s.g.ServeHTTP(w, r, nopHandler); err != nil || w.Code != 200 {
			t.Fatalf("%d %v %s", w.Code, err, w.Body)
		}
		var msg struct {
			Type    string `json:"type"`
			Role    string `json:"role"`
			Content []struct {
				Type, Text string
			} `json:"content"`
			Usage struct {
				In  int `json:"input_tokens"`
				Out int `json:"output_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &msg); err != nil || msg.Type != "message" || msg.Role != "assistant" ||
			len(msg.Content) != 1 || msg.Content[0].Text != "from gpt" || msg.Usage.In != 5 || msg.Usage.Out != 3 {
			t.Errorf("not an Anthropic message (%v): %s", err, w.Body)
		}
		seen := s.providers["gpt"].requests()
		if len(seen) != 1 {
			t.Fatalf("gpt saw %d requests", len(seen))
		}
		up := seen[0]
		if up.Path != "/v1/chat/completions" || up.Authorization != "Bearer sk-gpt-0" || up.APIKey != "" || up.Header.Get("Anthropic-Version") != "" {
			t.Errorf("upstream request %s authorization=%q x-api-key=%q anthropic-version=%q", up.Path, up.Authorization, up.APIKey, up.Header.Get("Anthropic-Version"))
		}
		if !bytes.Contains(up.Body, []byte(`"messages"`)) || !bytes.Contains(up.Body, []byte(`"model":"m"`)) {
			t.Errorf("not an OpenAI chat body: %s", up.Body)
		}
	})
	t.Run("Anthropic provider's 400 comes back in OpenAI's shape", func(t *testing.T) {
		t.Parallel()
		s := newLoopSetup(t, 10*time.Second, 20*time.Second, nil,
			loopUpstream{id: "claude", format: "anthropic", keys: []string{"sk-ant-claude-0"},
				script: func(w http.ResponseWriter, _ *http.Request, _ int, _ seenRequest) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"type":"error","error":{"type":"invalid_request_error","message":"messages: too short"}}`))
				}},
			loopUpstream{id: "beta", keys: []string{"sk-beta-0"}, script: answers("from beta")})
		w := s.do(t, "/v1/chat/completions", chatBody(false, "claude:m", "beta:m"))
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if e := decodeError(t, w); !strings.Contains(e.Error.Message, "messages: too short") {
			t.Errorf("error not in OpenAI's shape: %s", w.Body)
		}
		if n := len(s.providers["beta"].requests()); n != 0 {
			t.Errorf("beta asked %d times after a 400", n)
		}
	})
}
