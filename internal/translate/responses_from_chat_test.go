package translate

import (
	"testing"
)

// A chat request with every kind of message, for a Responses-only model.
const chatAgentTurn = `{
  "model": "gpt-5-pro",
  "messages": [
    {"role": "system", "content": "You are a weather bot."},
    {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
    {"role": "user", "content": [
      {"type": "text", "text": "Weather in Paris? See the map."},
      {"type": "image_url", "image_url": {"url": "https://example.com/map.png", "detail": "low"}},
      {"type": "file", "file": {"filename": "notes.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}}
    ]},
    {"role": "assistant", "content": "Checking.", "reasoning_content": "One city.", "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18°C, sunny"},
    {"role": "user", "content": "Thanks!"}
  ],
  "tools": [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "strict_one", "parameters": {"type": "object", "properties": {}, "additionalProperties": false}, "strict": true}}
  ],
  "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
  "parallel_tool_calls": false,
  "max_completion_tokens": 4000,
  "reasoning_effort": "high",
  "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}},
  "verbosity": "medium",
  "stop": ["\n\n"],
  "seed": 7,
  "n": 1,
  "user": "user-42",
  "metadata": {"k": "v"},
  "stream": true,
  "stream_options": {"include_usage": true},
  "models": ["gpt-5"]
}`

func TestChatToResponsesGolden(t *testing.T) {
	out, removed, err := ChatToResponses([]byte(chatAgentTurn), Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "agent_turn.responses.json", out)
	removedEqual(t, removed, []string{"messages.reasoning_content", "seed", "stop"})
}

func TestChatToResponses(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		o           Options
		want        string
		wantRemoved []string
	}{
		{
			name: "plain; model from options; store false",
			in:   `{"model":"x","messages":[{"role":"user","content":"Hi"}],"n":1,"stream":false,"temperature":0.5,"top_p":1}`,
			o:    Options{Model: "o3-pro"},
			want: `{"model":"o3-pro","input":[{"role":"user","content":"Hi"}],"temperature":0.5,"top_p":1,"store":false,"stream":false}`,
		},
		{
			name: "max_tokens below the Responses minimum",
			in:   `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":5}`,
			want: `{"model":"","input":[{"role":"user","content":"Hi"}],"max_output_tokens":16,"store":false}`,
		},
		{
			name: "tool message parts; assistant refusal; tool calls without text",
			in: `{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"r"}]},{"role":"assistant","refusal":"No."}]}`,
			want: `{"model":"","input":[{"role":"user","content":"x"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},
				{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"r"}]},{"role":"assistant","content":"No."}],"store":false}`,
		},
		{
			name: "allowed tools; json_object; store true and n named",
			in: `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"a"}},{"type":"custom","custom":{"name":"c"}}],
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"a"}}]}},
				"response_format":{"type":"json_object"},"store":true,"n":2,"frequency_penalty":0,"presence_penalty":0.5}`,
			want: `{"model":"","input":[{"role":"user","content":"x"}],"tools":[{"type":"function","name":"a","parameters":{"type":"object","properties":{}},"strict":false}],
				"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"a"}]},"text":{"format":{"type":"json_object"}},"store":false}`,
			wantRemoved: []string{"n", "presence_penalty", "store", "tools.custom"},
		},
		{
			name:        "tool choice without tools; audio input; legacy function message",
			in:          `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}},{"type":"text","text":"t"}]},{"role":"function","name":"f","content":"r"}],"tool_choice":"required"}`,
			want:        `{"model":"","input":[{"role":"user","content":[{"type":"input_text","text":"t"}]}],"store":false}`,
			wantRemoved: []string{"messages.function", "messages.input_audio", "messages.name", "tool_choice"},
		},
		{
			name: "a continuation (ContinueChat) stays as it is",
			in:   `{"messages":[{"role":"user","content":"Count"},{"role":"assistant","content":"1, 2"},{"role":"user","content":"` + ContinueInstruction + `"}]}`,
			want: `{"model":"","input":[{"role":"user","content":"Count"},{"role":"assistant","content":"1, 2"},{"role":"user","content":"` + ContinueInstruction + `"}],"store":false}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := ChatToResponses([]byte(tt.in), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
			removedEqual(t, removed, tt.wantRemoved)
		})
	}
}

// An Anthropic request for a Responses-only model, through chat, names what
// was dropped in its own words.
func TestMessagesToResponses(t *testing.T) {
	in := `{"model":"claude","max_tokens":1000,"system":"Be brief.","stop_sequences":["END"],"thinking":{"type":"enabled","budget_tokens":2000},
		"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"Hello"}]}],
		"metadata":{"user_id":"u1"},"top_k":5}`
	out, removed, err := MessagesToResponses([]byte(in), Options{Model: "gpt-5-pro"})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"model":"gpt-5-pro","input":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},
		{"role":"user","content":"`+ContinueInstruction+`"}],"max_output_tokens":1000,"reasoning":{"effort":"low"},"user":"u1","store":false}`)
	removedEqual(t, removed, []string{"messages.thinking", "stop_sequences", "top_k"})
}

func TestChatToResponsesErrors(t *testing.T) {
	for _, in := range []string{
		`[]`, `null`, `{}`, `{"messages":[]}`, `{"messages":[{"role":"robot","content":"x"}]}`,
		`{"messages":[{"role":"user","content":5}]}`, `{"messages":[{"role":"function","content":"x"}]}`,
	} {
		if _, _, err := ChatToResponses([]byte(in), Options{}); err == nil {
			t.Errorf("ChatToResponses(%s): no error", in)
		}
	}
}
