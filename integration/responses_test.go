package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
)

// The OpenAI Responses API everywhere: /v1/responses served by Anthropic
// and by a chat-only OpenAI-compatible provider (translated), by OpenAI
// (passed through); chat and messages requests served by a Responses-only
// model (translated to /v1/responses); state only OpenAI keeps refused
// elsewhere with a 400 that says why.

// responsesExtra adds DeepSeek (an OpenAI-compatible preset without the
// Responses API) and Google (Gemini's own API) on the fake provider.
func responsesExtra(fakeURL string) string {
	return "provider deepseek {\n\t\t\tapi_key sk-deepseek-managed-0123456789\n\t\t\tbase_url " + fakeURL + "/v1\n\t\t}\n" +
		"\t\tprovider google {\n\t\t\tapi_key AIza-managed-google-0123456789\n\t\t\tbase_url " + fakeURL + "\n\t\t}"
}

// responsesStream reads a Responses event stream as the SDKs' accumulators
// do, checking the sequence numbers and the item each event names, and
// returns the text, the function calls (name → arguments) and the final
// response.
func responsesStream(t *testing.T, events []string) (text string, calls map[string]string, final map[string]any) {
	t.Helper()
	calls = map[string]string{}
	var items []map[string]any
	var args []string
	for i, d := range events {
		var ev struct {
			Type        string          `json:"type"`
			Seq         *int            `json:"sequence_number"`
			OutputIndex *int            `json:"output_index"`
			Item        map[string]any  `json:"item"`
			Delta       string          `json:"delta"`
			Response    json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal([]byte(d), &ev); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, d)
		}
		if ev.Seq == nil || *ev.Seq != i {
			t.Fatalf("event %d has sequence_number %v: %s", i, ev.Seq, d)
		}
		if i == 0 && ev.Type != "response.created" {
			t.Fatalf("first event %s", d)
		}
		if ev.OutputIndex != nil && ev.Type != "response.output_item.added" && *ev.OutputIndex >= len(items) {
			t.Fatalf("event %d names output_index %d of %d items: %s", i, *ev.OutputIndex, len(items), d)
		}
		switch ev.Type {
		case "response.output_item.added":
			if *ev.OutputIndex != len(items) {
				t.Fatalf("item added at %d with %d items", *ev.OutputIndex, len(items))
			}
			items = append(items, ev.Item)
			args = append(args, "")
		case "response.output_text.delta":
			text += ev.Delta
		case "response.function_call_arguments.delta":
			args[*ev.OutputIndex] += ev.Delta
		case "response.output_item.done":
			if it := ev.Item; it["type"] == "function_call" {
				if it["arguments"] != args[*ev.OutputIndex] {
					t.Fatalf("arguments %v, deltas gave %q", it["arguments"], args[*ev.OutputIndex])
				}
				calls[it["name"].(string)] = args[*ev.OutputIndex]
			}
		case "response.completed", "response.incomplete", "response.failed":
			if i != len(events)-1 {
				t.Fatalf("%s is not the last event", ev.Type)
			}
			mustJSON(t, ev.Response, &final)
		}
	}
	if final == nil {
		t.Fatalf("no final event: %q", events)
	}
	return text, calls, final
}

// outputText joins the output_text parts of a response object.
func outputText(resp map[string]any) string {
	var sb strings.Builder
	out, _ := resp["output"].([]any)
	for _, it := range out {
		m, _ := it.(map[string]any)
		if m["type"] != "message" {
			continue
		}
		for _, p := range m["content"].([]any) {
			if pm := p.(map[string]any); pm["type"] == "output_text" {
				sb.WriteString(pm["text"].(string))
			}
		}
	}
	return sb.String()
}

