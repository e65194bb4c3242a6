package translate

import (
	"encoding/json"
	"strings"
	"testing"
)

// A chat completion with reasoning, text and a tool call (DeepSeek-style
// reasoning_content, OpenAI usage details).
const chatCompletionFull = `{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-4o-2024-08-06",
  "choices": [{
    "index": 0,
    "message": {
      "role": "assistant",
      "content": "Let me look that up.",
      "reasoning_content": "The user wants the weather.",
      "tool_calls": [{"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
      "refusal": null,
      "annotations": []
    },
    "logprobs": null,
    "finish_reason": "tool_calls"
  }],
  "usage": {
    "prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 20, "audio_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}`

// A response object as the API answers (a reasoning model that searched
// the web, answered and called a function).
const responseFull = `{
  "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
  "object": "response",
  "created_at": 1741476777,
  "status": "completed",
  "error": null,
  "incomplete_details": null,
  "instructions": null,
  "max_output_tokens": null,
  "model": "o4-mini-2025-04-16",
  "output": [
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Looking up."}, {"type": "summary_text", "text": "Found it."}]},
    {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "paris weather"}},
    {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant", "content": [
      {"type": "output_text", "text": "It is 18°C in Paris.", "annotations": [{"type": "url_citation", "start_index": 0, "end_index": 5, "url": "https://x", "title": "x"}]}
    ]},
    {"type": "function_call", "id": "fc_1", "call_id": "call_xyz", "name": "save_note", "arguments": "{\"note\":\"18°C\"}", "status": "completed"}
  ],
  "parallel_tool_calls": true,
  "store": true,
  "usage": {"input_tokens": 328, "input_tokens_details": {"cached_tokens": 128}, "output_tokens": 52, "output_tokens_details": {"reasoning_tokens": 30}, "total_tokens": 380},
  "metadata": {}
}`

// An Anthropic message with thinking and a cache write.
const messagesFull = `{
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5",
  "content": [
    {"type": "thinking", "thinking": "Simple greeting.", "signature": "EqQB"},
    {"type": "text", "text": "Hello!"}
  ],
  "stop_reason": "max_tokens",
  "stop_sequence": null,
  "usage": {"input_tokens": 12, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 200, "output_tokens": 6}
}`

func TestResponsesResponsesGolden(t *testing.T) {
	request := []byte(`{"model":"gpt-4o","instructions":"Be brief.","input":"Weather?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}],
		"tool_choice":"required","temperature":0.7,"max_output_tokens":500,"metadata":{"k":"v"},"reasoning":{"effort":"low","summary":"auto"},"user":"u1","parallel_tool_calls":false}`)
	for _, tt := range []struct {
		golden string
		fn     func() ([]byte, error)
	}{
		{"chat_full.response.json", func() ([]byte, error) {
			return ChatResponseToResponses([]byte(chatCompletionFull), "gpt-via-gateway", request)
		}},
		{"messages_full.response.json", func() ([]byte, error) { return MessagesResponseToResponses([]byte(messagesFull), "", nil) }},
		{"response_full.chat.json", func() ([]byte, error) { return ResponsesResponseToChat([]byte(responseFull), "") }},
		{"response_full.messages.json", func() ([]byte, error) { return ResponsesResponseToMessages([]byte(responseFull), "o4-via-gateway") }},
	} {
		out, err := tt.fn()
		if err != nil {
			t.Fatalf("%s: %v", tt.golden, err)
		}
		golden(t, tt.golden, out)
	}
}

