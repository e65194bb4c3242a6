package fakeprovider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- helpers ---------------------------------------------------------------

const defaultWords = 10 // words in DefaultReply

var anthropicHeaders = []string{"anthropic-version", "2023-06-01"}

func start(t *testing.T, o Options) (*Server, string) {
	t.Helper()
	fp := New(o)
	ts := httptest.NewServer(fp)
	t.Cleanup(ts.Close)
	return fp, ts.URL
}

// send performs a request; body is sent verbatim if it is a string and as
// JSON otherwise; hdr holds header name/value pairs.
func send(t *testing.T, ctx context.Context, method, url string, body any, hdr ...string) *http.Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		r = bytes.NewReader(must(json.Marshal(b)))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// post sends a POST and returns the response with its whole body.
func post(t *testing.T, url string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	resp := send(t, context.Background(), http.MethodPost, url, body, hdr...)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, b
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// obj decodes b into a generic JSON object, failing the test otherwise.
func obj(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return m
}

// get walks a decoded JSON value along a path of keys and indexes, e.g.
// get(m, "choices", 0, "message", "content").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func num(v any) int { f, _ := v.(float64); return int(f) }

func wantEq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

type sseEvent struct{ Event, Data string }

// readSSE parses a Server-Sent Events stream strictly (only "event:" and
// "data:" lines are expected). The error is the read error, e.g.
// io.ErrUnexpectedEOF for a cut stream.
func readSSE(r io.Reader) ([]sseEvent, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var evs []sseEvent
	var cur sseEvent
	pending := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if pending {
				evs = append(evs, cur)
			}
			cur, pending = sseEvent{}, false
		case strings.HasPrefix(line, "event: "):
			cur.Event, pending = line[len("event: "):], true
		case strings.HasPrefix(line, "data: "):
			if cur.Data != "" {
				cur.Data += "\n"
			}
			cur.Data, pending = cur.Data+line[len("data: "):], true
		default:
			return evs, fmt.Errorf("unexpected SSE line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return evs, err
	}
	if pending {
		return evs, errors.New("stream ended inside an event")
	}
	return evs, nil
}

// stream posts body and parses the SSE answer, requiring a clean end.
func stream(t *testing.T, url string, body any, hdr ...string) (*http.Response, []sseEvent) {
	t.Helper()
	resp := send(t, context.Background(), http.MethodPost, url, body, hdr...)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	evs, err := readSSE(resp.Body)
	if err != nil {
		t.Fatalf("reading stream: %v", err)
	}
	return resp, evs
}

func chatBody(extra map[string]any) map[string]any {
	b := map[string]any{"model": "gpt-4o", "messages": []any{map[string]any{"role": "user", "content": "hello"}}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func anthropicBody(extra map[string]any) map[string]any {
	b := map[string]any{"model": "claude-x", "max_tokens": 100, "messages": []any{map[string]any{"role": "user", "content": "hello"}}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

var chatTools = []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "parameters": map[string]any{}}}}

// ---- OpenAI Chat Completions -----------------------------------------------

func TestChatJSON(t *testing.T) {
	tests := []struct {
		name         string
		opts         Options
		extra        map[string]any
		hdr          []string
		wantContent  any
		wantFinish   string
		wantTool     bool
		wantPrompt   int // "hello" = 5 bytes = 2 tokens, plus cached
		wantComplete int
	}{
		{name: "text", wantContent: DefaultReply, wantFinish: "stop", wantPrompt: 2, wantComplete: defaultWords},
		{name: "cache and reasoning", opts: Options{CacheReadTokens: 50, ReasoningTokens: 7},
			wantContent: DefaultReply, wantFinish: "stop", wantPrompt: 52, wantComplete: defaultWords + 7},
		{name: "max_tokens", extra: map[string]any{"max_tokens": 3}, wantContent: "Hello from the", wantFinish: "length", wantPrompt: 2, wantComplete: 3},
		{name: "max_completion_tokens", extra: map[string]any{"max_completion_tokens": 1}, wantContent: "Hello", wantFinish: "length", wantPrompt: 2, wantComplete: 1},
		{name: "reply header", hdr: []string{HeaderReply, "one two"}, wantContent: "one two", wantFinish: "stop", wantPrompt: 2, wantComplete: 2},
		{name: "reply option", opts: Options{Reply: "just this"}, wantContent: "just this", wantFinish: "stop", wantPrompt: 2, wantComplete: 2},
		{name: "tools", extra: map[string]any{"tools": chatTools}, wantContent: nil, wantFinish: "tool_calls", wantTool: true, wantPrompt: 2, wantComplete: 1},
		{name: "tool_choice none", extra: map[string]any{"tools": chatTools, "tool_choice": "none"}, wantContent: DefaultReply, wantFinish: "stop", wantPrompt: 2, wantComplete: defaultWords},
		{name: "answer to tool result", extra: map[string]any{"tools": chatTools, "messages": []any{
			map[string]any{"role": "user", "content": "hello"},
			map[string]any{"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
		}}, wantContent: DefaultReply, wantFinish: "stop", wantPrompt: 3, wantComplete: defaultWords},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, tt.opts)
			resp, b := post(t, url+"/v1/chat/completions", chatBody(tt.extra), tt.hdr...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if !strings.HasPrefix(resp.Header.Get("x-request-id"), "req_") {
				t.Errorf("x-request-id = %q", resp.Header.Get("x-request-id"))
			}
			m := obj(t, b)
			wantEq(t, "object", m["object"], "chat.completion")
			wantEq(t, "model", m["model"], "gpt-4o")
			wantEq(t, "system_fingerprint", m["system_fingerprint"], "fp_fake")
			if !strings.HasPrefix(m["id"].(string), "chatcmpl-") {
				t.Errorf("id = %v", m["id"])
			}
			wantEq(t, "content", get(m, "choices", 0, "message", "content"), tt.wantContent)
			wantEq(t, "role", get(m, "choices", 0, "message", "role"), "assistant")
			wantEq(t, "finish_reason", get(m, "choices", 0, "finish_reason"), tt.wantFinish)
			if tt.wantTool {
				tc := get(m, "choices", 0, "message", "tool_calls", 0)
				wantEq(t, "tool name", get(tc, "function", "name"), "get_weather")
				wantEq(t, "tool args", get(tc, "function", "arguments"), `{"location":"Paris"}`)
				wantEq(t, "tool type", get(tc, "type"), "function")
				if !strings.HasPrefix(get(tc, "id").(string), "call_") {
					t.Errorf("tool call id = %v", get(tc, "id"))
				}
			}
			u := m["usage"]
			wantEq(t, "prompt_tokens", num(get(u, "prompt_tokens")), tt.wantPrompt)
			wantEq(t, "completion_tokens", num(get(u, "completion_tokens")), tt.wantComplete)
			wantEq(t, "total_tokens", num(get(u, "total_tokens")), tt.wantPrompt+tt.wantComplete)
			wantEq(t, "cached_tokens", num(get(u, "prompt_tokens_details", "cached_tokens")), tt.opts.CacheReadTokens)
			wantEq(t, "reasoning_tokens", num(get(u, "completion_tokens_details", "reasoning_tokens")), tt.opts.ReasoningTokens)
		})
	}
}

func TestChatStream(t *testing.T) {
	tests := []struct {
		name         string
		extra        map[string]any
		includeUsage bool
		tools        bool
		wantText     string
		wantFinish   string
	}{
		{name: "text without usage", wantText: DefaultReply, wantFinish: "stop"},
		{name: "text with usage", includeUsage: true, wantText: DefaultReply, wantFinish: "stop"},
		{name: "truncated", includeUsage: true, extra: map[string]any{"max_tokens": 2}, wantText: "Hello from", wantFinish: "length"},
		{name: "tools with usage", includeUsage: true, tools: true, wantFinish: "tool_calls"},
		{name: "tools without usage", tools: true, wantFinish: "tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, Options{})
			body := chatBody(tt.extra)
			body["stream"] = true
			if tt.includeUsage {
				body["stream_options"] = map[string]any{"include_usage": true}
			}
			if tt.tools {
				body["tools"] = chatTools
			}
			_, evs := stream(t, url+"/openai/v1/chat/completions", body)

			if last := evs[len(evs)-1]; last.Data != "[DONE]" || last.Event != "" {
				t.Fatalf("last event = %+v, want data: [DONE]", last)
			}
			chunks := evs[:len(evs)-1]
			var usageChunk map[string]any
			if tt.includeUsage {
				usageChunk = obj(t, []byte(chunks[len(chunks)-1].Data))
				chunks = chunks[:len(chunks)-1]
				wantEq(t, "usage chunk choices", usageChunk["choices"], []any{})
				wantEq(t, "usage prompt_tokens", num(get(usageChunk, "usage", "prompt_tokens")), 2)
			}

			var text, args, toolName string
			var id string
			for i, ev := range chunks {
				c := obj(t, []byte(ev.Data))
				wantEq(t, "object", c["object"], "chat.completion.chunk")
				wantEq(t, "model", c["model"], "gpt-4o")
				if id == "" {
					id = c["id"].(string)
				}
				wantEq(t, "id", c["id"], id)
				u, hasUsage := c["usage"]
				if tt.includeUsage && (!hasUsage || u != nil) {
					t.Errorf("chunk %d: usage = %v (present %v), want null", i, u, hasUsage)
				}
				if !tt.includeUsage && hasUsage {
					t.Errorf("chunk %d carries usage without include_usage", i)
				}
				delta := get(c, "choices", 0, "delta").(map[string]any)
				if i == 0 {
					wantEq(t, "first delta", delta, map[string]any{"role": "assistant", "content": "", "refusal": nil})
					continue
				}
				if s, ok := delta["content"].(string); ok {
					text += s
				}
				if tc := get(delta, "tool_calls", 0); tc != nil {
					wantEq(t, "tool call index", num(get(tc, "index")), 0)
					if n, _ := get(tc, "function", "name").(string); n != "" {
						toolName = n
						if !strings.HasPrefix(get(tc, "id").(string), "call_") {
							t.Errorf("tool call id = %v", get(tc, "id"))
						}
					}
					args += get(tc, "function", "arguments").(string)
				}
				fr := get(c, "choices", 0, "finish_reason")
				if i == len(chunks)-1 {
					wantEq(t, "finish_reason", fr, tt.wantFinish)
					wantEq(t, "final delta", delta, map[string]any{})
				} else if fr != nil {
					t.Errorf("chunk %d: finish_reason = %v before the end", i, fr)
				}
			}
			if tt.tools {
				wantEq(t, "tool name", toolName, "get_weather")
				wantEq(t, "arguments", args, `{"location":"Paris"}`)
				if len(chunks) < 5 {
					t.Errorf("tool call arguments should span several chunks, got %d chunks", len(chunks))
				}
			} else {
				wantEq(t, "text", text, tt.wantText)
				// role chunk + one chunk per word + finish chunk
				wantEq(t, "chunks", len(chunks), len(strings.Fields(tt.wantText))+2)
				if tt.includeUsage {
					wantEq(t, "completion_tokens", num(get(usageChunk, "usage", "completion_tokens")), len(strings.Fields(tt.wantText)))
				}
			}
		})
	}
}

