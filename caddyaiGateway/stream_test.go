package caddyaigateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
)

// Stream scripts. Each event is flushed as it is written.

func writeEvent(w http.ResponseWriter, name, data string) {
	if name != "" {
		fmt.Fprintf(w, "event: %s\n", name)
	}
	fmt.Fprintf(w, "data: %s\n\n", data)
	w.(http.Flusher).Flush()
}

func openAIChunk(id, delta, finish string) string {
	d := map[string]any{}
	if delta != "" {
		d["content"] = delta
	}
	var fr any
	if finish != "" {
		fr = finish
	}
	b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1, "model": "m",
		"choices": []any{map[string]any{"index": 0, "delta": d, "finish_reason": fr}}})
	return string(b)
}

// openAIStreamStart writes the stream's headers and a role chunk (not
// content), then a chunk per part.
func openAIStreamStart(w http.ResponseWriter, id string, parts ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	writeEvent(w, "", `{"id":"`+id+`","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
	for _, p := range parts {
		writeEvent(w, "", openAIChunk(id, p, ""))
	}
}

// streams answers with a whole OpenAI chat stream of parts.
func streams(id string, parts ...string) script {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ seenRequest) {
		openAIStreamStart(w, id, parts...)
		writeEvent(w, "", openAIChunk(id, "", "stop"))
		writeEvent(w, "", `{"id":"`+id+`","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`)
		writeEvent(w, "", "[DONE]")
	}
}

// stallsAfter starts a stream with parts, then says nothing more until
// the gateway gives it up.
func stallsAfter(id string, parts ...string) script {
	return func(w http.ResponseWriter, r *http.Request, n int, seen seenRequest) {
		openAIStreamStart(w, id, parts...)
		hangs(w, r, n, seen)
	}
}

// cutAfter starts a stream with parts and ends it there, without its
// terminal event.
func cutAfter(id string, parts ...string) script {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ seenRequest) {
		openAIStreamStart(w, id, parts...)
	}
}

// anthropicStreams answers with a whole Anthropic messages stream.
func anthropicStreams(parts ...string) script {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ seenRequest) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		writeEvent(w, "message_start", `{"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}`)
		writeEvent(w, "content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		for _, p := range parts {
			b, _ := json.Marshal(p)
			writeEvent(w, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(b)+`}}`)
		}
		writeEvent(w, "content_block_stop", `{"type":"content_block_stop","index":0}`)
		writeEvent(w, "message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}`)
		writeEvent(w, "message_stop", `{"type":"message_stop"}`)
	}
}

// clientStream is what an OpenAI client read from a chat stream.
type clientStream struct {
	text     string   // the content deltas, concatenated
	ids      []string // chunk ids
	last     string   // the last event's data
	errorMsg string   // an error chunk's message
	events   int
}

func readChatStream(t *testing.T, body []byte) clientStream {
	t.Helper()
	var cs clientStream
	rd := sse.NewReader(bytes.NewReader(body))
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		if ev.Data == nil {
			continue
		}
		cs.events++
		cs.last = string(ev.Data)
		if cs.last == "[DONE]" {
			continue
		}
		var c struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			t.Fatalf("event %q: %v", ev.Data, err)
		}
		if c.Error != nil {
			cs.errorMsg = c.Error.Message
			continue
		}
		if c.Object != "chat.completion.chunk" {
			t.Fatalf("not a chat chunk: %s", ev.Data)
		}
		cs.ids = append(cs.ids, c.ID)
		for _, ch := range c.Choices {
			cs.text += ch.Delta.Content
		}
	}
	return cs
}

