package usage

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
)

// Streams follow the event shapes in the OpenAI and Anthropic streaming
// references; they go through sse.Reader exactly as in the proxy.

const chatStreamWithUsage = `data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" caf\u00e9\n"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":12,"total_tokens":2018,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]

`

const chatStreamToolCall = `: OPENROUTER PROCESSING

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":\""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"Paris"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}

data: [DONE]

`

// DeepSeek (like Gemini and vLLM) puts usage on the last content chunk.
const chatStreamDeepSeek = `data: {"id":"d1","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"d1","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Okay, the user"},"logprobs":null,"finish_reason":null}]}

data: {"id":"d1","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hi!","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"d1","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":40,"total_tokens":53,"completion_tokens_details":{"reasoning_tokens":37},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13}}

data: [DONE]

`

const chatStreamNoUsage = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"0123456789"},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}

data: [DONE]

`

const chatStreamCut = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}

data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"partial answ"},"finish_reason":null}],"usage":null}

data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"er th`

const responsesStream = `event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}

event: response.in_progress
data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","status":"in_progress","output":[],"usage":null}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}

event: response.reasoning_summary_text.delta
data: {"type":"response.reasoning_summary_text.delta","sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"**Thinking**"}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":4,"output_index":1,"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message","status":"in_progress","role":"assistant","content":[]}}

event: response.content_part.added
data: {"type":"response.content_part.added","sequence_number":5,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":1,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":1,"content_index":0,"delta":"Hi","logprobs":[]}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":1,"content_index":0,"delta":" there!","logprobs":[]}

event: response.output_text.done
data: {"type":"response.output_text.done","sequence_number":8,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":1,"content_index":0,"text":"Hi there!","logprobs":[]}

event: response.content_part.done
data: {"type":"response.content_part.done","sequence_number":9,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":1,"content_index":0,"part":{"type":"output_text","text":"Hi there!","annotations":[]}}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":10,"output_index":1,"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there!","annotations":[]}]}}

event: response.completed
data: {"type":"response.completed","sequence_number":11,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-4.1-2025-04-14","output":[{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there!","annotations":[]}]}],"usage":{"input_tokens":1037,"input_tokens_details":{"cached_tokens":1024},"output_tokens":150,"output_tokens_details":{"reasoning_tokens":128},"total_tokens":1187},"user":null,"metadata":{}}}

`

const responsesStreamFunctionCall = `event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"type":"function_call","id":"fc_1234xyz","call_id":"call_1234xyz","name":"get_weather","arguments":"","status":"in_progress"}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"fc_1234xyz","output_index":0,"delta":"{\"location\":"}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":4,"item_id":"fc_1234xyz","output_index":0,"delta":"\"Paris\"}"}

event: response.function_call_arguments.done
data: {"type":"response.function_call_arguments.done","sequence_number":5,"item_id":"fc_1234xyz","output_index":0,"arguments":"{\"location\":\"Paris\"}"}

event: response.incomplete
data: {"type":"response.incomplete","sequence_number":6,"response":{"id":"resp_1","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":0},"output_tokens":16,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":66}}}

`

// Without event: lines the type field decides (some gateways drop names).
const responsesStreamUnnamed = `data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"abc"}

data: {"type":"response.failed","sequence_number":2,"response":{"id":"resp_f","object":"response","status":"failed","error":{"code":"server_error","message":"The model failed"},"output":[],"usage":null}}

`

const responsesStreamCut = `event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_c","object":"response","status":"in_progress","output":[],"usage":null}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"abcdefgh"}

`

const messagesStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":1500,"cache_read_input_tokens":3000,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}

`

const messagesStreamToolUse = `event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":null,"output_tokens":89,"server_tool_use":null}}

event: message_stop
data: {"type":"message_stop"}

`

// A message_delta of the newer API revises the input side too.
const messagesStreamDeltaInput = `event: message_start
data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"claude-opus-4-1","stop_reason":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":200,"output_tokens":1024}}

`

const messagesStreamCut = `event: message_start
data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4","stop_reason":null,"usage":{"input_tokens":30,"cache_read_input_tokens":70,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Once upon a"}}

event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

`

// Unnamed events fall back to the payload type.
const messagesStreamUnnamed = `data: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}

data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"abc"}}