func TestChatValidation(t *testing.T) {
	_, url := start(t, Options{})
	for _, tt := range []struct {
		name, body string
		param      any
	}{
		{"bad json", `{`, nil},
		{"no model", `{"messages":[{"role":"user","content":"x"}]}`, nil},
		{"no messages", `{"model":"gpt-4o"}`, "messages"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, url+"/v1/chat/completions", tt.body)
			wantEq(t, "status", resp.StatusCode, 400)
			m := obj(t, b)
			wantEq(t, "type", get(m, "error", "type"), "invalid_request_error")
			wantEq(t, "param", get(m, "error", "param"), tt.param)
		})
	}
}

// ---- OpenAI Responses ------------------------------------------------------

func TestResponsesJSON(t *testing.T) {
	_, url := start(t, Options{CacheReadTokens: 4, ReasoningTokens: 3})

	resp, b := post(t, url+"/v1/responses", map[string]any{"model": "gpt-4o", "input": "hello", "instructions": "be nice"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	m := obj(t, b)
	wantEq(t, "object", m["object"], "response")
	wantEq(t, "status", m["status"], "completed")
	wantEq(t, "model", m["model"], "gpt-4o")
	wantEq(t, "instructions", m["instructions"], "be nice")
	if !strings.HasPrefix(m["id"].(string), "resp_") {
		t.Errorf("id = %v", m["id"])
	}
	item := get(m, "output", 0)
	wantEq(t, "item type", get(item, "type"), "message")
	wantEq(t, "item status", get(item, "status"), "completed")
	wantEq(t, "item role", get(item, "role"), "assistant")
	wantEq(t, "part", get(item, "content", 0, "type"), "output_text")
	wantEq(t, "text", get(item, "content", 0, "text"), DefaultReply)
	wantEq(t, "annotations", get(item, "content", 0, "annotations"), []any{})
	// "hello" + "be nice" = 12 bytes = 3 tokens, plus 4 cached.
	u := m["usage"]
	wantEq(t, "input_tokens", num(get(u, "input_tokens")), 7)
	wantEq(t, "cached_tokens", num(get(u, "input_tokens_details", "cached_tokens")), 4)
	wantEq(t, "output_tokens", num(get(u, "output_tokens")), defaultWords+3)
	wantEq(t, "reasoning_tokens", num(get(u, "output_tokens_details", "reasoning_tokens")), 3)
	wantEq(t, "total_tokens", num(get(u, "total_tokens")), 7+defaultWords+3)

	// Tools: a function_call output item.
	_, b = post(t, url+"/v1/responses", map[string]any{"model": "gpt-4o", "input": []any{
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "input_text", "text": "weather?"}}},
	}, "tools": []any{map[string]any{"type": "function", "name": "get_weather", "parameters": map[string]any{}}}})
	m = obj(t, b)
	item = get(m, "output", 0)
	wantEq(t, "fc type", get(item, "type"), "function_call")
	wantEq(t, "fc name", get(item, "name"), "get_weather")
	wantEq(t, "fc args", get(item, "arguments"), `{"location":"Paris"}`)
	if !strings.HasPrefix(get(item, "call_id").(string), "call_") {
		t.Errorf("call_id = %v", get(item, "call_id"))
	}

	// Truncation: incomplete.
	_, b = post(t, url+"/v1/responses", map[string]any{"model": "gpt-4o", "input": "hello", "max_output_tokens": 2})
	m = obj(t, b)
	wantEq(t, "status", m["status"], "incomplete")
	wantEq(t, "incomplete_details", m["incomplete_details"], map[string]any{"reason": "max_output_tokens"})
	wantEq(t, "text", get(m, "output", 0, "content", 0, "text"), "Hello from")
}