// TestStreamFailover: streamed chat requests through ServeHTTP; failover
// before the first content is invisible to the client, a stall after it
// continues the answer on the next candidate in the same response.
func TestStreamFailover(t *testing.T) {
	t.Parallel()
	const short = 90 * time.Millisecond
	type want struct {
		status   int
		code     string // a gateway error's code (a JSON answer)
		text     string // the streamed text
		terminal string // the last event's data: "[DONE]", or "error" for an error chunk
		provider string
		attempts string
		seen     map[string][]string
		actions  []string
	}
	cases := []struct {
		name  string
		fo    *FailoverConfig
		ups   []loopUpstream
		want  want
		check func(t *testing.T, s *loopSetup, w *httptest.ResponseRecorder, evs []*store.UsageEvent)
	}{
		{
			name: "stall before the first content: the next target, nothing of the first sent",
			fo:   &FailoverConfig{FirstTokenTimeout: caddy.Duration(short)},
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: stallsAfter("chatcmpl-alpha")},
				{id: "beta", keys: []string{"sk-beta-0"}, script: streams("chatcmpl-beta", "from ", "beta")},
			},
			want: want{status: 200, text: "from beta", terminal: "[DONE]", provider: "beta", attempts: "2",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "beta": {"sk-beta-0"}},
				actions: []string{"alpha:next_backend", "beta:succeeded"}},
			check: func(t *testing.T, _ *loopSetup, w *httptest.ResponseRecorder, evs []*store.UsageEvent) {
				if bytes.Contains(w.Body.Bytes(), []byte("chatcmpl-alpha")) {
					t.Errorf("the abandoned stream's events reached the client: %s", w.Body)
				}
				if !strings.Contains(evs[0].Error, "first_token_timeout") {
					t.Errorf("abandoned attempt recorded with error %q", evs[0].Error)
				}
			},
		},
		{
			name: "stall after content: continued on the next candidate in the same response",
			fo:   &FailoverConfig{StreamIdleTimeout: caddy.Duration(short)},
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: stallsAfter("chatcmpl-alpha", "Hello")},
				{id: "beta", keys: []string{"sk-beta-0"}, script: streams("chatcmpl-beta", " world")},
			},
			// the headers went out with the first provider's answer
			want: want{status: 200, text: "Hello world", terminal: "[DONE]", provider: "alpha", attempts: "1",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "beta": {"sk-beta-0"}},
				actions: []string{"alpha:next_backend", "beta:succeeded"}},
			check: checkContinuation,
		},
		{
			name: "stream cut after content: continued on the next candidate in the same response",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: cutAfter("chatcmpl-alpha", "Hello")},
				{id: "beta", keys: []string{"sk-beta-0"}, script: streams("chatcmpl-beta", " world")},
			},
			want: want{status: 200, text: "Hello world", terminal: "[DONE]", provider: "alpha", attempts: "1",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "beta": {"sk-beta-0"}},
				actions: []string{"alpha:next_backend", "beta:succeeded"}},
			check: checkContinuation,
		},
		{
			name: "stall after content, continued by a provider of the other format",
			fo:   &FailoverConfig{StreamIdleTimeout: caddy.Duration(short)},
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: stallsAfter("chatcmpl-alpha", "Hello")},
				{id: "claude", format: "anthropic", keys: []string{"sk-ant-claude-0"}, script: anthropicStreams(" world")},
			},
			want: want{status: 200, text: "Hello world", terminal: "[DONE]", provider: "alpha", attempts: "1",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}, "claude": {"sk-ant-claude-0"}},
				actions: []string{"alpha:next_backend", "claude:succeeded"}},
			check: func(t *testing.T, s *loopSetup, _ *httptest.ResponseRecorder, _ []*store.UsageEvent) {
				r := s.providers["claude"].requests()[0]
				var body struct {
					Messages []struct {
						Role    string          `json:"role"`
						Content json.RawMessage `json:"content"`
					} `json:"messages"`
				}
				if err := json.Unmarshal(r.Body, &body); err != nil || r.Path != "/v1/messages" || len(body.Messages) < 2 {
					t.Fatalf("continuation request %s (%v): %s", r.Path, err, r.Body)
				}
				last := body.Messages[len(body.Messages)-1]
				if last.Role != "assistant" || !bytes.Contains(last.Content, []byte("Hello")) {
					t.Errorf("the delivered text is not the assistant prefill: %s", r.Body)
				}
			},
		},
		{
			name: "stall after content and nothing to continue on: a well-formed error event ends the stream",
			fo:   &FailoverConfig{StreamIdleTimeout: caddy.Duration(short)},
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: stallsAfter("chatcmpl-alpha", "Hello")},
			},
			want: want{status: 200, text: "Hello", terminal: "error", provider: "alpha", attempts: "1",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}},
				actions: []string{"alpha:exhausted"}},
		},
		{
			name: "stream cut before content as the only attempt: 502 JSON, never an empty 200",
			ups: []loopUpstream{
				{id: "alpha", keys: []string{"sk-alpha-0"}, script: cutAfter("chatcmpl-alpha")},
			},
			want: want{status: 502, code: "all_providers_failed", attempts: "1",
				seen:    map[string][]string{"alpha": {"sk-alpha-0"}},
				actions: []string{"alpha:exhausted"}},
			check: func(t *testing.T, _ *loopSetup, w *httptest.ResponseRecorder, evs []*store.UsageEvent) {
				if bytes.Contains(w.Body.Bytes(), []byte("chatcmpl-alpha")) {
					t.Errorf("the cut stream's events reached the client: %s", w.Body)
				}
				if evs[0].Status != http.StatusBadGateway {
					t.Errorf("cut attempt recorded with status %d", evs[0].Status)
				}
			},
		},
		{
			name: "an Anthropic provider's stream, translated for an OpenAI client",
			ups: []loopUpstream{
				{id: "claude", format: "anthropic", keys: []string{"sk-ant-claude-0"}, script: anthropicStreams("from ", "claude")},
			},
			want: want{status: 200, text: "from claude", terminal: "[DONE]", provider: "claude", attempts: "1",
				seen:    map[string][]string{"claude": {"sk-ant-claude-0"}},
				actions: []string{"claude:succeeded"}},
			check: func(t *testing.T, s *loopSetup, w *httptest.ResponseRecorder, evs []*store.UsageEvent) {
				r := s.providers["claude"].requests()[0]
				if r.Path != "/v1/messages" || r.Authorization != "" || r.Header.Get("Anthropic-Version") == "" ||
					!bytes.Contains(r.Body, []byte(`"stream":true`)) {
					t.Errorf("upstream request %s authorization=%q: %s", r.Path, r.Authorization, r.Body)
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
					t.Errorf("Content-Type %q", ct)
				}
				if evs[0].InputTokens != 5 || evs[0].OutputTokens != 3 || evs[0].UsageEstimated {
					t.Errorf("usage recorded as %+v", evs[0])
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newLoopSetup(t, 10*time.Second, 20*time.Second, tc.fo, tc.ups...)
			w := s.doChat(t, true, tc.ups)
			checkAnswer(t, w, tc.want.status, tc.want.attempts, tc.want.code, tc.want.provider)
			if tc.want.code == "" {
				cs := readChatStream(t, w.Body.Bytes())
				if cs.text != tc.want.text {
					t.Errorf("streamed text %q, want %q", cs.text, tc.want.text)
				}
				switch tc.want.terminal {
				case "error":
					if cs.errorMsg == "" || !strings.Contains(cs.last, `"error"`) {
						t.Errorf("the stream does not end with an error event: %s", w.Body)
					}
				default:
					if cs.last != tc.want.terminal || cs.errorMsg != "" {
						t.Errorf("the stream ends with %q (error %q), want %q: %s", cs.last, cs.errorMsg, tc.want.terminal, w.Body)
					}
				}
				if n := strings.Count(w.Body.String(), "[DONE]"); n > 1 {
					t.Errorf("[DONE] sent %d times: %s", n, w.Body)
				}
			}
			evs := s.checkAttempts(t, w, tc.ups, tc.want.seen, tc.want.actions)
			for i, e := range evs {
				if e.Attempt != i+1 || !e.Streaming || e.Endpoint != "chat.completions" {
					t.Errorf("event %d: %+v", i, e)
				}
			}
			if tc.check != nil {
				tc.check(t, s, w, evs)
			}
		})
	}
}

// checkContinuation: beta was asked to continue alpha's answer (the
// delivered text as an assistant message, then the instruction), and
// alpha's delivered part is recorded as well as beta's.
func checkContinuation(t *testing.T, s *loopSetup, _ *httptest.ResponseRecorder, evs []*store.UsageEvent) {
	t.Helper()
	r := s.providers["beta"].requests()[0]
	var body struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || !body.Stream || len(body.Messages) != 3 {
		t.Fatalf("continuation request (%v): %s", err, r.Body)
	}
	if m := body.Messages[1]; m.Role != "assistant" || m.Content != "Hello" {
		t.Errorf("delivered text not sent as the assistant's: %+v", m)
	}
	if m := body.Messages[2]; m.Role != "user" || m.Content != translate.ContinueInstruction {
		t.Errorf("no continuation instruction: %+v", m)
	}
	if evs[0].OutputTokens == 0 {
		t.Errorf("the delivered part of the first attempt is not recorded: %+v", evs[0])
	}
	if evs[1].Status != 200 || evs[1].OutputTokens != 3 {
		t.Errorf("the continuation is recorded as %+v", evs[1])
	}
}
