package translate

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

// Anthropic streams, as the Messages streaming docs show them.

const anthropicText = `
event: message_start
data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-opus-4-6","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":2000,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"! \"Quoted\" <b>&\n"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}
`

const anthropicTools = `
event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4-6","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather for San Francisco, CA:"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" Francisc"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"o,"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" CA\""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":", "}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"unit\": \"fah"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"renheit\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"tz\": \"America/Los_Angeles\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}
`

const anthropicThinking = `
event: message_start
data: {"type": "message_start", "message": {"id": "msg_01AbCdEf", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: content_block_start
data: {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "The greatest common divisor of 1071 and 462 is **21**."}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 1}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}}

event: message_stop
data: {"type": "message_stop"}
`

const anthropicWebSearch = `
event: message_start
data: {"type":"message_start","message":{"id":"msg_01G","type":"message","role":"assistant","model":"claude-opus-4-6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2679,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","name":"web_search","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"weather NYC today\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","content":[{"type":"web_search_result","title":"Weather in New York City","url":"https://weather.com/","encrypted_content":"Ev0DCioIAxgCIiQ3NmU4ZmI4OC1k","page_age":null}]}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"It is sunny in New York."}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","cited_text":"Sunny","url":"https://weather.com/","title":"Weather","encrypted_index":"Eo8BCioIAhgB"}}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":10682,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":510,"server_tool_use":{"web_search_requests":1}}}

event: message_stop
data: {"type":"message_stop"}
`

// OpenAI streams, as the Chat Completions docs and compatible servers send
// them.

const chatText = `
data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"! \"Quoted\" <b>&\n"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]
`

const chatTools = `
data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me check.","refusal":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"lo"}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"cation\": \"Paris, France\"}"}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"location\": \"Bogotá, Colombia\"}"}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}

data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":82,"completion_tokens":48,"total_tokens":130}}

data: [DONE]
`

// DeepSeek: reasoning_content deltas, usage on the finishing chunk.
const chatReasoning = `
data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Compare 9.11 and 9.8."},"logprobs":null,"finish_reason":null}]}

data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,"delta":{"content":"9.8 is greater.","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":20,"completion_tokens":64,"total_tokens":84,"prompt_tokens_details":{"cached_tokens":16},"prompt_cache_hit_tokens":16,"prompt_cache_miss_tokens":4}}

data: [DONE]
`

// Ollama-style: the whole call in one chunk, "stop" as the finish reason,
// no usage; and the stream is cut before [DONE].
const chatOneChunkTool = `
data: {"id":"chatcmpl-760","object":"chat.completion.chunk","created":1741000000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_u7v1","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Toronto\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-760","object":"chat.completion.chunk","created":1741000000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}
`

func TestMessagesToChatStream(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		includeUsage bool
		want         streamcheck.Answer
		wantEvents   int // client events before [DONE], 0: unchecked
	}{
		{
			name: "text with cache tokens", in: anthropicText, includeUsage: true,
			want:       streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Stop: "stop", Input: 25, CacheRead: 2000, CacheWrite: 10, Output: 15},
			wantEvents: 5, // role, 2 × content, finish, usage
		},
		{
			name: "text without usage chunk", in: anthropicText,
			want:       streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Stop: "stop"},
			wantEvents: 4,
		},
		{
			name: "text and two tool calls", in: anthropicTools, includeUsage: true,
			want: streamcheck.Answer{Text: "Okay, let's check the weather for San Francisco, CA:", Stop: "tool_calls", Input: 472, Output: 89,
				Calls: []streamcheck.Call{
					{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Args: `{"location": "San Francisco, CA", "unit": "fahrenheit"}`},
					{ID: "toolu_02", Name: "get_time", Args: `{"tz": "America/Los_Angeles"}`},
				}},
		},
		{
			name: "thinking as reasoning_content; no usage reported", in: anthropicThinking, includeUsage: true,
			want: streamcheck.Answer{Thinking: "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0",
				Text: "The greatest common divisor of 1071 and 462 is **21**.", Stop: "stop"},
		},
		{
			name: "server tools left out; final usage from message_delta", in: anthropicWebSearch, includeUsage: true,
			want: streamcheck.Answer{Text: "It is sunny in New York.", Stop: "stop", Input: 10682, Output: 510},
		},
		{
			name: "error event", includeUsage: true,
			in: anthropicText[:strings.Index(anthropicText, "event: content_block_stop")] + `
event: error
data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
`,
			want: streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Error: "server_error"},
		},
		{
			name: "cut short: Close finishes it", includeUsage: true,
			in: anthropicTools[:strings.Index(anthropicTools, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2")],
			want: streamcheck.Answer{Text: "Okay, let's check the weather for San Francisco, CA:", Stop: "tool_calls", Input: 472, Output: 2,
				Calls: []streamcheck.Call{{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Args: `{"location": "San Francisco, CA", "unit": "fahrenheit"}`}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMessagesToChatStream("claude-via-gateway", tt.includeUsage)
			out := run(t, s, streamcheck.ParseSSE(tt.in))
			got, err := streamcheck.ReadChatStream(out, tt.includeUsage)
			if err != nil {
				t.Fatalf("%v\n%s", err, streamcheck.Dump(out))
			}
			got.Events, tt.want.Events = 0, 0
			if tt.want.Error == "" && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v\n%s", got, tt.want, streamcheck.Dump(out))
			}
			if tt.want.Error != "" && (got.Error != tt.want.Error || got.Text != tt.want.Text) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if tt.wantEvents > 0 && len(out)-1 != tt.wantEvents {
				t.Errorf("%d events, want %d\n%s", len(out)-1, tt.wantEvents, streamcheck.Dump(out))
			}
			if s.Text() != tt.want.Text {
				t.Errorf("Text() = %q, want %q", s.Text(), tt.want.Text)
			}
			if !strings.Contains(out[0].Data, `"model":"claude-via-gateway"`) {
				t.Errorf("model not set: %s", out[0].Data)
			}
		})
	}
}