func TestResponsesStream(t *testing.T) {
	textSeq := []string{
		"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta*", "response.output_text.done", "response.content_part.done",
		"response.output_item.done", "response.completed",
	}
	toolSeq := []string{
		"response.created", "response.in_progress", "response.output_item.added",
		"response.function_call_arguments.delta*", "response.function_call_arguments.done",
		"response.output_item.done", "response.completed",
	}
	truncSeq := append(append([]string{}, textSeq[:len(textSeq)-1]...), "response.incomplete")
	tests := []struct {
		name     string
		extra    map[string]any
		wantSeq  []string
		wantText string
	}{
		{name: "text", wantSeq: textSeq, wantText: DefaultReply},
		{name: "tools", extra: map[string]any{"tools": []any{map[string]any{"type": "function", "name": "get_weather"}}}, wantSeq: toolSeq},
		{name: "truncated", extra: map[string]any{"max_output_tokens": 4}, wantSeq: truncSeq, wantText: "Hello from the fake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, Options{})
			body := map[string]any{"model": "gpt-4o", "input": "hello", "stream": true}
			for k, v := range tt.extra {
				body[k] = v
			}
			_, evs := stream(t, url+"/v1/responses", body)

			var names []string
			var text, args string
			var final map[string]any
			for i, ev := range evs {
				d := obj(t, []byte(ev.Data))
				wantEq(t, "type", d["type"], ev.Event)
				wantEq(t, "sequence_number", num(d["sequence_number"]), i)
				// Runs of delta events collapse into one "name*" entry.
				name := ev.Event
				if strings.HasSuffix(name, ".delta") {
					name += "*"
				}
				if n := len(names); n == 0 || names[n-1] != name || !strings.HasSuffix(name, "*") {
					names = append(names, name)
				}
				switch ev.Event {
				case "response.created", "response.in_progress":
					wantEq(t, "status", get(d, "response", "status"), "in_progress")
					wantEq(t, "usage", get(d, "response", "usage"), nil)
				case "response.output_text.delta":
					text += d["delta"].(string)
					wantEq(t, "item_id set", strings.HasPrefix(d["item_id"].(string), "msg_"), true)
					wantEq(t, "output_index", num(d["output_index"]), 0)
					wantEq(t, "content_index", num(d["content_index"]), 0)
				case "response.output_text.done":
					wantEq(t, "done text", d["text"], tt.wantText)
				case "response.function_call_arguments.delta":
					args += d["delta"].(string)
				case "response.completed", "response.incomplete":
					final = d["response"].(map[string]any)
				}
			}
			wantEq(t, "event sequence", names, tt.wantSeq)
			if tt.wantText != "" {
				wantEq(t, "streamed text", text, tt.wantText)
				wantEq(t, "final text", get(final, "output", 0, "content", 0, "text"), tt.wantText)
				wantEq(t, "output_tokens", num(get(final, "usage", "output_tokens")), len(strings.Fields(tt.wantText)))
			} else {
				wantEq(t, "streamed args", args, `{"location":"Paris"}`)
				wantEq(t, "final args", get(final, "output", 0, "arguments"), `{"location":"Paris"}`)
			}
			wantEq(t, "input_tokens", num(get(final, "usage", "input_tokens")), 2)
		})
	}
}

// ---- OpenAI Embeddings and Models ------------------------------------------