func TestResponsesTranslated(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: responsesExtra(e.fakeURL)}))

	for _, tt := range []struct {
		model, provider, upstreamPath string
	}{
		{"claude-sonnet-4-6", "anthropic", "/v1/messages"},
		{"deepseek-chat", "deepseek", "/v1/chat/completions"},
		{"gemini-2.5-flash", "google", "/v1beta/models/gemini-2.5-flash:generateContent"},
		{"gpt-4o", "openai", "/v1/responses"}, // OpenAI keeps its own API
	} {
		t.Run(tt.provider+" json", func(t *testing.T) {
			e.fake.Reset()
			resp := e.post("/v1/responses", `{"model":"`+tt.model+`","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Say hello"}]}],"max_output_tokens":300}`, e.bearer())
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var r map[string]any
			mustJSON(t, body, &r)
			if r["object"] != "response" || r["status"] != "completed" || outputText(r) == "" || !strings.HasPrefix(r["id"].(string), "resp_") {
				t.Fatalf("not a completed response: %s", body)
			}
			u, _ := r["usage"].(map[string]any)
			if u["input_tokens"].(float64) == 0 || u["output_tokens"].(float64) == 0 {
				t.Fatalf("usage %v", u)
			}
			if got := resp.Header.Get("AI-Gateway-Provider"); got != tt.provider {
				t.Errorf("provider %s", got)
			}
			reqs := e.fake.Requests()
			if len(reqs) != 1 || reqs[0].Path != tt.upstreamPath {
				t.Fatalf("upstream requests %+v", reqs)
			}
			ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
			if ev.Endpoint != "responses" || ev.ProviderID != tt.provider || ev.OutputTokens == 0 || ev.UsageEstimated {
				t.Fatalf("usage event %+v", ev)
			}
		})

		t.Run(tt.provider+" stream with a tool", func(t *testing.T) {
			e.fake.Reset()
			resp := e.post("/v1/responses", `{"model":"`+tt.model+`","stream":true,"input":"Weather in Paris?",
				"tools":[{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}`, e.bearer())
			events := sseData(t, resp)
			_, calls, final := responsesStream(t, events)
			if final["status"] != "completed" || len(calls) != 1 {
				t.Fatalf("final %v, calls %v\n%s", final["status"], calls, strings.Join(events, "\n"))
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(calls["get_weather"]), &args); err != nil {
				t.Fatalf("arguments %q: %v", calls["get_weather"], err)
			}
			ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
			if !ev.Streaming || ev.ProviderID != tt.provider || ev.OutputTokens == 0 || ev.UsageEstimated {
				t.Fatalf("usage event %+v", ev)
			}
		})
	}

	t.Run("text stream from anthropic", func(t *testing.T) {
		resp := e.post("/v1/responses", `{"model":"claude-sonnet-4-6","stream":true,"input":"Say hello"}`, e.bearer())
		events := sseData(t, resp)
		text, _, final := responsesStream(t, events)
		if text == "" || text != outputText(final) || final["store"] != false {
			t.Fatalf("text %q, final %v", text, final)
		}
	})

	t.Run("what cannot be carried is named", func(t *testing.T) {
		resp := e.post("/v1/responses", `{"model":"claude-sonnet-4-6","input":"hi","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"],"store":false}`, e.bearer())
		body := readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("AI-Gateway-Removed-Params"); got != "include, tools.web_search" {
			t.Errorf("AI-Gateway-Removed-Params %q", got)
		}
	})
}

// State kept by OpenAI: a clear 400 from providers that cannot keep it,
// passed through to OpenAI, and a fallback list reaches OpenAI.
func TestResponsesState(t *testing.T) {
	e := start(t, cfgOpts{})
	for _, tt := range []struct{ body, param, what string }{
		{`{"model":"claude-sonnet-4-6","previous_response_id":"resp_abc","input":"and then?"}`, "previous_response_id", "responses"},
		{`{"model":"claude-sonnet-4-6","store":true,"input":"hi"}`, "store", "responses"},
		{`{"model":"claude-sonnet-4-6","background":true,"input":"hi"}`, "background", "background responses"},
		{`{"model":"claude-sonnet-4-6","conversation":"conv_1","input":"hi"}`, "conversation", "conversations"},
		{`{"model":"claude-sonnet-4-6","input":[{"type":"item_reference","id":"msg_1"}]}`, "input.item_reference", "responses"},
	} {
		e.fake.Reset()
		resp := e.post("/v1/responses", tt.body, e.bearer())
		body := readAll(t, resp)
		var v struct {
			Error struct{ Message, Type, Code string }
		}
		mustJSON(t, body, &v)
		want := fmt.Sprintf("%s needs a provider that keeps %s (OpenAI); model claude-sonnet-4-6 is served by anthropic, which does not", tt.param, tt.what)
		if resp.StatusCode != 400 || !strings.HasPrefix(v.Error.Message, want) || v.Error.Code != "invalid_request" {
			t.Errorf("%s: %d %s\nwant a 400 starting %q", tt.body, resp.StatusCode, body, want)
		}
		if n := e.fake.Count(); n != 0 {
			t.Errorf("%s: %d upstream requests", tt.body, n)
		}
	}

	// OpenAI keeps it: passed through as it is.
	e.fake.Reset()
	resp := e.post("/v1/responses", `{"model":"gpt-4o","previous_response_id":"resp_abc","store":true,"input":"and then?"}`, e.bearer())
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("openai: %d %s", resp.StatusCode, body)
	}
	if reqs := e.fake.Requests(); len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"previous_response_id":"resp_abc"`) {
		t.Fatalf("upstream %+v", reqs)
	}

	// A fallback list: Anthropic cannot, OpenAI can.
	e.fake.Reset()
	resp = e.post("/v1/responses", `{"model":"claude-sonnet-4-6","models":["openai:gpt-4o"],"previous_response_id":"resp_abc","input":"and then?"}`, e.bearer())
	if body := readAll(t, resp); resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Provider") != "openai" {
		t.Fatalf("fallback: %d %s %v", resp.StatusCode, body, resp.Header)
	}

	// Without store (the API's default is true) nothing is kept, and the
	// answer says so.
	resp = e.post("/v1/responses", `{"model":"claude-sonnet-4-6","input":"hi"}`, e.bearer())
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"store":false`) {
		t.Fatalf("no store: %d %s", resp.StatusCode, body)
	}
}