data: {"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"\n\nHuman:"},"usage":{"output_tokens":3}}

`

type streamWant struct {
	usage      Usage
	ok         bool
	stop       string
	text       int
	events     int
	usageOnly  int // how many events Observe flagged as usage-only
	firstAfter int // FirstContent turns true after this many data events (-1: never)
}

func TestMeterStreams(t *testing.T) {
	tests := []struct {
		name   string
		ep     Endpoint
		stream string
		want   streamWant
	}{
		{"chat with include_usage", ChatCompletions, chatStreamWithUsage, streamWant{
			usage: Usage{InputTokens: 86, CacheReadTokens: 1920, OutputTokens: 12}, ok: true, stop: "stop",
			text: len("Hello") + len(" café\n"), events: 6, usageOnly: 1, firstAfter: 2}},
		{"chat tool call, comment, no usage", ChatCompletions, chatStreamToolCall, streamWant{
			stop: "tool_calls", text: len(`{"location":"Paris"}`), events: 8, firstAfter: 1}},
		{"chat deepseek usage on last content chunk", ChatCompletions, chatStreamDeepSeek, streamWant{
			usage: Usage{InputTokens: 13, OutputTokens: 40, ReasoningTokens: 37}, ok: true, stop: "stop",
			text: len("Okay, the user") + len("Hi!"), events: 5, firstAfter: 2}},
		{"chat without usage", ChatCompletions, chatStreamNoUsage, streamWant{
			stop: "length", text: 10, events: 4, firstAfter: 2}},
		{"chat cut mid-chunk", ChatCompletions, chatStreamCut, streamWant{
			text: len("partial answ"), events: 3, firstAfter: 2}},

		{"responses text with reasoning and cache", Responses, responsesStream, streamWant{
			usage: Usage{InputTokens: 13, CacheReadTokens: 1024, OutputTokens: 150, ReasoningTokens: 128}, ok: true,
			stop: "completed", text: len("**Thinking**") + len("Hi there!"), events: 12, firstAfter: 4}},
		{"responses function call incomplete", Responses, responsesStreamFunctionCall, streamWant{
			usage: Usage{InputTokens: 50, OutputTokens: 16}, ok: true, stop: "max_output_tokens",
			text: len(`{"location":"Paris"}`), events: 5, firstAfter: 1}},
		{"responses unnamed events, failed", Responses, responsesStreamUnnamed, streamWant{
			stop: "failed", text: 3, events: 2, firstAfter: 1}},
		{"responses cut before completion", Responses, responsesStreamCut, streamWant{
			text: 8, events: 2, firstAfter: 2}},

		{"messages thinking, text, cache", Messages, messagesStream, streamWant{
			usage: Usage{InputTokens: 25, CacheWriteTokens: 1500, CacheReadTokens: 3000, OutputTokens: 15}, ok: true,
			stop: "end_turn", text: len("Let me think.") + len("Hello!"), events: 12, firstAfter: 3}},
		{"messages tool use, null cache field", Messages, messagesStreamToolUse, streamWant{
			usage: Usage{InputTokens: 472, OutputTokens: 89}, ok: true, stop: "tool_use",
			text: len(`{"location": "San Francisco, CA"}`), events: 8, firstAfter: 2}},
		{"messages delta revises input side", Messages, messagesStreamDeltaInput, streamWant{
			usage: Usage{InputTokens: 12, CacheWriteTokens: 100, CacheReadTokens: 200, OutputTokens: 1024}, ok: true,
			stop: "max_tokens", events: 2, firstAfter: -1}},
		{"messages cut: partial usage, not ok", Messages, messagesStreamCut, streamWant{
			usage: Usage{InputTokens: 30, CacheReadTokens: 70, OutputTokens: 1}, ok: false,
			text: len("Once upon a"), events: 4, firstAfter: 3}},
		{"messages unnamed events", Messages, messagesStreamUnnamed, streamWant{
			usage: Usage{InputTokens: 5, OutputTokens: 3}, ok: true, stop: "stop_sequence", text: 3, events: 3, firstAfter: 2}},

		{"embeddings body through the meter", Embeddings, "data: " + strings.ReplaceAll(embeddingsBodyBasic, "\n", "") + "\n\n", streamWant{
			usage: Usage{InputTokens: 8}, ok: true, events: 1, firstAfter: -1}},
		{"count tokens is free", CountTokens, "data: {\"input_tokens\":14}\n\n", streamWant{
			ok: true, events: 1, firstAfter: -1}},
	}
	for _, tt := range tests {
		for _, crlf := range []bool{false, true} {
			name := tt.name
			stream := tt.stream
			if crlf {
				name += "/crlf"
				stream = strings.ReplaceAll(stream, "\n", "\r\n")
			}
			t.Run(name, func(t *testing.T) {
				m := NewMeter(tt.ep)
				got := streamWant{firstAfter: -1}
				r := sse.NewReader(strings.NewReader(stream))
				for {
					e, err := r.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if m.Observe(e.Name, e.Data) {
						got.usageOnly++
					}
					if got.firstAfter < 0 && m.FirstContent() {
						got.firstAfter = m.Events()
					}
				}
				got.usage, got.ok = m.Usage()
				got.stop, got.text, got.events = m.StopReason(), m.OutputText(), m.Events()
				if got != tt.want {
					t.Fatalf("got  %+v\nwant %+v", got, tt.want)
				}
			})
		}
	}
}

// TestMeterUsageOnly pins which chat chunks count as usage-only.
func TestMeterUsageOnly(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"include_usage final chunk", `{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, true},
		{"choices absent", `{"id":"c","usage":{"prompt_tokens":1,"completion_tokens":2}}`, true},
		{"usage on a content chunk", `{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`, false},
		{"usage null", `{"choices":[],"usage":null}`, false},
		{"no usage", `{"choices":[]}`, false},
		{"done", `[DONE]`, false},
		{"malformed", `{"choices":[],"usage":{"prompt_tokens":1}`, false},
		{"error chunk", `{"error":{"message":"boom","type":"server_error"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewMeter(ChatCompletions).Observe("", []byte(tt.data)); got != tt.want {
				t.Fatalf("Observe = %v, want %v", got, tt.want)
			}
		})
	}
	// The flag is chat-specific.
	if NewMeter(Responses).Observe("", []byte(`{"choices":[],"usage":{"prompt_tokens":1}}`)) {
		t.Fatal("usage-only reported for a Responses event")
	}
}

func TestMeterIgnoresJunk(t *testing.T) {
	for _, ep := range []Endpoint{ChatCompletions, Responses, Embeddings, Messages, CountTokens} {
		m := NewMeter(ep)
		for _, d := range []string{"", "[DONE]", "not json", "{", `{"a":}`, " {} ", "null", `{"type":"message_delta","usage":5}`} {
			m.Observe("", []byte(d))
			m.Observe("message_delta", []byte(d))
			m.Observe("response.completed", []byte(d))
		}
		if u, ok := m.Usage(); (ok || u != Usage{}) && ep != CountTokens {
			t.Errorf("%v: junk produced usage %+v, %v", ep, u, ok)
		}
		if m.StopReason() != "" || m.OutputText() != 0 || m.FirstContent() {
			t.Errorf("%v: junk produced state", ep)
		}
	}
}

func TestMeterReset(t *testing.T) {
	m := NewMeter(Messages)
	m.Observe("message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`))
	m.Reset(ChatCompletions)
	if u, ok := m.Usage(); ok || (u != Usage{}) || m.StopReason() != "" || m.Events() != 0 {
		t.Fatalf("Reset left state: %+v %v %q %d", u, ok, m.StopReason(), m.Events())
	}
	if !m.Observe("", []byte(`{"choices":[],"usage":{"prompt_tokens":1}}`)) {
		t.Fatal("Reset did not switch the endpoint")
	}
}