func TestEmbeddings(t *testing.T) {
	_, url := start(t, Options{})
	tests := []struct {
		name       string
		input      any
		extra      map[string]any
		wantN      int
		wantDims   int
		wantTokens int
	}{
		{name: "string", input: "hello world", wantN: 1, wantDims: 8, wantTokens: 3},
		{name: "array", input: []string{"a", "bb", "ccc"}, wantN: 3, wantDims: 8, wantTokens: 2},
		{name: "token ids", input: []int{1, 2, 3, 4, 5}, wantN: 1, wantDims: 8, wantTokens: 5},
		{name: "dimensions", input: "x", extra: map[string]any{"dimensions": 3}, wantN: 1, wantDims: 3, wantTokens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"model": "text-embedding-3-small", "input": tt.input}
			for k, v := range tt.extra {
				body[k] = v
			}
			resp, b := post(t, url+"/v1/embeddings", body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			m := obj(t, b)
			wantEq(t, "object", m["object"], "list")
			wantEq(t, "model", m["model"], "text-embedding-3-small")
			data := m["data"].([]any)
			wantEq(t, "len(data)", len(data), tt.wantN)
			for i, d := range data {
				wantEq(t, "object", get(d, "object"), "embedding")
				wantEq(t, "index", num(get(d, "index")), i)
				wantEq(t, "dims", len(get(d, "embedding").([]any)), tt.wantDims)
			}
			wantEq(t, "prompt_tokens", num(get(m, "usage", "prompt_tokens")), tt.wantTokens)
			wantEq(t, "total_tokens", num(get(m, "usage", "total_tokens")), tt.wantTokens)

			// base64 (the openai-node default) decodes to the same floats.
			body["encoding_format"] = "base64"
			_, b64 := post(t, url+"/v1/embeddings", body)
			raw := must(base64.StdEncoding.DecodeString(get(obj(t, b64), "data", 0, "embedding").(string)))
			wantEq(t, "base64 bytes", len(raw), 4*tt.wantDims)
			for j, f := range get(m, "data", 0, "embedding").([]any) {
				g := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
				if float32(f.(float64)) != g {
					t.Errorf("dim %d: float %v != base64 %v", j, f, g)
				}
			}
		})
	}

	resp, _ := post(t, url+"/v1/embeddings", map[string]any{"model": "m"})
	wantEq(t, "missing input status", resp.StatusCode, 400)
}

func TestModels(t *testing.T) {
	_, url := start(t, Options{})
	resp := send(t, context.Background(), http.MethodGet, url+"/openai/v1/models", nil)
	m := obj(t, must(io.ReadAll(resp.Body)))
	wantEq(t, "object", m["object"], "list")
	if len(m["data"].([]any)) == 0 {
		t.Fatal("no models")
	}
	wantEq(t, "model object", get(m, "data", 0, "object"), "model")
	wantEq(t, "owned_by", get(m, "data", 0, "owned_by"), "fake")

	resp = send(t, context.Background(), http.MethodGet, url+"/v1/models/gpt-4o", nil)
	wantEq(t, "retrieve id", obj(t, must(io.ReadAll(resp.Body)))["id"], "gpt-4o")
	resp = send(t, context.Background(), http.MethodGet, url+"/v1/models/nope", nil)
	wantEq(t, "unknown model status", resp.StatusCode, 404)
}

// ---- Anthropic -------------------------------------------------------------

func TestAnthropicJSON(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		extra     map[string]any
		wantBlock map[string]any
		wantStop  string
		wantIn    int
		wantOut   int
	}{
		{name: "text", wantBlock: map[string]any{"type": "text", "text": DefaultReply}, wantStop: "end_turn", wantIn: 2, wantOut: defaultWords},
		{name: "cache tokens excluded from input", opts: Options{CacheReadTokens: 100, CacheWriteTokens: 20},
			wantBlock: map[string]any{"type": "text", "text": DefaultReply}, wantStop: "end_turn", wantIn: 2, wantOut: defaultWords},
		{name: "max_tokens", extra: map[string]any{"max_tokens": 2}, wantBlock: map[string]any{"type": "text", "text": "Hello from"}, wantStop: "max_tokens", wantIn: 2, wantOut: 2},
		{name: "system counted", extra: map[string]any{"system": []any{map[string]any{"type": "text", "text": "abcdefgh"}}},
			wantBlock: map[string]any{"type": "text", "text": DefaultReply}, wantStop: "end_turn", wantIn: 4, wantOut: defaultWords},
		{name: "tools", extra: map[string]any{"tools": []any{map[string]any{"name": "get_weather", "input_schema": map[string]any{}}}},
			wantBlock: map[string]any{"type": "tool_use", "name": "get_weather", "input": map[string]any{"location": "Paris"}}, wantStop: "tool_use", wantIn: 2, wantOut: 1},
		{name: "answer to tool result", extra: map[string]any{
			"tools": []any{map[string]any{"name": "get_weather", "input_schema": map[string]any{}}},
			"messages": []any{
				map[string]any{"role": "user", "content": "hello"},
				map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": map[string]any{}}}},
				map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}}},
			}},
			wantBlock: map[string]any{"type": "text", "text": DefaultReply}, wantStop: "end_turn", wantIn: 3, wantOut: defaultWords},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, tt.opts)
			resp, b := post(t, url+"/anthropic/v1/messages", anthropicBody(tt.extra), anthropicHeaders...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if !strings.HasPrefix(resp.Header.Get("request-id"), "req_") {
				t.Errorf("request-id = %q", resp.Header.Get("request-id"))
			}
			m := obj(t, b)
			wantEq(t, "type", m["type"], "message")
			wantEq(t, "role", m["role"], "assistant")
			wantEq(t, "model", m["model"], "claude-x")
			wantEq(t, "stop_reason", m["stop_reason"], tt.wantStop)
			wantEq(t, "stop_sequence", m["stop_sequence"], nil)
			block := get(m, "content", 0).(map[string]any)
			if block["type"] == "tool_use" {
				if !strings.HasPrefix(block["id"].(string), "toolu_") {
					t.Errorf("tool_use id = %v", block["id"])
				}
				delete(block, "id")
			}
			wantEq(t, "block", block, tt.wantBlock)
			wantEq(t, "usage", m["usage"], map[string]any{
				"input_tokens":                float64(tt.wantIn),
				"output_tokens":               float64(tt.wantOut),
				"cache_creation_input_tokens": float64(tt.opts.CacheWriteTokens),
				"cache_read_input_tokens":     float64(tt.opts.CacheReadTokens),
			})
		})
	}
}