func TestChatResponseToResponses(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // the output, status and incomplete_details
	}{
		{
			name: "length",
			in:   `{"id":"chatcmpl-1","created":5,"model":"m","choices":[{"message":{"content":"Once upon"},"finish_reason":"length"}]}`,
			want: `{"output":[{"id":"msg_1_0","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Once upon"}],"role":"assistant"}],
				"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}`,
		},
		{
			name: "refusal",
			in:   `{"id":"chatcmpl-1","created":5,"model":"m","choices":[{"message":{"content":null,"refusal":"No."},"finish_reason":"stop"}]}`,
			want: `{"output":[{"id":"msg_1_0","type":"message","status":"completed","content":[{"type":"refusal","refusal":"No."}],"role":"assistant"}],
				"status":"incomplete","incomplete_details":{"reason":"content_filter"}}`,
		},
		{
			name: "empty answer; no id",
			in:   `{"created":5,"model":"m","choices":[{"message":{"content":""},"finish_reason":"stop"}]}`,
			want: `{"output":[{"id":"msg_gen_0","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":""}],"role":"assistant"}],
				"status":"completed","incomplete_details":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ChatResponseToResponses([]byte(tt.in), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				Output            any `json:"output"`
				Status            any `json:"status"`
				IncompleteDetails any `json:"incomplete_details"`
			}
			mustUnmarshal(t, out, &r)
			got, _ := marshal(obj{{"output", r.Output}, {"status", r.Status}, {"incomplete_details", r.IncompleteDetails}})
			jsonEqual(t, got, tt.want)
		})
	}
	for _, in := range []string{`[]`, `{"choices":[]}`, `{"choices":[{"message":{"content":5}}]}`} {
		if _, err := ChatResponseToResponses([]byte(in), "", nil); err == nil {
			t.Errorf("ChatResponseToResponses(%s): no error", in)
		}
	}
}

func TestResponsesResponseToChat(t *testing.T) {
	out, err := ResponsesResponseToChat([]byte(`{"id":"resp_1","object":"response","created_at":3,"model":"m","status":"incomplete",
		"incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"message","content":[{"type":"output_text","text":"Once"}]}],
		"usage":{"input_tokens":3,"output_tokens":16,"total_tokens":19}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"id":"resp_1","object":"chat.completion","created":3,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Once","refusal":null},
		"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":16,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":0}}}`)

	out, err = ResponsesResponseToChat([]byte(`{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"refusal","refusal":"No."}]}]}`), "m")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"id":"resp_1","object":"chat.completion","created":1730000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":"No."},
		"logprobs":null,"finish_reason":"content_filter"}]}`)

	for _, tt := range []struct{ in, err string }{
		{`{"id":"resp_1","object":"response","status":"failed","error":{"code":"server_error","message":"The model failed."},"output":[]}`, "response resp_1 failed: The model failed."},
		{`{"object":"chat.completion"}`, `object "chat.completion" is not a response`},
		{`[]`, "decoding response"},
		{`{"object":"response","output":[{"type":"message","content":5}]}`, "output[0].content"},
	} {
		if _, err := ResponsesResponseToChat([]byte(tt.in), ""); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ResponsesResponseToChat(%s): err %v, want %q", tt.in, err, tt.err)
		}
	}
}

// What a response repeats of its request: the request's members when they
// have the right shape, the API's defaults otherwise.
func TestResponseEcho(t *testing.T) {
	r := responseObject{id: "resp_1", model: "m", status: "completed"}
	out, _ := marshal(r.encode(newResponseEcho([]byte(`{"instructions":5,"temperature":"hot","top_p":0.5,"tool_choice":{"type":"function","name":"f"},
		"parallel_tool_calls":"yes","text":{"format":{"type":"json_object"}},"truncation":"auto","metadata":{"a":"b"},"tools":{}}`))))
	jsonEqual(t, out, `{"id":"resp_1","object":"response","created_at":0,"status":"completed","background":false,"error":null,"incomplete_details":null,
		"instructions":null,"max_output_tokens":null,"model":"m","output":[],"parallel_tool_calls":true,"previous_response_id":null,
		"reasoning":{"effort":null,"summary":null},"store":false,"temperature":null,"text":{"format":{"type":"json_object"}},
		"tool_choice":{"type":"function","name":"f"},"tools":[],"top_p":0.5,"truncation":"auto","usage":null,"user":null,"metadata":{"a":"b"}}`)
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
}
