package translate

import "testing"

func TestMessagesResponseToChat(t *testing.T) {
	tests := []struct {
		name  string
		model string
		in    string
		want  string
	}{
		{
			name:  "text with cache tokens",
			model: "claude-sonnet-4-5",
			in: `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
				"content":[{"type":"text","text":"Hi! My name is Claude."}],"stop_reason":"end_turn","stop_sequence":null,
				"usage":{"input_tokens":2095,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":503,"service_tier":"standard"}}`,
			want: `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","object":"chat.completion","created":1730000000,"model":"claude-sonnet-4-5",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Hi! My name is Claude.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
				"usage":{"prompt_tokens":3195,"completion_tokens":503,"total_tokens":3698,"prompt_tokens_details":{"cached_tokens":1000,"cache_write_tokens":100}}}`,
		},
		{
			name: "thinking, text and parallel tool calls",
			in: `{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-opus-4-1",
				"content":[{"type":"thinking","thinking":"The user wants weather for two cities.","signature":"EqQBCgIYAhIM"},
					{"type":"text","text":"I'll check both."},
					{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"}},
					{"type":"tool_use","id":"toolu_01B","name":"get_weather","input":{"location":"New York, NY"}}],
				"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":91}}`,
			want: `{"id":"msg_01Aq9w938a90dw8q","object":"chat.completion","created":1730000000,"model":"claude-opus-4-1",
				"choices":[{"index":0,"message":{"role":"assistant","content":"I'll check both.","refusal":null,
					"reasoning_content":"The user wants weather for two cities.",
					"tool_calls":[{"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"}},
						{"id":"toolu_01B","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"New York, NY\"}"}}]},
					"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":472,"completion_tokens":91,"total_tokens":563,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "tool call only: content null",
			in: `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"t","input":{}}],
				"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1730000000,"model":"m",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
					"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"t","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "max_tokens; server tools and citations left out",
			in: `{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[
				{"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{"query":"claude shannon birth date"}},
				{"type":"web_search_tool_result","tool_use_id":"srvtoolu_01","content":[{"type":"web_search_result","url":"https://en.wikipedia.org/wiki/Claude_Shannon","title":"Claude Shannon - Wikipedia","encrypted_content":"EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y","page_age":"April 30, 2025"}]},
				{"type":"text","text":"Claude Shannon was born on April 30, 1916","citations":[{"type":"web_search_result_location","url":"https://en.wikipedia.org/wiki/Claude_Shannon","title":"Claude Shannon - Wikipedia","encrypted_index":"Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm","cited_text":"Claude Elwood Shannon (April 30, 1916 – February 24, 2001)"}]}],
				"stop_reason":"max_tokens","usage":{"input_tokens":6039,"output_tokens":931,"server_tool_use":{"web_search_requests":1}}}`,
			want: `{"id":"msg_2","object":"chat.completion","created":1730000000,"model":"m",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Claude Shannon was born on April 30, 1916","refusal":null},"logprobs":null,"finish_reason":"length"}],
				"usage":{"prompt_tokens":6039,"completion_tokens":931,"total_tokens":6970,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "refusal; no usage",
			in:   `{"id":"msg_3","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"refusal"}`,
			want: `{"id":"msg_3","object":"chat.completion","created":1730000000,"model":"m",
				"choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"content_filter"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := MessagesResponseToChat([]byte(tt.in), tt.model)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
		})
	}
	for _, bad := range []string{`{`, `{"type":"error","error":{"type":"api_error","message":"x"}}`, `{"type":"message","content":{}}`} {
		if _, err := MessagesResponseToChat([]byte(bad), ""); err == nil {
			t.Errorf("MessagesResponseToChat(%s): no error", bad)
		}
	}
}

func TestChatResponseToMessages(t *testing.T) {
	tests := []struct {
		name  string
		model string
		in    string
		want  string
	}{
		{
			name:  "text",
			model: "gpt-4.1",
			in: `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4.1-2025-04-14",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
				"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
				"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}`,
			want: `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","type":"message","role":"assistant","model":"gpt-4.1",
				"content":[{"type":"text","text":"Hello! How can I assist you today?"}],"stop_reason":"end_turn","stop_sequence":null,
				"usage":{"input_tokens":19,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}`,
		},
		{
			name: "parallel tool calls with cached tokens",
			in: `{"id":"chatcmpl-abc","object":"chat.completion","created":1699896916,"model":"gpt-4o-mini",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_abc123","type":"function","function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\"\n}"}},
					{"id":"call_def456","type":"function","function":{"name":"get_current_weather","arguments":""}}]},
					"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":2006,"completion_tokens":17,"total_tokens":2023,"prompt_tokens_details":{"cached_tokens":1920}}}`,
			want: `{"id":"chatcmpl-abc","type":"message","role":"assistant","model":"gpt-4o-mini","content":[
				{"type":"tool_use","id":"call_abc123","name":"get_current_weather","input":{"location":"Boston, MA"}},
				{"type":"tool_use","id":"call_def456","name":"get_current_weather","input":{}}],
				"stop_reason":"tool_use","stop_sequence":null,
				"usage":{"input_tokens":86,"cache_creation_input_tokens":0,"cache_read_input_tokens":1920,"output_tokens":17}}`,
		},
		{
			name: "DeepSeek reasoning_content and cache hit tokens",
			in: `{"id":"930c60df-bf64-41c9-a88e-3ec75f81e00e","object":"chat.completion","created":1737000000,"model":"deepseek-reasoner",
				"choices":[{"index":0,"message":{"role":"assistant","content":"9.11 is smaller.","reasoning_content":"Compare 9.11 and 9.8: 0.11 < 0.8."},"logprobs":null,"finish_reason":"stop"}],
				"usage":{"prompt_tokens":20,"completion_tokens":300,"total_tokens":320,"prompt_cache_hit_tokens":16,"prompt_cache_miss_tokens":4,
				"completion_tokens_details":{"reasoning_tokens":290}}}`,
			want: `{"id":"930c60df-bf64-41c9-a88e-3ec75f81e00e","type":"message","role":"assistant","model":"deepseek-reasoner","content":[
				{"type":"thinking","thinking":"Compare 9.11 and 9.8: 0.11 < 0.8.","signature":""},{"type":"text","text":"9.11 is smaller."}],
				"stop_reason":"end_turn","stop_sequence":null,
				"usage":{"input_tokens":4,"cache_creation_input_tokens":0,"cache_read_input_tokens":16,"output_tokens":300}}`,
		},
		{
			name: "refusal",
			in: `{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I'm sorry, I can't help with that."},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}`,
			want: `{"id":"c1","type":"message","role":"assistant","model":"gpt-4o","content":[{"type":"text","text":"I'm sorry, I can't help with that."}],
				"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}`,
		},
		{
			name: "length; a server saying stop after tool calls; no usage",
			in: `{"id":"c2","object":"chat.completion","model":"llama3.2","choices":[{"index":0,"message":{"role":"assistant","content":"",
				"tool_calls":[{"id":"call_x","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"stop"}]}`,
			want: `{"id":"c2","type":"message","role":"assistant","model":"llama3.2","content":[{"type":"tool_use","id":"call_x","name":"f","input":{"a":1}}],
				"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		{
			name: "length",
			in:   `{"id":"c3","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Once upon a"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":3}}`,
			want: `{"id":"c3","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Once upon a"}],
				"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ChatResponseToMessages([]byte(tt.in), tt.model)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
		})
	}
	for _, bad := range []string{`[`, `{"choices":[]}`, `{"choices":[{"message":{"content":7}}]}`} {
		if _, err := ChatResponseToMessages([]byte(bad), ""); err == nil {
			t.Errorf("ChatResponseToMessages(%s): no error", bad)
		}
	}
}