func TestChatToMessagesStream(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want streamcheck.Answer
	}{
		{
			name: "text with cached tokens",
			in:   chatText,
			want: streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Stop: "end_turn", Input: 86, CacheRead: 1920, Output: 300},
		},
		{
			name: "text then parallel tool calls",
			in:   chatTools,
			want: streamcheck.Answer{Text: "Let me check.", Stop: "tool_use", Input: 82, Output: 48, Calls: []streamcheck.Call{
				{ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather", Args: `{"location": "Paris, France"}`},
				{ID: "call_2", Name: "get_weather", Args: `{"location": "Bogotá, Colombia"}`},
			}},
		},
		{
			name: "reasoning_content as thinking; usage on the last choice chunk",
			in:   chatReasoning,
			want: streamcheck.Answer{Thinking: "Compare 9.11 and 9.8.", Text: "9.8 is greater.", Stop: "max_tokens", Input: 4, CacheRead: 16, Output: 64},
		},
		{
			name: "one-chunk tool call, stop after tools, cut before [DONE]",
			in:   chatOneChunkTool,
			want: streamcheck.Answer{Stop: "tool_use", Calls: []streamcheck.Call{{ID: "call_u7v1", Name: "get_weather", Args: `{"city":"Toronto"}`}}},
		},
		{
			name: "refusal",
			in: `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","refusal":""},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":"I can't help with that."},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: [DONE]`,
			want: streamcheck.Answer{Text: "I can't help with that.", Stop: "refusal"},
		},
		{
			name: "error chunk",
			in: chatText[:strings.Index(chatText, `data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},`)] +
				`data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`,
			want: streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Error: "api_error"},
		},
		{
			name: "nothing at all: Close writes an empty message",
			in:   ``,
			want: streamcheck.Answer{Stop: "end_turn"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewChatToMessagesStream("gpt-via-gateway")
			var in []event
			if tt.in != "" {
				in = streamcheck.ParseSSE(tt.in)
			}
			out := run(t, s, in)
			got, err := streamcheck.ReadMessagesStream(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, streamcheck.Dump(out))
			}
			got.Events = 0
			if tt.want.Error == "" && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v\n%s", got, tt.want, streamcheck.Dump(out))
			}
			if tt.want.Error != "" && (got.Error != tt.want.Error || got.Text != tt.want.Text) {
				t.Fatalf("got %+v, want %+v\n%s", got, tt.want, streamcheck.Dump(out))
			}
			if s.Text() != tt.want.Text {
				t.Errorf("Text() = %q, want %q", s.Text(), tt.want.Text)
			}
			if !strings.Contains(out[0].Data, `"model":"gpt-via-gateway"`) {
				t.Errorf("model not set: %s", out[0].Data)
			}
		})
	}
}