func TestAnthropicStream(t *testing.T) {
	tests := []struct {
		name      string
		extra     map[string]any
		tools     bool
		wantText  string
		wantStop  string
		wantDelta string
	}{
		{name: "text", wantText: DefaultReply, wantStop: "end_turn", wantDelta: "text_delta"},
		{name: "truncated", extra: map[string]any{"max_tokens": 3}, wantText: "Hello from the", wantStop: "max_tokens", wantDelta: "text_delta"},
		{name: "tools", tools: true, wantStop: "tool_use", wantDelta: "input_json_delta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, Options{CacheReadTokens: 9, CacheWriteTokens: 5})
			body := anthropicBody(tt.extra)
			body["stream"] = true
			if tt.tools {
				body["tools"] = []any{map[string]any{"name": "get_weather", "input_schema": map[string]any{}}}
			}
			_, evs := stream(t, url+"/v1/messages", body, anthropicHeaders...)

			var names []string
			var text, partial string
			deltas := 0
			for _, ev := range evs {
				d := obj(t, []byte(ev.Data))
				wantEq(t, "type", d["type"], ev.Event)
				if ev.Event != "content_block_delta" || names[len(names)-1] != "content_block_delta" {
					names = append(names, ev.Event)
				}
				switch ev.Event {
				case "message_start":
					msg := d["message"]
					wantEq(t, "start content", get(msg, "content"), []any{})
					wantEq(t, "start stop_reason", get(msg, "stop_reason"), nil)
					wantEq(t, "start usage", get(msg, "usage"), map[string]any{
						"input_tokens": 2.0, "output_tokens": 1.0, "cache_read_input_tokens": 9.0, "cache_creation_input_tokens": 5.0,
					})
				case "content_block_start":
					wantEq(t, "block index", num(d["index"]), 0)
					if tt.tools {
						wantEq(t, "block type", get(d, "content_block", "type"), "tool_use")
						wantEq(t, "block name", get(d, "content_block", "name"), "get_weather")
						wantEq(t, "block input", get(d, "content_block", "input"), map[string]any{})
					} else {
						wantEq(t, "block", d["content_block"], map[string]any{"type": "text", "text": ""})
					}
				case "content_block_delta":
					deltas++
					wantEq(t, "delta type", get(d, "delta", "type"), tt.wantDelta)
					if s, ok := get(d, "delta", "text").(string); ok {
						text += s
					}
					if s, ok := get(d, "delta", "partial_json").(string); ok {
						partial += s
					}
				case "message_delta":
					wantEq(t, "delta", d["delta"], map[string]any{"stop_reason": tt.wantStop, "stop_sequence": nil})
					want := len(strings.Fields(tt.wantText))
					if tt.tools {
						want = 1
					}
					wantEq(t, "output_tokens", d["usage"], map[string]any{"output_tokens": float64(want)})
				}
			}
			wantEq(t, "event sequence", names, []string{
				"message_start", "content_block_start", "ping", "content_block_delta",
				"content_block_stop", "message_delta", "message_stop",
			})
			if tt.tools {
				var input map[string]any
				if err := json.Unmarshal([]byte(partial), &input); err != nil {
					t.Fatalf("partial_json %q: %v", partial, err)
				}
				wantEq(t, "input", input, map[string]any{"location": "Paris"})
				if deltas < 3 {
					t.Errorf("want several input_json_delta events, got %d", deltas)
				}
			} else {
				wantEq(t, "text", text, tt.wantText)
				wantEq(t, "deltas", deltas, len(strings.Fields(tt.wantText)))
			}
		})
	}
}

func TestAnthropicValidationAndCountTokens(t *testing.T) {
	_, url := start(t, Options{})
	for _, tt := range []struct {
		name string
		path string
		body any
		hdr  []string
		want string
	}{
		{"no version", "/v1/messages", anthropicBody(nil), nil, "anthropic-version: header is required"},
		{"no max_tokens", "/v1/messages", map[string]any{"model": "c", "messages": []any{}}, anthropicHeaders, "max_tokens: Field required"},
		{"bad json", "/v1/messages", "{", anthropicHeaders, ""},
		{"count without version", "/v1/messages/count_tokens", anthropicBody(nil), nil, "anthropic-version: header is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, url+tt.path, tt.body, tt.hdr...)
			wantEq(t, "status", resp.StatusCode, 400)
			m := obj(t, b)
			wantEq(t, "type", m["type"], "error")
			wantEq(t, "error type", get(m, "error", "type"), "invalid_request_error")
			if tt.want != "" {
				wantEq(t, "message", get(m, "error", "message"), tt.want)
			}
			wantEq(t, "request_id", m["request_id"], resp.Header.Get("request-id"))
		})
	}

	// 20 bytes of system + "hello" (5) = 25 bytes = 7 tokens; max_tokens not required.
	resp, b := post(t, url+"/v1/messages/count_tokens", map[string]any{
		"model": "c", "system": "01234567890123456789", "messages": []any{map[string]any{"role": "user", "content": "hello"}},
	}, anthropicHeaders...)
	wantEq(t, "count status", resp.StatusCode, 200)
	wantEq(t, "count", obj(t, b), map[string]any{"input_tokens": 7.0})
}

// ---- errors, keys, routing -------------------------------------------------

