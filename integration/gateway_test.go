package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

const chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello to the gateway please"}]}`

// TestOpenAIChat covers JSON and streaming chat, the headers, usage
// extraction and the key swap.
func TestOpenAIChat(t *testing.T) {
	e := start(t, cfgOpts{})

	t.Run("json", func(t *testing.T) {
		e.fake.Reset()
		resp := e.post("/v1/chat/completions", chatBody, e.bearer())
		body := readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for h, want := range map[string]string{"AI-Gateway-Provider": "openai", "AI-Gateway-Model": "gpt-4o-mini", "AI-Gateway-Attempts": "1"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if resp.Header.Get("AI-Gateway-Request-Id") == "" || resp.Header.Get("AI-Gateway-Cost-USD") == "" {
			t.Errorf("missing request id or cost header: %v", resp.Header)
		}
		var v struct {
			Choices []struct{ Message struct{ Content string } }
			Usage   struct{ PromptTokens, CompletionTokens int64 } `json:"usage"`
		}
		mustJSON(t, body, &v)
		if len(v.Choices) != 1 || v.Choices[0].Message.Content == "" {
			t.Fatalf("body %s", body)
		}
		assertKeySwap(t, e, "Authorization", "Bearer sk-managed-openai-0123456789abcdef")

		evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)
		ev := evs[0]
		if ev.ProviderID != "openai" || ev.Model != "gpt-4o-mini" || ev.Status != 200 || ev.RetryAction != "succeeded" || ev.Streaming {
			t.Fatalf("event %+v", ev)
		}
		var raw struct {
			Usage struct {
				PromptTokens     int64 `json:"prompt_tokens"`
				CompletionTokens int64 `json:"completion_tokens"`
			}
		}
		mustJSON(t, body, &raw)
		if ev.InputTokens != raw.Usage.PromptTokens || ev.OutputTokens != raw.Usage.CompletionTokens || ev.UsageEstimated {
			t.Fatalf("usage event %+v, provider reported %+v", ev, raw.Usage)
		}
		if ev.AccessKeyID == "" || ev.AccountID != "default" || ev.Cost <= 0 {
			t.Fatalf("event attribution/cost %+v", ev)
		}
	})

	t.Run("stream hides usage chunk the client did not ask for", func(t *testing.T) {
		e.fake.Reset()
		resp := e.post("/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		events := sseData(t, resp)
		if resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
		}
		if events[len(events)-1] != "[DONE]" {
			t.Fatalf("stream does not end with [DONE]: %q", events)
		}
		text := ""
		for _, d := range events[:len(events)-1] {
			var c struct {
				Choices []struct{ Delta struct{ Content string } }
				Usage   json.RawMessage
			}
			mustJSON(t, []byte(d), &c)
			if len(c.Choices) == 0 {
				t.Fatalf("usage-only chunk reached a client that did not ask: %s", d)
			}
			text += c.Choices[0].Delta.Content
		}
		if text == "" {
			t.Fatal("no streamed text")
		}
		// The provider was asked for usage anyway …
		rec := e.fake.Requests()
		if len(rec) != 1 || !strings.Contains(string(rec[0].Body), `"include_usage":true`) {
			t.Fatalf("upstream body did not ask for usage: %s", rec[0].Body)
		}
		// … and it was recorded.
		ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
		if !ev.Streaming || ev.UsageEstimated || ev.OutputTokens != 10 || ev.InputTokens == 0 || ev.StopReason != "stop" {
			t.Fatalf("stream usage event %+v", ev)
		}
	})

	t.Run("stream keeps usage chunk the client asked for", func(t *testing.T) {
		resp := e.post("/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		events := sseData(t, resp)
		last := events[len(events)-2]
		if !strings.Contains(last, `"choices":[]`) || !strings.Contains(last, `"prompt_tokens"`) {
			t.Fatalf("usage chunk missing: %s", last)
		}
	})
}

// sseData reads a whole SSE response and returns the data fields.
func sseData(t *testing.T, resp *http.Response) []string {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// assertKeySwap checks the last upstream request carried the managed key
// and nothing of the client's access key.
func assertKeySwap(t *testing.T, e *env, header, want string) {
	t.Helper()
	rec := e.fake.Requests()
	if len(rec) == 0 {
		t.Fatal("provider saw no request")
	}
	r := rec[len(rec)-1]
	if got := r.Header.Get(header); got != want {
		t.Fatalf("provider got %s %q, want %q", header, got, want)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, "cag_") {
				t.Fatalf("access key leaked upstream in header %s", k)
			}
		}
	}
	if strings.Contains(string(r.Body), "cag_") {
		t.Fatal("access key leaked upstream in body")
	}
}