// TestMeterLatestUsageWins covers vLLM's continuous usage stats: usage on
// every chunk, cumulative.
func TestMeterLatestUsageWins(t *testing.T) {
	m := NewMeter(ChatCompletions)
	for i, d := range []string{
		`{"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`,
		`{"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`,
	} {
		if m.Observe("", []byte(d)) {
			t.Fatalf("chunk %d flagged usage-only", i)
		}
	}
	if u, ok := m.Usage(); !ok || u != (Usage{InputTokens: 5, OutputTokens: 2}) {
		t.Fatalf("usage %+v, %v", u, ok)
	}
}

func TestMeterUsageOrEstimate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ep        Endpoint
		events    [][2]string // name, data
		want      Usage
		estimated bool
	}{
		{"reported", ChatCompletions, [][2]string{{"", `{"choices":[{"index":0,"delta":{"content":"hello"}}],"usage":{"prompt_tokens":5,"completion_tokens":2}}`}},
			Usage{InputTokens: 5, OutputTokens: 2}, false},
		{"nothing reported: input from the body, output from the text", ChatCompletions,
			[][2]string{{"", `{"choices":[{"index":0,"delta":{"content":"0123456789"}}]}`}}, Usage{InputTokens: 100, OutputTokens: 3}, true},
		{"cut after message_start: the input seen is kept", Messages,
			[][2]string{{"message_start", `{"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}}`}},
			Usage{InputTokens: 7, OutputTokens: 1}, true},
		{"count_tokens is free", CountTokens, nil, Usage{}, false},
	} {
		m := NewMeter(tc.ep)
		for _, ev := range tc.events {
			m.Observe(ev[0], []byte(ev[1]))
		}
		if u, est := m.UsageOrEstimate(400); u != tc.want || est != tc.estimated {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, u, est, tc.want, tc.estimated)
		}
	}
}

// TestMeterNoAllocs guards the hot path: typical events must not allocate.
func TestMeterNoAllocs(t *testing.T) {
	cases := []struct {
		ep         Endpoint
		name, data string
	}{
		{ChatCompletions, "", benchOpenAIChunk},
		{ChatCompletions, "", `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`},
		{ChatCompletions, "", `{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{Messages, "content_block_delta", benchAnthropicDelta},
		{Messages, "message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`},
		{Messages, "", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`},
		{Responses, "response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}`},
		{Responses, "", `{"type":"response.output_text.delta","delta":"Hi"}`},
	}
	for _, c := range cases {
		m := NewMeter(c.ep)
		data := []byte(c.data)
		if a := testing.AllocsPerRun(100, func() { m.Observe(c.name, data) }); a != 0 {
			t.Errorf("%v %q: %.1f allocs per Observe", c.ep, c.data, a)
		}
	}
}
