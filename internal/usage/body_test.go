package usage

import "testing"

// Bodies follow the shapes in the OpenAI and Anthropic API references.
const (
	chatBodyBasic = `{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "The image shows a wooden boardwalk path running through a lush green marshland.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 1117,
    "completion_tokens": 46,
    "total_tokens": 1163,
    "prompt_tokens_details": {
      "cached_tokens": 0,
      "audio_tokens": 0
    },
    "completion_tokens_details": {
      "reasoning_tokens": 0,
      "audio_tokens": 0,
      "accepted_prediction_tokens": 0,
      "rejected_prediction_tokens": 0
    }
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}`

	chatBodyCachedReasoning = `{"id":"chatcmpl-abc","object":"chat.completion","created":1741570283,"model":"o3-mini",
"choices":[{"index":0,"message":{"role":"assistant","content":"42"},"finish_reason":"length"}],
"usage":{"prompt_tokens":2006,"completion_tokens":1300,"total_tokens":3306,
"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},
"completion_tokens_details":{"reasoning_tokens":1024,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`

	chatBodyToolCall = `{"id":"chatcmpl-abc123","object":"chat.completion","created":1699896916,"model":"gpt-4o-mini",
"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function",
"function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\"\n}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"completion_tokens_details":{"reasoning_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`

	chatBodyDeepSeek = `{"id":"930c60df-bf64-41c9-a88e-3ec75f81e00e","object":"chat.completion","created":1705651092,"model":"deepseek-reasoner",
"choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","reasoning_content":"The user greets me."},"logprobs":null,"finish_reason":"stop"}],
"usage":{"prompt_tokens":100,"completion_tokens":60,"total_tokens":160,"completion_tokens_details":{"reasoning_tokens":45},
"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36},"system_fingerprint":"fp_a49d71b8a1"}`

	chatBodyNoUsage = `{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`

	openAIError = `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`

	responsesBodyBasic = `{
  "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
  "object": "response",
  "created_at": 1741476542,
  "status": "completed",
  "error": null,
  "incomplete_details": null,
  "instructions": null,
  "max_output_tokens": null,
  "model": "gpt-4.1-2025-04-14",
  "output": [
    {
      "type": "message",
      "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
      "status": "completed",
      "role": "assistant",
      "content": [
        {
          "type": "output_text",
          "text": "In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool.",
          "annotations": []
        }
      ]
    }
  ],
  "parallel_tool_calls": true,
  "previous_response_id": null,
  "reasoning": {"effort": null, "summary": null},
  "store": true,
  "temperature": 1.0,
  "text": {"format": {"type": "text"}},
  "tool_choice": "auto",
  "tools": [],
  "top_p": 1.0,
  "truncation": "disabled",
  "usage": {
    "input_tokens": 36,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 87,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 123
  },
  "user": null,
  "metadata": {}
}`

	responsesBodyIncomplete = `{"id":"resp_1","object":"response","created_at":1741476542,"status":"incomplete",
"incomplete_details":{"reason":"max_output_tokens"},"model":"o4-mini",
"output":[{"id":"rs_1","type":"reasoning","summary":[]}],
"usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4096},"output_tokens":256,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":5256}}`

	responsesBodyCacheWrite = `{"id":"resp_2","object":"response","status":"completed","incomplete_details":null,
"usage":{"input_tokens":3000,"input_tokens_details":{"cached_tokens":1000,"cache_write_tokens":1500},"output_tokens":10,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":3010}}`

	embeddingsBodyBasic = `{
  "object": "list",
  "data": [
    {"object": "embedding", "embedding": [0.0023064255, -0.009327292, -0.0028842222, 1e-7], "index": 0}
  ],
  "model": "text-embedding-3-small",
  "usage": {"prompt_tokens": 8, "total_tokens": 8}
}`

	messagesBodyBasic = `{
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-20250514",
  "content": [{"type": "text", "text": "Hello! How can I help?"}],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {
    "input_tokens": 2095,
    "cache_creation_input_tokens": 2051,
    "cache_read_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 2051, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 503,
    "service_tier": "standard"
  }
}`

	messagesBodyToolUse = `{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-opus-4-1-20250805",
"content":[{"type":"thinking","thinking":"I should call the tool.","signature":"EqQBCgIYAh..."},
{"type":"text","text":"I'll check the weather."},
{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA"}}],
"stop_reason":"tool_use","stop_sequence":null,
"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":91}}`

	anthropicError = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
)