func TestForcedErrors(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		hdr        []string
		path       string
		wantStatus int
		wantType   string
		wantCode   any
		wantRetry  string
	}{
		{name: "openai 429 option", opts: Options{FailStatus: 429, RetryAfter: "7"}, path: "/v1/chat/completions",
			wantStatus: 429, wantType: "requests", wantCode: "rate_limit_exceeded", wantRetry: "7"},
		{name: "openai 500 header", hdr: []string{HeaderStatus, "500"}, path: "/v1/chat/completions",
			wantStatus: 500, wantType: "server_error", wantCode: nil},
		{name: "openai 503 embeddings", opts: Options{FailStatus: 503}, path: "/v1/embeddings",
			wantStatus: 503, wantType: "server_error", wantCode: nil},
		{name: "openai 404 model", hdr: []string{HeaderStatus, "404"}, path: "/v1/responses",
			wantStatus: 404, wantType: "invalid_request_error", wantCode: "model_not_found"},
		{name: "header overrides option", opts: Options{FailStatus: 500}, hdr: []string{HeaderStatus, "400"}, path: "/v1/chat/completions",
			wantStatus: 400, wantType: "invalid_request_error"},
		{name: "retry-after header", hdr: []string{HeaderStatus, "429", HeaderRetryAfter, "3"}, path: "/v1/chat/completions",
			wantStatus: 429, wantType: "requests", wantCode: "rate_limit_exceeded", wantRetry: "3"},
		{name: "anthropic 429", opts: Options{FailStatus: 429, RetryAfter: "2"}, path: "/v1/messages", wantStatus: 429, wantType: "rate_limit_error", wantRetry: "2"},
		{name: "anthropic 500", hdr: []string{HeaderStatus, "500"}, path: "/v1/messages", wantStatus: 500, wantType: "api_error"},
		{name: "anthropic 529", hdr: []string{HeaderStatus, "529"}, path: "/v1/messages", wantStatus: 529, wantType: "overloaded_error"},
		{name: "anthropic 401", hdr: []string{HeaderStatus, "401"}, path: "/v1/messages", wantStatus: 401, wantType: "authentication_error"},
		{name: "anthropic 400", hdr: []string{HeaderStatus, "400"}, path: "/v1/messages/count_tokens", wantStatus: 400, wantType: "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, tt.opts)
			hdr := append(append([]string{}, anthropicHeaders...), tt.hdr...)
			body := anthropicBody(map[string]any{"stream": true}) // errors precede streams
			resp, b := post(t, url+tt.path, body, hdr...)
			wantEq(t, "status", resp.StatusCode, tt.wantStatus)
			wantEq(t, "content type", resp.Header.Get("Content-Type"), "application/json")
			wantEq(t, "Retry-After", resp.Header.Get("Retry-After"), tt.wantRetry)
			m := obj(t, b)
			if strings.Contains(tt.path, "/v1/messages") {
				wantEq(t, "type", m["type"], "error")
				wantEq(t, "error type", get(m, "error", "type"), tt.wantType)
				if get(m, "error", "message") == "" {
					t.Error("empty message")
				}
				wantEq(t, "request_id", m["request_id"], resp.Header.Get("request-id"))
				return
			}
			e := m["error"].(map[string]any)
			wantEq(t, "error type", e["type"], tt.wantType)
			wantEq(t, "error code", e["code"], tt.wantCode)
			if _, ok := e["param"]; !ok {
				t.Error("param missing")
			}
			if e["message"] == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestRequireKey(t *testing.T) {
	const key = "sk-abcdefghijklmnopqrstuvwxyz"
	_, url := start(t, Options{RequireKey: key})
	tests := []struct {
		name       string
		path       string
		hdr        []string
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{name: "openai ok", path: "/v1/chat/completions", hdr: []string{"Authorization", "Bearer " + key}, wantStatus: 200},
		{name: "openai wrong key masked", path: "/v1/chat/completions", hdr: []string{"Authorization", "Bearer sk-ab0123456789wxyz"}, wantStatus: 401,
			wantType: "invalid_request_error", wantMsg: "Incorrect API key provided: sk-ab**********wxyz. You can find your API key at https://platform.openai.com/account/api-keys."},
		{name: "openai missing key", path: "/v1/models", wantStatus: 401, wantType: "invalid_request_error", wantMsg: "You didn't provide an API key."},
		{name: "openai x-api-key accepted", path: "/v1/embeddings", hdr: []string{"x-api-key", key}, wantStatus: 200},
		{name: "anthropic ok", path: "/v1/messages", hdr: []string{"x-api-key", key}, wantStatus: 200},
		{name: "anthropic bearer ok", path: "/v1/messages", hdr: []string{"Authorization", "Bearer " + key}, wantStatus: 200},
		{name: "anthropic wrong", path: "/v1/messages", hdr: []string{"x-api-key", "nope"}, wantStatus: 401, wantType: "authentication_error", wantMsg: "invalid x-api-key"},
		{name: "anthropic missing", path: "/v1/messages/count_tokens", wantStatus: 401, wantType: "authentication_error", wantMsg: "x-api-key header is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := append(append([]string{}, anthropicHeaders...), tt.hdr...)
			method := http.MethodPost
			body := any(anthropicBody(map[string]any{"input": "x"}))
			if strings.HasSuffix(tt.path, "/models") {
				method, body = http.MethodGet, nil
			}
			resp := send(t, context.Background(), method, url+tt.path, body, hdr...)
			b := must(io.ReadAll(resp.Body))
			wantEq(t, "status", resp.StatusCode, tt.wantStatus)
			if tt.wantStatus == 200 {
				return
			}
			m := obj(t, b)
			typ, msg := get(m, "error", "type"), get(m, "error", "message").(string)
			wantEq(t, "type", typ, tt.wantType)
			if !strings.HasPrefix(msg, tt.wantMsg) {
				t.Errorf("message = %q, want prefix %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestMaskKey(t *testing.T) {
	for key, want := range map[string]string{
		"sk-abcdefghijklwxyz": "sk-ab**********wxyz",
		"sk-ab0123456789wxyz": "sk-ab**********wxyz",
		"0123456789":          "01234*6789",
		"short":               "short",
	} {
		wantEq(t, "maskKey("+key+")", maskKey(key), want)
	}
}

func TestNotFoundAndPrefixes(t *testing.T) {
	_, url := start(t, Options{})
	for _, tt := range []struct {
		method, path string
		wantStatus   int
		anthropic    bool
	}{
		{http.MethodPost, "/v1/chat/completions", 200, false},
		{http.MethodPost, "/openai/v1/chat/completions", 200, false},
		{http.MethodPost, "/a/b/c/v1/chat/completions/", 200, false},
		{http.MethodGet, "/v1/chat/completions", 404, false},
		{http.MethodPost, "/v1/nope", 404, false},
		{http.MethodPost, "/v2/chat/completions", 404, false},
		{http.MethodPost, "/anthropic/v1/messages", 200, true},
		{http.MethodPost, "/v1/messages/batches", 404, true},
		{http.MethodGet, "/v1/messages", 404, true},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			body := anthropicBody(nil)
			resp := send(t, context.Background(), tt.method, url+tt.path, body, anthropicHeaders...)
			b := must(io.ReadAll(resp.Body))
			wantEq(t, "status", resp.StatusCode, tt.wantStatus)
			if tt.wantStatus != 404 {
				return
			}
			m := obj(t, b)
			if tt.anthropic {
				wantEq(t, "error type", get(m, "error", "type"), "not_found_error")
			} else {
				wantEq(t, "error message", get(m, "error", "message"), fmt.Sprintf("Invalid URL (%s %s)", tt.method, tt.path))
			}
		})
	}
}

// ---- streams: stalls, cuts, disconnects ------------------------------------

// timedEvents reads a stream and returns each event with its arrival time
// relative to the request, plus the read error.
func timedEvents(t *testing.T, url string, body any, hdr ...string) ([]time.Duration, error) {
	t.Helper()
	begin := time.Now()
	resp := send(t, context.Background(), http.MethodPost, url, body, hdr...)
	br := bufio.NewReader(resp.Body)
	var at []time.Duration
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" {
				return at, nil
			}
			return at, err
		}
		if strings.HasPrefix(line, "data: ") {
			at = append(at, time.Since(begin))
		}
	}
}

func TestStallsAndCuts(t *testing.T) {
	const stall = 200 * time.Millisecond
	chat := chatBody(map[string]any{"stream": true})
	anth := anthropicBody(map[string]any{"stream": true})
	tests := []struct {
		name       string
		opts       Options
		path       string
		body       any
		hdr        []string
		wantEvents int  // -1: the full stream
		wantCut    bool // the stream must end with a read error
		stallAt    int  // index of the first event after the stall (-1: none)
	}{
		{name: "stall after option", opts: Options{StallAfterEvents: 3, StallFor: stall}, path: "/v1/chat/completions", body: chat,
			wantEvents: -1, stallAt: 3},
		{name: "stall after header", path: "/v1/messages", body: anth, hdr: []string{HeaderStallAfter, "2", HeaderStallFor, "200ms"},
			wantEvents: -1, stallAt: 2},
		{name: "stall before first", opts: Options{StallBeforeFirst: stall}, path: "/v1/responses",
			body: map[string]any{"model": "m", "input": "x", "stream": true}, wantEvents: -1, stallAt: 0},
		{name: "cut option", opts: Options{CutAfterEvents: 3}, path: "/v1/chat/completions", body: chat, wantEvents: 3, wantCut: true, stallAt: -1},
		{name: "cut header", path: "/v1/messages", body: anth, hdr: []string{HeaderCutAfter, "4"}, wantEvents: 4, wantCut: true, stallAt: -1},
		{name: "stall then cut", path: "/v1/chat/completions", body: chat, hdr: []string{HeaderStallAfter, "2", HeaderStallFor, "200ms", HeaderCutAfter, "2"},
			wantEvents: 2, wantCut: true, stallAt: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, tt.opts)
			hdr := append(append([]string{}, anthropicHeaders...), tt.hdr...)
			at, err := timedEvents(t, url+tt.path, tt.body, hdr...)
			if tt.wantCut {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("read error = %v, want unexpected EOF", err)
				}
			} else if err != nil {
				t.Fatalf("read error: %v", err)
			}
			if tt.wantEvents >= 0 {
				wantEq(t, "events", len(at), tt.wantEvents)
			}
			if tt.stallAt >= 0 {
				if tt.stallAt >= len(at) {
					t.Fatalf("only %d events", len(at))
				}
				gap := at[tt.stallAt]
				if tt.stallAt > 0 {
					gap -= at[tt.stallAt-1]
				}
				if gap < stall {
					t.Errorf("gap before event %d = %v, want >= %v", tt.stallAt, gap, stall)
				}
				// No other gap is anywhere near the stall.
				for i := 1; i < len(at); i++ {
					if i != tt.stallAt && at[i]-at[i-1] > stall/2 {
						t.Errorf("unexpected gap of %v before event %d", at[i]-at[i-1], i)
					}
				}
			}
		})
	}
}

