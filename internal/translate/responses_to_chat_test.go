package translate

import (
	"errors"
	"strings"
	"testing"
)

// A Responses request with every kind of input item, as the Agents SDK
// and Codex send them on a second turn: instructions, a developer
// message, user parts (text, image, file), a reasoning item, the
// assistant's message and two function calls, their outputs (one with an
// image), function and built-in tools, structured output.
const responsesAgentTurn = `{
  "model": "gpt-5",
  "instructions": "You are a weather bot.",
  "input": [
    {"role": "developer", "content": "Answer in French."},
    {"type": "message", "role": "user", "content": [
      {"type": "input_text", "text": "Weather in Paris and Bogotá? See the map."},
      {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"},
      {"type": "input_file", "filename": "notes.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}
    ]},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Two cities."}], "encrypted_content": "gAAAA"},
    {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "content": [{"type": "output_text", "text": "Checking both.", "annotations": []}]},
    {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
    {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "get_weather", "arguments": "{\"city\":\"Bogotá\"}"},
    {"type": "function_call_output", "call_id": "call_1", "output": "18°C, sunny"},
    {"type": "function_call_output", "call_id": "call_2", "output": [
      {"type": "input_text", "text": "14°C, rain"},
      {"type": "input_image", "image_url": "https://example.com/radar.png"}
    ]},
    {"role": "user", "content": "Thanks! Summarize."}
  ],
  "tools": [
    {"type": "function", "name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true},
    {"type": "web_search"}
  ],
  "tool_choice": "auto",
  "parallel_tool_calls": false,
  "max_output_tokens": 2000,
  "temperature": 0.2,
  "top_p": 0.9,
  "reasoning": {"effort": "low", "summary": "auto"},
  "text": {"format": {"type": "json_schema", "name": "summary", "schema": {"type": "object", "properties": {"text": {"type": "string"}}}, "strict": true}, "verbosity": "low"},
  "metadata": {"session": "abc"},
  "include": ["reasoning.encrypted_content"],
  "user": "user-42",
  "store": false,
  "stream": true,
  "stream_options": {"include_obfuscation": false},
  "truncation": "disabled"
}`

func TestResponsesToChatGolden(t *testing.T) {
	out, removed, err := ResponsesToChat([]byte(responsesAgentTurn), Options{IncludeUsage: true})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "agent_turn.chat.json", out)
	removedEqual(t, removed, []string{"include", "input.reasoning", "metadata", "tools.web_search"})

	// And on to Anthropic, with the names in the Responses request's words.
	out, removed, err = ResponsesToMessages([]byte(responsesAgentTurn), Options{Model: "claude-sonnet-4-5", DefaultMaxTokens: 8192})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "agent_turn.messages.json", out)
	removedEqual(t, removed, []string{"include", "input.reasoning", "metadata", "reasoning.effort", "text.format", "text.verbosity", "tools.strict", "tools.web_search", "top_p"})
}