func TestOpenAIResponsesEmbeddingsModels(t *testing.T) {
	e := start(t, cfgOpts{})

	resp := e.post("/v1/responses", `{"model":"gpt-4o","input":"Tell me something"}`, e.bearer())
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"output_text"`) {
		t.Fatalf("responses: %d %s", resp.StatusCode, body)
	}
	ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if ev.Endpoint != "responses" || ev.OutputTokens != 10 || ev.UsageEstimated {
		t.Fatalf("responses usage %+v", ev)
	}

	resp = e.post("/v1/responses", `{"model":"gpt-4o","input":"Tell me something","stream":true}`, e.bearer())
	events := sseData(t, resp)
	if !strings.Contains(events[len(events)-1], `"response.completed"`) {
		t.Fatalf("responses stream end: %s", events[len(events)-1])
	}
	ev = e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if !ev.Streaming || ev.OutputTokens != 10 || ev.UsageEstimated || ev.StopReason != "completed" {
		t.Fatalf("responses stream usage %+v", ev)
	}

	resp = e.post("/v1/embeddings", `{"model":"text-embedding-3-small","input":["one","two"],"encoding_format":"float"}`, e.bearer())
	body = readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"embedding"`) {
		t.Fatalf("embeddings: %d %s", resp.StatusCode, body)
	}
	ev = e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if ev.InputTokens == 0 || ev.OutputTokens != 0 {
		t.Fatalf("embeddings usage %+v", ev)
	}

	req, _ := http.NewRequest("GET", "http://"+e.httpAddr+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	mresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Object string
		Data   []struct{ ID, Object string }
	}
	mustJSON(t, readAll(t, mresp), &list)
	ids := map[string]bool{}
	for _, m := range list.Data {
		ids[m.ID] = true
	}
	if list.Object != "list" || !ids["openai:gpt-4o"] || !ids["anthropic:claude-sonnet-4-6"] || ids["google:gemini-2.5-pro"] {
		t.Fatalf("models (google has no key and must not be listed): %+v", list)
	}
}

func TestAnthropicMessages(t *testing.T) {
	e := start(t, cfgOpts{})
	body := `{"model":"claude-sonnet-4-6","max_tokens":256,"messages":[{"role":"user","content":"Hello Claude"}]}`

	resp := e.post("/v1/messages", body, e.anthropicHdr())
	b := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"type":"message"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	assertKeySwap(t, e, "X-Api-Key", "sk-ant-managed-0123456789abcdef")
	if got := e.fake.Requests()[0].Header.Get("Anthropic-Version"); got != "2023-06-01" {
		t.Fatalf("anthropic-version %q", got)
	}
	ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if ev.ProviderID != "anthropic" || ev.OutputTokens != 10 || ev.InputTokens == 0 {
		t.Fatalf("usage %+v", ev)
	}

	// Bearer works on Anthropic routes too (current Anthropic SDKs send it).
	resp = e.post("/v1/messages", `{"model":"claude-sonnet-4-6","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello Claude"}]}`,
		map[string]string{"Authorization": "Bearer " + e.token, "anthropic-version": "2023-06-01"})
	events := sseData(t, resp)
	if !strings.Contains(events[0], `"message_start"`) || !strings.Contains(events[len(events)-1], `"message_stop"`) {
		t.Fatalf("stream events %q", events)
	}
	ev = e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if !ev.Streaming || ev.OutputTokens != 10 || ev.UsageEstimated || ev.StopReason != "end_turn" {
		t.Fatalf("stream usage %+v", ev)
	}

	// cache tokens are reported in their own buckets
	e.fake.SetOptions(optsWithCache())
	resp = e.post("/v1/messages", body, e.anthropicHdr())
	readAll(t, resp)
	ev = e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if ev.CacheReadTokens != 100 || ev.CacheWriteTokens != 50 {
		t.Fatalf("cache usage %+v", ev)
	}

	resp = e.post("/v1/messages/count_tokens", `{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"Hello Claude"}]}`, e.anthropicHdr())
	b = readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"input_tokens"`) {
		t.Fatalf("count_tokens %d %s", resp.StatusCode, b)
	}
	if resp.Header.Get("Ai-Gateway-Token-Count") != "" {
		t.Fatalf("an Anthropic provider's own count is marked estimated")
	}

	// a model of another format: the gateway estimates, in Anthropic's
	// shape, and says so; no provider is called
	e.fake.Reset()
	resp = e.post("/v1/messages/count_tokens", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello GPT, how are you"}]}`, e.anthropicHdr())
	b = readAll(t, resp)
	var count struct {
		InputTokens int64 `json:"input_tokens"`
	}
	mustJSON(t, b, &count)
	if resp.StatusCode != 200 || count.InputTokens <= 0 || resp.Header.Get("Ai-Gateway-Token-Count") != "estimated" || e.fake.Count() != 0 {
		t.Fatalf("count_tokens for an OpenAI model: %d %s %v (provider calls %d)", resp.StatusCode, b, resp.Header, e.fake.Count())
	}
}

func optsWithCache() fakeprovider.Options {
	return fakeprovider.Options{CacheReadTokens: 100, CacheWriteTokens: 50}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	e := start(t, cfgOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+e.httpAddr+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("X-Fake-Stall-After", "3")
	req.Header.Set("X-Fake-Stall-For", "30s")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// read until generated text has arrived, then walk away
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, `"content":"Hello`) {
			break
		}
	}
	start := time.Now()
	cancel()
	resp.Body.Close()
	ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if time.Since(start) > 2*time.Second {
		t.Fatalf("upstream call not cancelled promptly")
	}
	if ev.RetryAction != "client_closed" || !ev.UsageEstimated || ev.OutputTokens == 0 {
		t.Fatalf("abandoned stream event %+v", ev)
	}
}