// TestEventInterval checks that EventInterval (option or header) spaces
// the stream's events (lower bounds only: no timing thresholds).
func TestEventInterval(t *testing.T) {
	const interval = 30 * time.Millisecond
	chat := chatBody(map[string]any{"stream": true})
	for _, tt := range []struct {
		name string
		opts Options
		path string
		body any
		hdr  []string
	}{
		{name: "option, chat", opts: Options{EventInterval: interval}, path: "/v1/chat/completions", body: chat},
		{name: "header, anthropic", path: "/v1/messages", body: anthropicBody(map[string]any{"stream": true}),
			hdr: append(append([]string{}, anthropicHeaders...), HeaderEventInterval, "30ms")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, tt.opts)
			at, err := timedEvents(t, url+tt.path, tt.body, tt.hdr...)
			if err != nil {
				t.Fatalf("read error: %v", err)
			}
			if len(at) < 3 {
				t.Fatalf("only %d events", len(at))
			}
			// The server waits interval before each event after the first,
			// so event i cannot arrive before i intervals from the request
			// (a gap between two arrivals can be shorter: the earlier one
			// may have been delayed on its way).
			for i := 1; i < len(at); i++ {
				if want := time.Duration(i) * interval; at[i] < want {
					t.Errorf("event %d arrived %v after the request, before %d intervals (%v)", i, at[i], i, want)
				}
			}
		})
	}
}

// TestDisconnectStopsStream checks that stalls, latency and streams end as
// soon as the client goes away.
func TestDisconnectStopsStream(t *testing.T) {
	for _, tt := range []struct {
		name string
		hdr  []string
	}{
		{"during stall", []string{HeaderStallAfter, "1", HeaderStallFor, "1m"}},
		{"during stall before first", []string{HeaderStallBefore, "1m"}},
		{"during latency", []string{HeaderLatency, "1m"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fp := New(Options{})
			done := make(chan struct{})
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				fp.ServeHTTP(w, r)
			}))
			defer ts.Close()

			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				time.Sleep(100 * time.Millisecond)
				cancel()
			}()
			req := must(http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions",
				bytes.NewReader(must(json.Marshal(chatBody(map[string]any{"stream": true}))))))
			for i := 0; i < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("handler still running after the client went away")
			}
		})
	}
}

// ---- per-request overrides, options, recording ------------------------------