// Chat, messages and Gemini clients reach a Responses-only model.
func TestResponsesOnlyModel(t *testing.T) {
	e := start(t, cfgOpts{})

	t.Run("chat json", func(t *testing.T) {
		e.fake.Reset()
		resp := e.post("/v1/chat/completions", `{"model":"gpt-5-pro","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}],"max_tokens":200}`, e.bearer())
		body := readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var c struct {
			Object  string
			Choices []struct {
				Message      struct{ Content string }
				FinishReason string `json:"finish_reason"`
			}
			Usage struct{ PromptTokens, CompletionTokens int64 } `json:"usage"`
		}
		mustJSON(t, body, &c)
		if c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].Message.Content == "" || c.Choices[0].FinishReason != "stop" {
			t.Fatalf("body %s", body)
		}
		reqs := e.fake.Requests()
		if len(reqs) != 1 || reqs[0].Path != "/v1/responses" {
			t.Fatalf("upstream %+v", reqs)
		}
		var up map[string]any
		mustJSON(t, reqs[0].Body, &up)
		if up["model"] != "gpt-5-pro" || up["store"] != false || up["max_output_tokens"] != 200.0 || up["input"] == nil {
			t.Fatalf("upstream body %s", reqs[0].Body)
		}
		ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
		if ev.Endpoint != "chat.completions" || ev.Model != "gpt-5-pro" || ev.OutputTokens == 0 || ev.UsageEstimated {
			t.Fatalf("usage event %+v", ev)
		}
	})

	t.Run("chat stream with a tool", func(t *testing.T) {
		e.fake.Reset()
		resp := e.post("/v1/chat/completions", `{"model":"gpt-5-codex","stream":true,"messages":[{"role":"user","content":"Weather?"}],
			"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`, e.bearer())
		events := sseData(t, resp)
		if events[len(events)-1] != "[DONE]" {
			t.Fatalf("no [DONE]: %q", events)
		}
		var name, args, finish string
		for _, d := range events[:len(events)-1] {
			var c struct {
				Choices []struct {
					Delta struct {
						ToolCalls []struct {
							Function struct{ Name, Arguments string }
						} `json:"tool_calls"`
					}
					FinishReason *string `json:"finish_reason"`
				}
			}
			mustJSON(t, []byte(d), &c)
			for _, ch := range c.Choices {
				for _, tc := range ch.Delta.ToolCalls {
					name += tc.Function.Name
					args += tc.Function.Arguments
				}
				if ch.FinishReason != nil {
					finish = *ch.FinishReason
				}
			}
		}
		if name != "get_weather" || !json.Valid([]byte(args)) || finish != "tool_calls" {
			t.Fatalf("tool call %q %q, finish %q\n%s", name, args, finish, strings.Join(events, "\n"))
		}
		if reqs := e.fake.Requests(); len(reqs) != 1 || reqs[0].Path != "/v1/responses" {
			t.Fatalf("upstream %+v", reqs)
		}
	})

	t.Run("messages", func(t *testing.T) {
		e.fake.Reset()
		resp := e.post("/v1/messages", `{"model":"o3-pro","max_tokens":256,"messages":[{"role":"user","content":"Say hello"}]}`, e.anthropicHdr())
		body := readAll(t, resp)
		var m struct {
			Type    string
			Content []struct{ Type, Text string }
			Usage   struct {
				InputTokens  int64 `json:"input_tokens"`
				OutputTokens int64 `json:"output_tokens"`
			}
		}
		mustJSON(t, body, &m)
		if resp.StatusCode != 200 || m.Type != "message" || len(m.Content) == 0 || m.Content[0].Text == "" || m.Usage.OutputTokens == 0 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if reqs := e.fake.Requests(); len(reqs) != 1 || reqs[0].Path != "/v1/responses" || reqs[0].Header.Get("Anthropic-Version") != "" {
			t.Fatalf("upstream %+v", reqs)
		}
	})

	t.Run("gemini", func(t *testing.T) {
		e.fake.Reset()
		resp := e.post("/v1beta/models/gpt-5-pro:generateContent", `{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}]}`,
			map[string]string{"x-goog-api-key": e.token})
		body := readAll(t, resp)
		var g struct {
			Candidates []struct {
				Content struct{ Parts []struct{ Text string } }
			}
		}
		mustJSON(t, body, &g)
		if resp.StatusCode != 200 || len(g.Candidates) != 1 || len(g.Candidates[0].Content.Parts) == 0 || g.Candidates[0].Content.Parts[0].Text == "" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if reqs := e.fake.Requests(); len(reqs) != 1 || reqs[0].Path != "/v1/responses" {
			t.Fatalf("upstream %+v", reqs)
		}
	})

	t.Run("messages stream", func(t *testing.T) {
		resp := e.post("/v1/messages", `{"model":"o3-pro","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Say hello"}]}`, e.anthropicHdr())
		events := sseData(t, resp)
		text := ""
		for _, d := range events {
			var ev struct {
				Type  string
				Delta struct{ Type, Text string }
			}
			mustJSON(t, []byte(d), &ev)
			if ev.Delta.Type == "text_delta" {
				text += ev.Delta.Text
			}
		}
		if text == "" || !strings.Contains(events[len(events)-1], `"message_stop"`) {
			t.Fatalf("text %q\n%s", text, strings.Join(events, "\n"))
		}
	})
}

