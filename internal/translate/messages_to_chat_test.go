package translate

import (
	"testing"
)

func TestMessagesToChat(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		in      string
		want    string
		removed []string
	}{
		{
			name: "system, multi-turn, sampling, stop, user, stream with usage",
			opts: Options{Model: "gpt-4.1", IncludeUsage: true},
			in: `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are a helpful assistant.",
				"messages":[{"role":"user","content":"Hello, Claude"},{"role":"assistant","content":"Hello!"},
				{"role":"user","content":[{"type":"text","text":"Can you describe LLMs to me?"}]}],
				"temperature":0.5,"top_p":0.9,"top_k":5,"stop_sequences":["\n\nHuman:"],"metadata":{"user_id":"13803d75-b4b5-4c3e-b2a2-6f21399b021b"},"stream":true}`,
			want: `{"model":"gpt-4.1","messages":[{"role":"system","content":"You are a helpful assistant."},
				{"role":"user","content":"Hello, Claude"},{"role":"assistant","content":"Hello!"},
				{"role":"user","content":"Can you describe LLMs to me?"}],
				"max_completion_tokens":1024,"temperature":0.5,"top_p":0.9,"stop":["\n\nHuman:"],
				"user":"13803d75-b4b5-4c3e-b2a2-6f21399b021b","stream":true,"stream_options":{"include_usage":true}}`,
			removed: []string{"top_k"},
		},
		{
			name: "system blocks with cache_control; legacy max_tokens; too many stops",
			opts: Options{LegacyMaxTokens: true},
			in: `{"model":"m","max_tokens":100,"stop_sequences":["a","b","c","d","e"],
				"system":[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Project rules: ...","cache_control":{"type":"ephemeral"}}],
				"messages":[{"role":"user","content":[{"type":"text","text":"fix the bug","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]}`,
			want: `{"model":"m","messages":[{"role":"system","content":"You are Claude Code.\n\nProject rules: ..."},
				{"role":"user","content":"fix the bug"}],"max_tokens":100,"stop":["a","b","c","d"]}`,
			removed: []string{"cache_control", "stop_sequences"},
		},
		{
			name: "images, PDF and text documents",
			in: `{"model":"m","max_tokens":1024,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQSkZJRg=="}},
				{"type":"image","source":{"type":"url","url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
				{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="},"title":"paper.pdf"},
				{"type":"document","source":{"type":"text","media_type":"text/plain","data":"The grass is green."}},
				{"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}},
				{"type":"image","source":{"type":"file","file_id":"file_011"}},
				{"type":"text","text":"Describe these."}]}]}`,
			want: `{"model":"m","messages":[{"role":"user","content":[
				{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
				{"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
				{"type":"file","file":{"filename":"paper.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}},
				{"type":"text","text":"The grass is green."},
				{"type":"text","text":"Describe these."}]}],"max_completion_tokens":1024}`,
			removed: []string{"messages.document", "messages.image"},
		},
		{
			name: "tools, tool_choice any without parallel, parallel tool_use, tool results with image",
			in: `{"model":"claude-opus-4-1","max_tokens":1024,
				"tools":[{"name":"get_weather","description":"Get the current weather in a given location",
					"input_schema":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"}},"required":["location"]}},
					{"name":"screenshot","input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral"}},
					{"type":"web_search_20250305","name":"web_search","max_uses":5}],
				"tool_choice":{"type":"any","disable_parallel_tool_use":true},
				"messages":[
				{"role":"user","content":"What's the weather like in San Francisco and New York?"},
				{"role":"assistant","content":[
					{"type":"text","text":"I'll check both."},
					{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA"}},
					{"type":"tool_use","id":"toolu_01B","name":"get_weather","input":{"location":"New York, NY"}},
					{"type":"tool_use","id":"toolu_01C","name":"screenshot","input":{}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","content":"15 degrees"},
					{"type":"tool_result","tool_use_id":"toolu_01B","content":[{"type":"text","text":"20 degrees"},{"type":"text","text":"sunny"}],"is_error":false},
					{"type":"tool_result","tool_use_id":"toolu_01C","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
					{"type":"text","text":"Which is warmer?"}]}]}`,
			want: `{"model":"claude-opus-4-1","messages":[
				{"role":"user","content":"What's the weather like in San Francisco and New York?"},
				{"role":"assistant","content":"I'll check both.","tool_calls":[
					{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\"}"}},
					{"id":"toolu_01B","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"New York, NY\"}"}},
					{"id":"toolu_01C","type":"function","function":{"name":"screenshot","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"toolu_01A09q90qw90lq917835lq9","content":"15 degrees"},
				{"role":"tool","tool_call_id":"toolu_01B","content":"20 degrees\nsunny"},
				{"role":"tool","tool_call_id":"toolu_01C","content":""},
				{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"text","text":"Which is warmer?"}]}],
				"max_completion_tokens":1024,
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the current weather in a given location",
					"parameters":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"}},"required":["location"]}}},
					{"type":"function","function":{"name":"screenshot","parameters":{"type":"object","properties":{}}}}],
				"tool_choice":"required","parallel_tool_calls":false}`,
			removed: []string{"cache_control", "tools.web_search_20250305"},
		},
		{
			name: "tool_choice tool and none",
			in: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],
				"tools":[{"type":"custom","name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"t"}}`,
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":10,
				"tools":[{"type":"function","function":{"name":"t","parameters":{"type":"object"}}}],
				"tool_choice":{"type":"function","function":{"name":"t"}}}`,
		},
		{
			name: "thinking with budget; thinking blocks in history dropped",
			in: `{"model":"claude-sonnet-4-5","max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000},
				"messages":[{"role":"user","content":"Are there an infinite number of prime numbers such that n mod 4 == 3?"},
				{"role":"assistant","content":[{"type":"thinking","thinking":"Let me think...","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
					{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
					{"type":"text","text":"Yes."}]},
				{"role":"user","content":"Why?"}]}`,
			want: `{"model":"claude-sonnet-4-5","messages":[
				{"role":"user","content":"Are there an infinite number of prime numbers such that n mod 4 == 3?"},
				{"role":"assistant","content":"Yes."},{"role":"user","content":"Why?"}],
				"max_completion_tokens":16000,"reasoning_effort":"medium"}`,
			removed: []string{"messages.redacted_thinking", "messages.thinking"},
		},
		{
			name: "output_config effort and format; adaptive thinking",
			in: `{"model":"claude-opus-4-6","max_tokens":2048,"thinking":{"type":"adaptive"},
				"output_config":{"effort":"max","format":{"type":"json_schema","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}},
				"messages":[{"role":"user","content":"Extract the name: John Smith works here."}]}`,
			want: `{"model":"claude-opus-4-6","messages":[{"role":"user","content":"Extract the name: John Smith works here."}],
				"max_completion_tokens":2048,"reasoning_effort":"high",
				"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}}`,
		},
		{
			name: "thinking disabled wins over output_config effort",
			in:   `{"model":"m","max_tokens":10,"thinking":{"type":"disabled"},"output_config":{"effort":"low"},"messages":[{"role":"user","content":"x"}]}`,
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":10}`,
		},
		{
			name: "final assistant message: prefill asked for with ContinueInstruction",
			in: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"What is latin for Ant? (A) Apoidea, (B) Rhopalocera, (C) Formicidae"},
				{"role":"assistant","content":"The answer is ("}]}`,
			want: `{"model":"m","messages":[{"role":"user","content":"What is latin for Ant? (A) Apoidea, (B) Rhopalocera, (C) Formicidae"},
				{"role":"assistant","content":"The answer is ("},{"role":"user","content":"` + ContinueInstruction + `"}],"max_completion_tokens":10}`,
		},
		{
			name: "no equivalent: named",
			in: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],"service_tier":"standard_only",
				"container":"container_1","mcp_servers":[{"type":"url","url":"https://example.com/sse","name":"x"}],
				"context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},"metadata":{"user_id":"u","other":"v"},
				"tool_choice":{"type":"auto"},"models":["x"]}`,
			want:    `{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":10,"user":"u"}`,
			removed: []string{"container", "context_management", "mcp_servers", "metadata.other", "service_tier", "tool_choice"},
		},
		{
			name: "server tool blocks in history dropped",
			in: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"search"},
				{"role":"assistant","content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
					{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},{"type":"text","text":"Found it."}]},
				{"role":"user","content":[{"type":"search_result","source":"https://x","title":"t","content":[{"type":"text","text":"r"}]},{"type":"text","text":"more"}]}]}`,
			want:    `{"model":"m","messages":[{"role":"user","content":"search"},{"role":"assistant","content":"Found it."},{"role":"user","content":"more"}],"max_completion_tokens":10}`,
			removed: []string{"messages.search_result", "messages.server_tool_use", "messages.web_search_tool_result"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := MessagesToChat([]byte(tt.in), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
			removedEqual(t, removed, tt.removed)
		})
	}
}

func TestMessagesToChatErrors(t *testing.T) {
	for _, in := range []string{
		`{`,
		`null`,
		`{"model":"m","max_tokens":1}`,
		`{"model":"m","messages":[{"role":"system","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"user","content":{"a":1}}]}`,
		`{"model":"m","system":5,"messages":[{"role":"user","content":"x"}]}`,
	} {
		if _, _, err := MessagesToChat([]byte(in), Options{}); err == nil {
			t.Errorf("MessagesToChat(%s): no error", in)
		}
	}
}

// Translating there and back keeps what both formats can say.
func TestRequestRoundTrip(t *testing.T) {
	chat := `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Oslo?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Oslo\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"-3"}],
		"tools":[{"type":"function","function":{"name":"w","description":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
		"tool_choice":"required","max_completion_tokens":500,"temperature":0.3,"stop":["END"],"user":"u1","stream":true}`
	a, removed, err := ChatToMessages([]byte(chat), Options{})
	if err != nil || removed != nil {
		t.Fatal(err, removed)
	}
	back, removed, err := MessagesToChat(a, Options{IncludeUsage: true})
	if err != nil || removed != nil {
		t.Fatal(err, removed)
	}
	jsonEqual(t, back, `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Oslo?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Oslo\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"-3"}],
		"max_completion_tokens":500,"temperature":0.3,"stop":["END"],
		"tools":[{"type":"function","function":{"name":"w","description":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
		"tool_choice":"required","user":"u1","stream":true,"stream_options":{"include_usage":true}}`)
}