func TestLatency(t *testing.T) {
	_, url := start(t, Options{Latency: 80 * time.Millisecond})
	begin := time.Now()
	post(t, url+"/v1/models", nil)
	if d := time.Since(begin); d < 80*time.Millisecond {
		t.Errorf("option latency: answered after %v", d)
	}
	_, url = start(t, Options{})
	begin = time.Now()
	post(t, url+"/v1/chat/completions", chatBody(nil), HeaderLatency, "120ms")
	if d := time.Since(begin); d < 120*time.Millisecond {
		t.Errorf("header latency: answered after %v", d)
	}
}

func TestOverrideHeaders(t *testing.T) {
	_, url := start(t, Options{Reply: "from options"})

	_, b := post(t, url+"/v1/chat/completions", chatBody(nil), HeaderOmitUsage, "1", HeaderReply, "from header")
	m := obj(t, b)
	if _, ok := m["usage"]; ok {
		t.Error("usage present despite X-Fake-Omit-Usage")
	}
	wantEq(t, "content", get(m, "choices", 0, "message", "content"), "from header")

	_, evs := stream(t, url+"/v1/chat/completions",
		chatBody(map[string]any{"stream": true, "stream_options": map[string]any{"include_usage": true}}), HeaderOmitUsage, "true")
	for _, ev := range evs[:len(evs)-1] {
		if _, ok := obj(t, []byte(ev.Data))["usage"]; ok {
			t.Errorf("usage in chunk %s", ev.Data)
		}
	}

	_, b = post(t, url+"/v1/messages", anthropicBody(nil), append([]string{HeaderOmitUsage, "1"}, anthropicHeaders...)...)
	if _, ok := obj(t, b)["usage"]; ok {
		t.Error("anthropic usage present despite X-Fake-Omit-Usage")
	}

	for _, h := range []string{HeaderStatus, HeaderLatency, HeaderCutAfter, HeaderOmitUsage} {
		resp, b := post(t, url+"/v1/chat/completions", chatBody(nil), h, "bogus")
		wantEq(t, h+" bogus status", resp.StatusCode, 400)
		if msg := get(obj(t, b), "error", "message").(string); !strings.Contains(msg, h) {
			t.Errorf("message %q does not name %s", msg, h)
		}
	}
}

func TestOmitUsageStreams(t *testing.T) {
	_, url := start(t, Options{OmitUsage: true})
	_, evs := stream(t, url+"/v1/messages", anthropicBody(map[string]any{"stream": true}), anthropicHeaders...)
	for _, ev := range evs {
		if strings.Contains(ev.Data, `"usage"`) {
			t.Errorf("usage in %s", ev.Data)
		}
	}
	_, evs = stream(t, url+"/v1/responses", map[string]any{"model": "m", "input": "x", "stream": true})
	for _, ev := range evs {
		if strings.Contains(ev.Data, `"usage"`) {
			t.Errorf("usage in %s", ev.Data)
		}
	}
}

func TestRecordingAndSetOptions(t *testing.T) {
	fp, url := start(t, Options{})
	post(t, url+"/v1/chat/completions", chatBody(nil), "X-Test", "a")
	post(t, url+"/prefix/v1/messages", `{"raw":true}`, anthropicHeaders...)
	wantEq(t, "count", fp.Count(), 2)
	reqs := fp.Requests()
	wantEq(t, "method", reqs[0].Method, http.MethodPost)
	wantEq(t, "path 0", reqs[0].Path, "/v1/chat/completions")
	wantEq(t, "header", reqs[0].Header.Get("X-Test"), "a")
	wantEq(t, "path 1", reqs[1].Path, "/prefix/v1/messages")
	wantEq(t, "body", string(reqs[1].Body), `{"raw":true}`)

	// Requests returns a copy.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("X-Test", "changed")
	if fp.Requests()[0].Body[0] == 'X' || fp.Requests()[0].Header.Get("X-Test") != "a" {
		t.Error("Requests exposes internal state")
	}

	fp.Reset()
	wantEq(t, "count after reset", fp.Count(), 0)

	fp.SetOptions(Options{FailStatus: 503})
	resp, _ := post(t, url+"/v1/chat/completions", chatBody(nil))
	wantEq(t, "status after SetOptions", resp.StatusCode, 503)
	wantEq(t, "count", fp.Count(), 1)
}

func TestConcurrentUse(t *testing.T) {
	fp, url := start(t, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			resp, err := http.Post(url+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		go func() {
			defer wg.Done()
			fp.SetOptions(Options{Reply: fmt.Sprint("reply ", i)})
			_ = fp.Requests()
			_ = fp.Count()
		}()
	}
	wg.Wait()
	wantEq(t, "count", fp.Count(), 20)
}

// ---- token helpers -----------------------------------------------------------

func TestSplitWords(t *testing.T) {
	for _, s := range []string{
		DefaultReply, "one", "  lead and trail  ", "multi\nline\n\ntext", "", "   ", "héllo wörld",
	} {
		pieces := splitWords(s)
		wantEq(t, "rejoined "+s, strings.Join(pieces, ""), s)
		if words := len(strings.Fields(s)); words > 0 {
			wantEq(t, "pieces of "+s, len(pieces), words)
		}
	}
	wantEq(t, "pieces", splitWords("a b  c"), []string{"a", " b", "  c"})
	wantEq(t, "tokensFor(0)", tokensFor(0), 1)
	wantEq(t, "tokensFor(5)", tokensFor(5), 2)
	wantEq(t, "tokensFor(8)", tokensFor(8), 2)
}

func TestFailModels(t *testing.T) {
	srv := httptest.NewServer(New(Options{FailModels: map[string]int{"bad-model": 503}}))
	defer srv.Close()
	for model, want := range map[string]int{"bad-model": 503, "good-model": 200} {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", model, resp.StatusCode, want)
		}
	}
}

func TestContinueReply(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello from the"}]}`, " fake provider! This is a streamed answer."},
		{`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"Hello from"}]}]}`, " the fake provider! This is a streamed answer."},
		{`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello from the "},{"role":"user","content":"Continue exactly where it stopped"}]}`, " fake provider! This is a streamed answer."},
		{`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Something else"}]}`, DefaultReply},
		{`{"messages":[{"role":"user","content":"hi"}]}`, DefaultReply},
	}
	for _, c := range cases {
		if got := continueReply([]byte(c.body), DefaultReply); got != c.want {
			t.Errorf("%s: got %q want %q", c.body, got, c.want)
		}
	}
}
