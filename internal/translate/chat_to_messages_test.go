package translate

import (
	"strings"
	"testing"
)

func TestChatToMessages(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		in      string
		want    string
		removed []string
	}{
		{
			name: "system, multi-turn, sampling, user, stream",
			opts: Options{Model: "claude-sonnet-4-5"},
			in: `{"model":"gpt-4o","messages":[
				{"role":"developer","content":"You are a helpful assistant."},
				{"role":"user","content":"Hello!"},
				{"role":"assistant","content":"Hi! How can I help?"},
				{"role":"user","content":"Tell me a joke."}],
				"temperature":0.7,"max_completion_tokens":256,"stream":true,
				"stream_options":{"include_usage":true},"user":"user-123",
				"n":1,"presence_penalty":0,"frequency_penalty":0,"logprobs":false}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":256,"system":"You are a helpful assistant.",
				"messages":[{"role":"user","content":"Hello!"},{"role":"assistant","content":"Hi! How can I help?"},{"role":"user","content":"Tell me a joke."}],
				"temperature":0.7,"metadata":{"user_id":"user-123"},"stream":true}`,
		},
		{
			name:    "API 2026-10-21: sampling dropped and named",
			opts:    Options{Model: "claude-opus-5", DropSampling: true, DefaultMaxTokens: 32000},
			in:      `{"model":"auto","messages":[{"role":"user","content":"Hi"}],"temperature":1,"top_p":0.9,"top_k":40}`,
			want:    `{"model":"claude-opus-5","max_tokens":32000,"messages":[{"role":"user","content":"Hi"}]}`,
			removed: []string{"temperature", "top_k", "top_p"},
		},
		{
			name:    "temperature capped at 1, top_p dropped beside it, stop whitespace dropped",
			in:      `{"model":"m","messages":[{"role":"user","content":"Hi"}],"temperature":1.6,"top_p":0.5,"stop":["\n","END"],"max_tokens":50}`,
			want:    `{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"Hi"}],"stop_sequences":["END"],"temperature":1}`,
			removed: []string{"stop", "top_p"},
		},
		{
			name: "stop as a string; several system messages; content parts; names",
			in: `{"model":"m","stop":"###","messages":[
				{"role":"system","content":"Be brief."},
				{"role":"system","content":[{"type":"text","text":"Answer in French."}]},
				{"role":"user","name":"alice","content":[{"type":"text","text":"Bonjour"}]}]}`,
			want: `{"model":"m","max_tokens":4096,
				"system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Answer in French."}],
				"messages":[{"role":"user","content":"Bonjour"}],"stop_sequences":["###"]}`,
			removed: []string{"messages.name"},
		},
		{
			name: "images (url and base64), PDF file, audio dropped, cache_control kept",
			in: `{"model":"gpt-4o","max_tokens":300,"messages":[{"role":"user","content":[
				{"type":"text","text":"What's in this image?"},
				{"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg","detail":"high"}},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="},"cache_control":{"type":"ephemeral"}},
				{"type":"file","file":{"filename":"report.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}},
				{"type":"file","file":{"file_id":"file-abc123"}},
				{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]}`,
			want: `{"model":"gpt-4o","max_tokens":300,"messages":[{"role":"user","content":[
				{"type":"text","text":"What's in this image?"},
				{"type":"image","source":{"type":"url","url":"https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"}},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="},"cache_control":{"type":"ephemeral"}},
				{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="},"title":"report.pdf"}]}]}`,
			removed: []string{"messages.file", "messages.input_audio"},
		},
		{
			name: "tools, tool_choice auto, parallel calls, tool results merged, follow-up",
			in: `{"model":"gpt-4o","messages":[
				{"role":"user","content":"What's the weather like in Boston and Paris today?"},
				{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_abc","type":"function","function":{"name":"get_current_weather","arguments":"{\"location\": \"Boston, MA\"}"}},
					{"id":"call_def","type":"function","function":{"name":"get_current_weather","arguments":"{\"location\":\"Paris\",\"unit\":\"celsius\"}"}}]},
				{"role":"tool","tool_call_id":"call_abc","content":"{\"temperature\": \"22\", \"unit\": \"celsius\"}"},
				{"role":"tool","tool_call_id":"call_def","content":[{"type":"text","text":"18 celsius"}]},
				{"role":"user","content":"Thanks. Which is warmer?"}],
				"tools":[{"type":"function","function":{"name":"get_current_weather","description":"Get the current weather in a given location",
					"parameters":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}},
					{"type":"function","function":{"name":"ping"}},{"type":"function","function":{"name":"pong","parameters":{"properties":{"n":{"type":"integer"}}}}}],
				"tool_choice":"auto","parallel_tool_calls":true}`,
			want: `{"model":"gpt-4o","max_tokens":4096,"messages":[
				{"role":"user","content":"What's the weather like in Boston and Paris today?"},
				{"role":"assistant","content":[
					{"type":"tool_use","id":"call_abc","name":"get_current_weather","input":{"location":"Boston, MA"}},
					{"type":"tool_use","id":"call_def","name":"get_current_weather","input":{"location":"Paris","unit":"celsius"}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"call_abc","content":"{\"temperature\": \"22\", \"unit\": \"celsius\"}"},
					{"type":"tool_result","tool_use_id":"call_def","content":[{"type":"text","text":"18 celsius"}]},
					{"type":"text","text":"Thanks. Which is warmer?"}]}],
				"tools":[{"name":"get_current_weather","description":"Get the current weather in a given location",
					"input_schema":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}},
					{"name":"ping","input_schema":{"type":"object","properties":{}}},{"name":"pong","input_schema":{"type":"object","properties":{"n":{"type":"integer"}}}}],
				"tool_choice":{"type":"auto"}}`,
		},
		{
			name: "tool_choice function, parallel_tool_calls false, odd ids, bad arguments",
			in: `{"model":"m","messages":[
				{"role":"user","content":"Look up"},
				{"role":"assistant","content":"Looking.","tool_calls":[{"id":"call:1.x","type":"function","function":{"name":"lookup","arguments":"{\"q\": \"tru"}}]},
				{"role":"tool","tool_call_id":"call:1.x","content":""}],
				"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}},"strict":true}},
					{"type":"custom","custom":{"name":"raw"}}],
				"tool_choice":{"type":"function","function":{"name":"lookup"}},"parallel_tool_calls":false}`,
			want: `{"model":"m","max_tokens":4096,"messages":[
				{"role":"user","content":"Look up"},
				{"role":"assistant","content":[{"type":"text","text":"Looking."},{"type":"tool_use","id":"call_1_x","name":"lookup","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1_x"}]}],
				"tools":[{"name":"lookup","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}],
				"tool_choice":{"type":"tool","name":"lookup","disable_parallel_tool_use":true}}`,
			removed: []string{"tools.custom", "tools.strict"},
		},
		{
			name: "tool_choice required; allowed_tools filters",
			in: `{"model":"m","messages":[{"role":"user","content":"x"}],
				"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}],
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"b"}}]}}}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],
				"tools":[{"name":"b","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"any"}}`,
		},
		{
			name:    "tool_choice without tools dropped",
			in:      `{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"none","parallel_tool_calls":false}`,
			want:    `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}]}`,
			removed: []string{"parallel_tool_calls", "tool_choice"},
		},
		{
			name:    "reasoning_effort with a limit: budget, sampling dropped",
			in:      `{"model":"o3","messages":[{"role":"user","content":"Prove it."}],"reasoning_effort":"high","max_completion_tokens":40000,"temperature":0.2}`,
			want:    `{"model":"o3","max_tokens":40000,"messages":[{"role":"user","content":"Prove it."}],"thinking":{"type":"enabled","budget_tokens":16384}}`,
			removed: []string{"temperature"},
		},
		{
			name: "reasoning_effort clamped below a small limit",
			in:   `{"model":"o3","messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium","max_tokens":1500}`,
			want: `{"model":"o3","max_tokens":1500,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":1024}}`,
		},
		{
			name: "reasoning_effort without a limit: the model's limit",
			opts: Options{DefaultMaxTokens: 8192},
			in:   `{"model":"o3","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"}`,
			want: `{"model":"o3","max_tokens":8192,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":4096}}`,
		},
		{
			name: "reasoning_effort without any limit: room added",
			in:   `{"model":"o3","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"}`,
			want: `{"model":"o3","max_tokens":6144,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":2048}}`,
		},
		{
			name:    "reasoning_effort with too small a limit",
			in:      `{"model":"o3","messages":[{"role":"user","content":"x"}],"reasoning_effort":"minimal","max_tokens":1000}`,
			want:    `{"model":"o3","max_tokens":1000,"messages":[{"role":"user","content":"x"}]}`,
			removed: []string{"reasoning_effort"},
		},
		{
			name: "reasoning_effort none; an unknown effort named",
			in:   `{"model":"o3","messages":[{"role":"user","content":"x"}],"reasoning_effort":"none","max_tokens":1000}`,
			want: `{"model":"o3","max_tokens":1000,"messages":[{"role":"user","content":"x"}]}`,
		},
		{
			name:    "reasoning_effort unknown",
			in:      `{"model":"o3","messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme","max_tokens":1000}`,
			want:    `{"model":"o3","max_tokens":1000,"messages":[{"role":"user","content":"x"}]}`,
			removed: []string{"reasoning_effort"},
		},
		{
			name: "text file part; arguments sent as an object; legacy function messages",
			in: `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"notes.txt","file_data":"data:text/plain;charset=utf-8;base64,aGVsbG8="}}]},
				{"role":"assistant","content":[{"type":"text","text":"Calling."}],"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}],"function_call":{"name":"g","arguments":"{}"}},
				{"role":"tool","tool_call_id":"c1","content":"ok"},
				{"role":"function","name":"g","content":"legacy"}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[
				{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"hello"},"title":"notes.txt"}]},
				{"role":"assistant","content":[{"type":"text","text":"Calling."},{"type":"tool_use","id":"c1","name":"f","input":{"a":1}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"ok"}]}]}`,
			removed: []string{"messages.function", "messages.function_call", "messages.name"},
		},
		{
			name: "reasoning_effort during a tool-use turn: no thinking; reasoning_content dropped",
			in: `{"model":"deepseek-reasoner","reasoning_effort":"medium","messages":[
				{"role":"user","content":"Weather?"},
				{"role":"assistant","content":"","reasoning_content":"I should call the tool.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"call_1","content":"sunny"}],
				"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object","properties":{}}}}]}`,
			want: `{"model":"deepseek-reasoner","max_tokens":4096,"messages":[
				{"role":"user","content":"Weather?"},
				{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"w","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"sunny"}]}],
				"tools":[{"name":"w","input_schema":{"type":"object","properties":{}}}]}`,
			removed: []string{"messages.reasoning_content", "reasoning_effort"},
		},
		{
			name: "no equivalent: named",
			in: `{"model":"m","messages":[{"role":"user","content":"x"}],"n":3,"logprobs":true,"top_logprobs":2,
				"presence_penalty":0.5,"frequency_penalty":0.1,"seed":42,"logit_bias":{"50256":-100},
				"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"}}},
				"service_tier":"flex","store":true,"metadata":{"k":"v"},"modalities":["text"],"prediction":{"type":"content","content":"x"},
				"models":["a","b"],"response_format_ignored":null}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}]}`,
			removed: []string{"frequency_penalty", "logit_bias", "logprobs", "metadata", "modalities", "n", "prediction",
				"presence_penalty", "response_format", "seed", "service_tier", "store", "top_logprobs"},
		},
		{
			name: "final assistant message: prefill without trailing space; thinking off",
			in: `{"model":"m","reasoning_effort":"high","messages":[{"role":"user","content":"List three colors as JSON."},
				{"role":"assistant","content":"{\"colors\": [ "}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"List three colors as JSON."},
				{"role":"assistant","content":"{\"colors\": ["}]}`,
			removed: []string{"reasoning_effort"},
		},
		{
			name: "ContinueChat output becomes a prefill",
			in: `{"model":"m","messages":[{"role":"user","content":"Count to ten."},
				{"role":"assistant","content":"One, two, three, "},
				{"role":"user","content":"` + ContinueInstruction + `"}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"Count to ten."},
				{"role":"assistant","content":"One, two, three,"}]}`,
		},
		{
			name: "consecutive user messages merge; empty content skipped; refusal kept as text",
			in: `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":""},{"role":"user","content":"b"},
				{"role":"assistant","content":null,"refusal":"I can't help with that."},{"role":"user","content":"ok"}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[
				{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
				{"role":"assistant","content":"I can't help with that."},{"role":"user","content":"ok"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := ChatToMessages([]byte(tt.in), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
			removedEqual(t, removed, tt.removed)
		})
	}
}

func TestChatToMessagesErrors(t *testing.T) {
	for _, in := range []string{
		`not json`,
		`[]`,
		`{"model":"m"}`,
		`{"model":"m","messages":[]}`,
		`{"model":"m","messages":[{"role":"wizard","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"system","content":"only a system prompt"}]}`,
		`{"model":"m","messages":[{"role":"user","content":42}]}`,
	} {
		if _, _, err := ChatToMessages([]byte(in), Options{}); err == nil {
			t.Errorf("ChatToMessages(%s): no error", in)
		} else if !strings.Contains(err.Error(), "request") {
			t.Errorf("error %q does not say what was being done", err)
		}
	}
}