func TestFromBody(t *testing.T) {
	tests := []struct {
		name string
		ep   Endpoint
		body string
		want Usage
		stop string
		ok   bool
	}{
		{"chat basic", ChatCompletions, chatBodyBasic, Usage{InputTokens: 1117, OutputTokens: 46}, "stop", true},
		{"chat cached and reasoning", ChatCompletions, chatBodyCachedReasoning,
			Usage{InputTokens: 86, CacheReadTokens: 1920, OutputTokens: 1300, ReasoningTokens: 1024}, "length", true},
		{"chat tool call", ChatCompletions, chatBodyToolCall, Usage{InputTokens: 82, OutputTokens: 17}, "tool_calls", true},
		{"chat deepseek cache hit/miss", ChatCompletions, chatBodyDeepSeek,
			Usage{InputTokens: 36, CacheReadTokens: 64, OutputTokens: 60, ReasoningTokens: 45}, "stop", true},
		{"chat deepseek details take precedence", ChatCompletions,
			`{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":64},"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}}`,
			Usage{InputTokens: 36, CacheReadTokens: 64, OutputTokens: 1}, "", true},
		{"chat openrouter cache write", ChatCompletions,
			`{"choices":[{"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":200,"cache_write_tokens":700}}}`,
			Usage{InputTokens: 100, CacheReadTokens: 200, CacheWriteTokens: 700, OutputTokens: 5}, "stop", true},
		{"chat inconsistent cache clamps to zero", ChatCompletions,
			`{"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":20}}}`,
			Usage{CacheReadTokens: 20, OutputTokens: 1}, "", true},
		{"chat no usage", ChatCompletions, chatBodyNoUsage, Usage{}, "stop", false},
		{"chat usage null", ChatCompletions, `{"choices":[],"usage":null}`, Usage{}, "", false},
		{"chat error", ChatCompletions, openAIError, Usage{}, "", false},
		{"chat invalid json", ChatCompletions, `{"usage":{"prompt_tokens":1}`, Usage{}, "", false},
		{"chat trailing garbage", ChatCompletions, `{"usage":{"prompt_tokens":1}} x`, Usage{}, "", false},
		{"not an object", ChatCompletions, `[1,2]`, Usage{}, "", false},
		{"empty", ChatCompletions, ``, Usage{}, "", false},

		{"responses basic", Responses, responsesBodyBasic, Usage{InputTokens: 36, OutputTokens: 87}, "completed", true},
		{"responses incomplete", Responses, responsesBodyIncomplete,
			Usage{InputTokens: 904, CacheReadTokens: 4096, OutputTokens: 256, ReasoningTokens: 256}, "max_output_tokens", true},
		{"responses cache write", Responses, responsesBodyCacheWrite,
			Usage{InputTokens: 500, CacheReadTokens: 1000, CacheWriteTokens: 1500, OutputTokens: 10}, "completed", true},
		{"responses failed without usage", Responses,
			`{"id":"resp_3","object":"response","status":"failed","error":{"code":"server_error","message":"x"},"usage":null}`,
			Usage{}, "failed", false},
		{"responses error", Responses, openAIError, Usage{}, "", false},

		{"embeddings", Embeddings, embeddingsBodyBasic, Usage{InputTokens: 8}, "", true},
		{"embeddings error", Embeddings, openAIError, Usage{}, "", false},

		{"messages basic with cache write", Messages, messagesBodyBasic,
			Usage{InputTokens: 2095, CacheWriteTokens: 2051, OutputTokens: 503}, "end_turn", true},
		{"messages tool use and cache read", Messages, messagesBodyToolUse,
			Usage{InputTokens: 472, CacheReadTokens: 1800, OutputTokens: 91}, "tool_use", true},
		{"messages error", Messages, anthropicError, Usage{}, "", false},
		{"messages escaped stop reason", Messages, `{"stop_reason":"end\u005fturn","usage":{"input_tokens":1,"output_tokens":2}}`,
			Usage{InputTokens: 1, OutputTokens: 2}, "end_turn", true},

		{"count tokens is free", CountTokens, `{"input_tokens": 2095}`, Usage{}, "", true},
		{"unknown endpoint", Endpoint(99), chatBodyBasic, Usage{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, stop, ok := FromBody(tt.ep, []byte(tt.body))
			if u != tt.want || stop != tt.stop || ok != tt.ok {
				t.Fatalf("FromBody = %+v, %q, %v\n          want %+v, %q, %v", u, stop, ok, tt.want, tt.stop, tt.ok)
			}
		})
	}
}

func TestTotalAndEstimate(t *testing.T) {
	u := Usage{InputTokens: 1, CacheReadTokens: 2, CacheWriteTokens: 3, OutputTokens: 4, ReasoningTokens: 4}
	if u.TotalTokens() != 10 {
		t.Fatalf("TotalTokens = %d", u.TotalTokens())
	}
	for n, want := range map[int]int64{-1: 0, 0: 0, 1: 1, 4: 1, 5: 2, 400: 100, 401: 101} {
		if got := EstimateTokens(n); got != want {
			t.Errorf("EstimateTokens(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestEndpointString(t *testing.T) {
	for ep, want := range map[Endpoint]string{ChatCompletions: "chat_completions", Responses: "responses",
		Embeddings: "embeddings", Messages: "messages", CountTokens: "count_tokens", 42: "unknown"} {
		if ep.String() != want {
			t.Errorf("%d.String() = %q", ep, ep.String())
		}
	}
}

func TestOutputTextCountsGeneratedTextOnly(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"chat", `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}]}`, 11},
		{"chat tool call", `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}`, 7},
		{"messages", `{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"Hi!"},{"type":"tool_use","id":"t","name":"f","input":{"a":1}}],"stop_reason":"end_turn"}`, 3 + 7},
		{"responses", `{"id":"resp_1","object":"response","output":[{"type":"message","content":[{"type":"output_text","text":"abc"}]}]}`, 3},
		{"escaped", `{"choices":[{"message":{"content":"a\u00e9\n"}}]}`, 4},
		{"not json", `oops`, 0},
	} {
		if got := OutputText([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: OutputText = %d, want %d", tc.name, got, tc.want)
		}
	}
}