// The exact events for the docs' tool example, so a change in shape is
// seen.
func TestChatToMessagesStreamEvents(t *testing.T) {
	s := NewChatToMessagesStream("")
	out := run(t, s, streamcheck.ParseSSE(chatTools))
	want := []event{
		{Name: "message_start", Data: `{"type":"message_start","message":{"id":"chatcmpl-A","type":"message","role":"assistant","model":"gpt-4o","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}`},
		{Name: "content_block_start", Data: `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check."}}`},
		{Name: "content_block_stop", Data: `{"type":"content_block_stop","index":0}`},
		{Name: "content_block_start", Data: `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","name":"get_weather","input":{}}}`},
		{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"lo"}}`},
		{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"cation\": \"Paris, France\"}"}}`},
		{Name: "content_block_stop", Data: `{"type":"content_block_stop","index":1}`},
		{Name: "content_block_start", Data: `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_2","name":"get_weather","input":{}}}`},
		{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"Bogotá, Colombia\"}"}}`},
		{Name: "content_block_stop", Data: `{"type":"content_block_stop","index":2}`},
		{Name: "message_delta", Data: `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":82,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":48}}`},
		{Name: "message_stop", Data: `{"type":"message_stop"}`},
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got\n%s\nwant\n%s", streamcheck.Dump(out), streamcheck.Dump(want))
	}
}

func TestMessagesToChatStreamEvents(t *testing.T) {
	s := NewMessagesToChatStream("", true)
	out := run(t, s, streamcheck.ParseSSE(anthropicTools))
	p := `{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","object":"chat.completion.chunk","created":1730000000,"model":"claude-opus-4-6","choices":[{"index":0,"delta":`
	want := []event{
		{Data: p + `{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"content":"Okay"},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"content":", let's check the weather for San Francisco, CA:"},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":" \"San"}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":" Francisc"}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":"o,"}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":" CA\""}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":", "}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":"\"unit\": \"fah"}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":0,"function":{"arguments":"renheit\"}"}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":1,"id":"toolu_02","type":"function","function":{"name":"get_time","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\": \"America/Los_Angeles\"}"}}]},"logprobs":null,"finish_reason":null}]}`},
		{Data: p + `{},"logprobs":null,"finish_reason":"tool_calls"}]}`},
		{Data: `{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","object":"chat.completion.chunk","created":1730000000,"model":"claude-opus-4-6","choices":[],"usage":{"prompt_tokens":472,"completion_tokens":89,"total_tokens":561,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{Data: `[DONE]`},
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got\n%s\nwant\n%s", streamcheck.Dump(out), streamcheck.Dump(want))
	}
}

// Passing through: the provider's events reach the client unchanged.
func TestStreamPassthrough(t *testing.T) {
	for _, tt := range []struct {
		f  Format
		in string
	}{{Anthropic, anthropicWebSearch}, {OpenAI, chatTools}} {
		s := NewStream(tt.f, tt.f, "ignored", false)
		in := streamcheck.ParseSSE(tt.in)
		out := run(t, s, in)
		if !reflect.DeepEqual(out, in) {
			t.Errorf("passthrough changed the stream\ngot\n%s\nwant\n%s", streamcheck.Dump(out), streamcheck.Dump(in))
		}
	}
}

// A stream that stalls mid-text continues on another provider, in either
// format, and the client sees one well-formed message.
func TestStreamResume(t *testing.T) {
	anthropicHead := anthropicText[:strings.Index(anthropicText, "event: content_block_stop")]
	chatHead := chatText[:strings.Index(chatText, `data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},`)]
	const first = "Hello! \"Quoted\" <b>&\n"
	tests := []struct {
		name       string
		client     Format
		up1, up2   Format
		head, next string
		want       streamcheck.Answer
	}{
		{
			name: "Anthropic client: Anthropic stalls, OpenAI continues", client: Anthropic, up1: Anthropic, up2: OpenAI,
			head: anthropicHead, next: chatText,
			want: streamcheck.Answer{Text: first + first, Stop: "end_turn", Input: 86, CacheRead: 1920, Output: 301},
		},
		{
			name: "Anthropic client: OpenAI stalls, Anthropic continues", client: Anthropic, up1: OpenAI, up2: Anthropic,
			head: chatHead, next: anthropicThinking,
			want: streamcheck.Answer{Text: first + "The greatest common divisor of 1071 and 462 is **21**.", Stop: "end_turn",
				Thinking: "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0"},
		},
		{
			name: "Anthropic client: Anthropic stalls, Anthropic continues", client: Anthropic, up1: Anthropic, up2: Anthropic,
			head: anthropicHead, next: anthropicTools,
			want: streamcheck.Answer{Text: first + "Okay, let's check the weather for San Francisco, CA:", Stop: "tool_use", Input: 472, Output: 90,
				Calls: []streamcheck.Call{
					{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Args: `{"location": "San Francisco, CA", "unit": "fahrenheit"}`},
					{ID: "toolu_02", Name: "get_time", Args: `{"tz": "America/Los_Angeles"}`},
				}},
		},
		{
			name: "OpenAI client: OpenAI stalls, Anthropic continues", client: OpenAI, up1: OpenAI, up2: Anthropic,
			head: chatHead, next: anthropicTools,
			want: streamcheck.Answer{Text: first + "Okay, let's check the weather for San Francisco, CA:", Stop: "tool_calls", Input: 472, Output: 89,
				Calls: []streamcheck.Call{
					{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Args: `{"location": "San Francisco, CA", "unit": "fahrenheit"}`},
					{ID: "toolu_02", Name: "get_time", Args: `{"tz": "America/Los_Angeles"}`},
				}},
		},
		{
			name: "OpenAI client: Anthropic stalls, OpenAI continues", client: OpenAI, up1: Anthropic, up2: OpenAI,
			head: anthropicHead, next: chatTools,
			want: streamcheck.Answer{Text: first + "Let me check.", Stop: "tool_calls", Input: 82, Output: 49, Calls: []streamcheck.Call{
				{ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather", Args: `{"location": "Paris, France"}`},
				{ID: "call_2", Name: "get_weather", Args: `{"location": "Bogotá, Colombia"}`},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStream(tt.up1, tt.client, "", true)
			var out []event
			for _, e := range streamcheck.ParseSSE(tt.head) {
				if err := s.Event(e.Name, []byte(e.Data), collect(&out)); err != nil {
					t.Fatal(err)
				}
			}
			if s.Text() != first {
				t.Fatalf("Text() after the stall = %q", s.Text())
			}
			s.Resume(tt.up2)
			out = append(out, run(t, s, streamcheck.ParseSSE(tt.next))...)
			got, err := readClient(tt.client, out)
			if err != nil {
				t.Fatalf("%v\n%s", err, streamcheck.Dump(out))
			}
			got.Events = 0
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v\n%s", got, tt.want, streamcheck.Dump(out))
			}
			if s.Text() != tt.want.Text {
				t.Errorf("Text() = %q, want %q", s.Text(), tt.want.Text)
			}
		})
	}
}

func TestStreamEmitError(t *testing.T) {
	boom := errors.New("client gone")
	s := NewMessagesToChatStream("", false)
	calls := 0
	emit := func(string, []byte) error { calls++; return boom }
	evs := streamcheck.ParseSSE(anthropicText)
	if err := s.Event(evs[0].Name, []byte(evs[0].Data), emit); !errors.Is(err, boom) {
		t.Fatalf("Event error = %v", err)
	}
	if err := s.Close(emit); !errors.Is(err, boom) {
		t.Fatalf("Close error = %v", err)
	}
	if err := s.Event("content_block_delta", []byte(`{"type":`), func(string, []byte) error { return nil }); err == nil {
		t.Fatal("malformed event: no error")
	}
}

func TestIsErrorEvent(t *testing.T) {
	for _, tt := range []struct {
		f          Format
		name, data string
		want       bool
	}{
		{Anthropic, "error", `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`, true},
		{Anthropic, "", `{"type":"error","error":{"type":"api_error","message":"x"}}`, true},
		{Anthropic, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"error\""}}`, false},
		{OpenAI, "", `{"error":{"message":"x","type":"server_error"}}`, true},
		{OpenAI, "", `{"id":"c","choices":[{"delta":{"content":"\"error\""}}],"error":null}`, false},
		{OpenAI, "", `[DONE]`, false},
	} {
		if got := IsErrorEvent(tt.f, tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("IsErrorEvent(%s) = %v", tt.data, got)
		}
	}
}

// A passing-through stream cut after its finish gets only what is missing.
func TestStreamPassthroughCut(t *testing.T) {
	for _, tt := range []struct {
		f          Format
		in, cut    string
		wantClosed []event
	}{
		{Anthropic, anthropicText, "event: message_stop", []event{{Name: "message_stop", Data: `{"type":"message_stop"}`}}},
		{OpenAI, chatText, "data: [DONE]", []event{{Data: "[DONE]"}}},
	} {
		s := NewStream(tt.f, tt.f, "", true)
		in := streamcheck.ParseSSE(tt.in[:strings.Index(tt.in, tt.cut)])
		out := run(t, s, in)
		if !reflect.DeepEqual(out[len(in):], tt.wantClosed) {
			t.Errorf("Close added\n%s\nwant\n%s", streamcheck.Dump(out[len(in):]), streamcheck.Dump(tt.wantClosed))
		}
	}
}