// A translated Responses stream that stalls is continued by OpenAI's
// Responses API in the same response: one message, sequence numbers that
// go on, the whole answer once.
func TestResponsesStreamContinued(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{site: "ai_auth\n\tai_gateway {\n\t\tfailover {\n\t\t\tfirst_token_timeout 400ms\n\t\t\tstream_idle_timeout 400ms\n\t\t}\n\t}"}))
	e.fake.SetOptions(fakeprovider.Options{StallModels: map[string]int{"claude-sonnet-4-6": 5}, StallFor: 10 * time.Second})
	defer e.fake.SetOptions(fakeprovider.Options{})

	resp := e.post("/v1/responses", `{"model":"claude-sonnet-4-6","models":["openai:gpt-4o"],"stream":true,"input":"Say hello"}`, e.bearer())
	events := sseData(t, resp)
	text, _, final := responsesStream(t, events)
	if text != fakeprovider.DefaultReply || outputText(final) != text || final["status"] != "completed" {
		t.Fatalf("text %q, final %v\n%s", text, final, strings.Join(events, "\n"))
	}
	if n := strings.Count(strings.Join(events, "\n"), `"type":"response.output_item.added"`); n != 1 {
		t.Errorf("%d output items, want one message\n%s", n, strings.Join(events, "\n"))
	}
	evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 2)
	if evs[0].ProviderID != "anthropic" || evs[1].ProviderID != "openai" {
		t.Errorf("attempts %s, %s", evs[0].ProviderID, evs[1].ProviderID)
	}
	reqs := e.fake.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != "/v1/responses" || !strings.Contains(string(last.Body), continueInstructionJSON()) {
		t.Errorf("continuation request %s %s", last.Path, last.Body)
	}
}

// continueInstructionJSON is translate.ContinueInstruction as it appears in
// a JSON body.
func continueInstructionJSON() string {
	b, _ := json.Marshal(translate.ContinueInstruction)
	return string(b)
}

// TestResponsesOfficialSDK runs examples/sdk/responses-test.mjs (the
// official openai npm client's responses.create and responses.stream,
// tools included) against models of every upstream format, and the chat
// and Anthropic clients against Responses-only models. It needs node and
// `npm ci` in examples/sdk, as TestOfficialSDKs.
func TestResponsesOfficialSDK(t *testing.T) {
	dir, _ := filepath.Abs("../examples/sdk")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "openai"))
	if err != nil || modErr != nil {
		if os.Getenv("AI_GATEWAY_REQUIRE_SDK") != "" {
			t.Fatalf("node or examples/sdk/node_modules missing (run npm ci in examples/sdk)")
		}
		t.Skip("node or examples/sdk/node_modules missing; run `npm ci` in examples/sdk")
	}
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: responsesExtra(e.fakeURL)}))
	cmd := exec.Command(node, "responses-test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE=http://"+e.httpAddr, "KEY="+e.token, "REPLY="+fakeprovider.DefaultReply,
		"MODELS=claude-sonnet-4-6,gemini-2.5-flash,deepseek-chat,gpt-4o,gpt-5-pro", "STATELESS=claude-sonnet-4-6,gemini-2.5-flash,deepseek-chat", "RESPONSES_ONLY=gpt-5-pro,o3-pro")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Responses SDK checks passed") {
		t.Fatalf("Responses SDK checks failed: %v\n%s", err, out)
	}
	t.Logf("\n%s", out)
}