func TestResponsesToChat(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		o           Options
		want        string
		wantRemoved []string
	}{
		{
			name: "string input",
			in:   `{"model":"gpt-4o","input":"Hello"}`,
			want: `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}`,
		},
		{
			name: "defaults are dropped silently; model from options; legacy max_tokens",
			in: `{"model":"x","input":[{"role":"user","content":[{"type":"input_text","text":"Hi"}]}],"store":false,"background":false,
				"previous_response_id":null,"truncation":"disabled","metadata":{},"include":[],"tools":[],"stream":false,"models":["a","b"],"max_output_tokens":100}`,
			o:    Options{Model: "llama3.2", LegacyMaxTokens: true},
			want: `{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}],"max_tokens":100,"stream":false}`,
		},
		{
			name: "instructions and system messages",
			in:   `{"instructions":"Be brief.","input":[{"role":"system","content":[{"type":"input_text","text":"A"},{"type":"input_text","text":"B"}]},{"role":"user","content":"Q"}]}`,
			want: `{"model":"","messages":[{"role":"system","content":"Be brief."},{"role":"system","content":"A\n\nB"},{"role":"user","content":"Q"}]}`,
		},
		{
			name: "function calls without an assistant message; output parts",
			in: `{"input":[{"role":"user","content":"go"},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
				{"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]}]}`,
			want: `{"model":"","messages":[{"role":"user","content":"go"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"a\nb"}]}`,
		},
		{
			name:        "built-in tools only: tool choice goes with them",
			in:          `{"input":"x","tools":[{"type":"file_search","vector_store_ids":["vs_1"]},{"type":"code_interpreter","container":{"type":"auto"}}],"tool_choice":"required","parallel_tool_calls":true}`,
			want:        `{"model":"","messages":[{"role":"user","content":"x"}]}`,
			wantRemoved: []string{"tool_choice", "tools.code_interpreter", "tools.file_search"},
		},
		{
			name: "tool choices",
			in: `{"input":"x","tools":[{"type":"function","name":"a"},{"type":"function","name":"b","parameters":{"type":"object"}}],
				"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"a"}]}}`,
			want: `{"model":"","messages":[{"role":"user","content":"x"}],
				"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b","parameters":{"type":"object"}}}],
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"a"}}]}}}`,
		},
		{
			name: "forced function",
			in:   `{"input":"x","tools":[{"type":"function","name":"a"}],"tool_choice":{"type":"function","name":"a"}}`,
			want: `{"model":"","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"a"}}}`,
		},
		{
			name:        "hosted tool choice",
			in:          `{"input":"x","tools":[{"type":"function","name":"a"}],"tool_choice":{"type":"web_search_preview"}}`,
			want:        `{"model":"","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"a"}}]}`,
			wantRemoved: []string{"tool_choice"},
		},
		{
			name: "json_object, reasoning effort none, summary only",
			in:   `{"input":"x","text":{"format":{"type":"json_object"}},"reasoning":{"effort":"minimal","summary":"detailed"}}`,
			want: `{"model":"","messages":[{"role":"user","content":"x"}],"reasoning_effort":"minimal","response_format":{"type":"json_object"}}`,
		},
		{
			name: "text format text is the default",
			in:   `{"input":"x","text":{"format":{"type":"text"}},"reasoning":{"summary":"auto"}}`,
			want: `{"model":"","messages":[{"role":"user","content":"x"}]}`,
		},
		{
			name: "files: bare base64, file id, file url; image file id; audio",
			in: `{"input":[{"role":"user","content":[{"type":"input_file","filename":"a.txt","file_data":"aGk="},{"type":"input_file","file_id":"file-1"},
				{"type":"input_file","file_url":"https://x/y.pdf"},{"type":"input_image","file_id":"file-2"},{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`,
			want:        `{"model":"","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:text/plain;base64,aGk=","filename":"a.txt"}},{"type":"file","file":{"file_id":"file-1"}}]}]}`,
			wantRemoved: []string{"input.input_audio", "input.input_file.file_url", "input.input_image.file_id"},
		},
		{
			name: "other items and parameters are named",
			in: `{"input":[{"role":"user","content":"x"},{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}},
				{"type":"custom_tool_call","call_id":"c","name":"n","input":"i"}],"truncation":"auto","top_logprobs":3,"max_tool_calls":2,
				"prompt_cache_key":"k","safety_identifier":"s","service_tier":"flex"}`,
			want:        `{"model":"","messages":[{"role":"user","content":"x"}],"safety_identifier":"s","prompt_cache_key":"k","service_tier":"flex"}`,
			wantRemoved: []string{"input.custom_tool_call", "input.web_search_call", "max_tool_calls", "top_logprobs", "truncation"},
		},
		{
			name: "stream with usage",
			in:   `{"input":"x","stream":true}`,
			o:    Options{IncludeUsage: true},
			want: `{"model":"","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := ResponsesToChat([]byte(tt.in), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
			removedEqual(t, removed, tt.wantRemoved)
		})
	}
}

// State kept by OpenAI cannot be carried: a StateError names the member,
// and its explanation says what to send instead.
func TestResponsesToChatState(t *testing.T) {
	tests := []struct {
		in, param string
	}{
		{`{"input":"x","previous_response_id":"resp_123"}`, "previous_response_id"},
		{`{"previous_response_id":"resp_123"}`, "previous_response_id"},
		{`{"input":"x","store":true}`, "store"},
		{`{"input":"x","background":true,"store":false}`, "background"},
		{`{"input":"x","conversation":"conv_1"}`, "conversation"},
		{`{"input":"x","conversation":{"id":"conv_1"}}`, "conversation"},
		{`{"prompt":{"id":"pmpt_1","version":"2"}}`, "prompt"},
		{`{"input":[{"role":"user","content":"x"},{"type":"item_reference","id":"msg_1"}]}`, "input.item_reference"},
	}
	for _, tt := range tests {
		for name, fn := range map[string]func([]byte, Options) ([]byte, []string, error){"ResponsesToChat": ResponsesToChat, "ResponsesToMessages": ResponsesToMessages} {
			_, _, err := fn([]byte(tt.in), Options{})
			var se *StateError
			if !errors.As(err, &se) || se.Param != tt.param {
				t.Fatalf("%s(%s): err %v, want a StateError for %s", name, tt.in, err, tt.param)
			}
			msg := se.Explain("claude-sonnet-4-5", "anthropic")
			if !strings.HasPrefix(msg, tt.param+" needs a provider that keeps") ||
				!strings.Contains(msg, "model claude-sonnet-4-5 is served by anthropic") {
				t.Errorf("Explain: %s", msg)
			}
		}
	}
	// The message the gateway's 400 carries.
	se := &StateError{Param: "previous_response_id"}
	if got, want := se.Explain("claude-sonnet-4-5", "anthropic"), "previous_response_id needs a provider that keeps responses (OpenAI); model claude-sonnet-4-5 is served by anthropic, which does not: send the whole conversation in input"; got != want {
		t.Errorf("Explain = %q\nwant      %q", got, want)
	}
	if got, want := (&StateError{Param: "store"}).Error(), "store needs a provider that keeps responses (OpenAI); a translated request cannot carry it"; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}
}

func TestResponsesToChatErrors(t *testing.T) {
	for _, in := range []string{
		`[]`, `null`, `{"input":null}`, `{}`, `{"input":[]}`, `{"input":5}`,
		`{"input":[{"role":"tool","content":"x"}]}`,
		`{"input":[{"type":"message","role":"user","content":5}]}`,
		`{"input":[{"type":"function_call","name":5}]}`,
	} {
		if _, _, err := ResponsesToChat([]byte(in), Options{}); err == nil {
			t.Errorf("ResponsesToChat(%s): no error", in)
		} else if errors.As(err, new(*StateError)) {
			t.Errorf("ResponsesToChat(%s): a StateError: %v", in, err)
		}
	}
}
