package translate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

// Responses streams, as the API sends them (from the streaming docs and a
// recorded reasoning-model answer; response objects shortened).

const responsesText = `
event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}

event: response.in_progress
data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,"status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message","status":"in_progress","role":"assistant","content":[]}}

event: response.content_part.added
data: {"type":"response.content_part.added","sequence_number":3,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"delta":" there! \"<b>&\"","logprobs":[]}

event: response.output_text.done
data: {"type":"response.output_text.done","sequence_number":6,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"text":"Hi there! \"<b>&\"","logprobs":[]}

event: response.content_part.done
data: {"type":"response.content_part.done","sequence_number":7,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Hi there! \"<b>&\"","annotations":[]}}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there! \"<b>&\"","annotations":[]}]}}

event: response.completed
data: {"type":"response.completed","sequence_number":9,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-4.1-2025-04-14","output":[{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there! \"<b>&\"","annotations":[]}]}],"usage":{"input_tokens":1037,"input_tokens_details":{"cached_tokens":1024},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1048},"user":null,"metadata":{}}}
`

const responsesReasoningTools = `
event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_68a1","object":"response","created_at":1755000000,"status":"in_progress","model":"o4-mini-2025-04-16","output":[],"usage":null}}

event: response.in_progress
data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_68a1","object":"response","created_at":1755000000,"status":"in_progress","model":"o4-mini-2025-04-16","output":[],"usage":null}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_68a1","type":"reasoning","summary":[]}}

event: response.reasoning_summary_part.added
data: {"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_68a1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}

event: response.reasoning_summary_text.delta
data: {"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_68a1","output_index":0,"summary_index":0,"delta":"**Checking the weather**"}

event: response.reasoning_summary_text.done
data: {"type":"response.reasoning_summary_text.done","sequence_number":5,"item_id":"rs_68a1","output_index":0,"summary_index":0,"text":"**Checking the weather**"}

event: response.reasoning_summary_part.done
data: {"type":"response.reasoning_summary_part.done","sequence_number":6,"item_id":"rs_68a1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":"**Checking the weather**"}}

event: response.reasoning_summary_part.added
data: {"type":"response.reasoning_summary_part.added","sequence_number":7,"item_id":"rs_68a1","output_index":0,"summary_index":1,"part":{"type":"summary_text","text":""}}

event: response.reasoning_summary_text.delta
data: {"type":"response.reasoning_summary_text.delta","sequence_number":8,"item_id":"rs_68a1","output_index":0,"summary_index":1,"delta":"Two cities."}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":9,"output_index":0,"item":{"id":"rs_68a1","type":"reasoning","summary":[{"type":"summary_text","text":"**Checking the weather**"},{"type":"summary_text","text":"Two cities."}]}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":10,"output_index":1,"item":{"id":"fc_68a2","type":"function_call","status":"in_progress","arguments":"","call_id":"call_Paris","name":"get_weather"}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":11,"item_id":"fc_68a2","output_index":1,"delta":"{\"city\":"}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":12,"item_id":"fc_68a2","output_index":1,"delta":"\"Paris\"}"}

event: response.function_call_arguments.done
data: {"type":"response.function_call_arguments.done","sequence_number":13,"item_id":"fc_68a2","output_index":1,"arguments":"{\"city\":\"Paris\"}"}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":14,"output_index":1,"item":{"id":"fc_68a2","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_Paris","name":"get_weather"}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":15,"output_index":2,"item":{"id":"ws_68a3","type":"web_search_call","status":"in_progress"}}

event: response.web_search_call.completed
data: {"type":"response.web_search_call.completed","sequence_number":16,"output_index":2,"item_id":"ws_68a3"}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":17,"output_index":2,"item":{"id":"ws_68a3","type":"web_search_call","status":"completed","action":{"type":"search","query":"weather"}}}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":18,"output_index":3,"item":{"id":"fc_68a4","type":"function_call","status":"completed","arguments":"{\"city\":\"Bogotá\"}","call_id":"call_Bogota","name":"get_weather"}}

event: response.completed
data: {"type":"response.completed","sequence_number":19,"response":{"id":"resp_68a1","object":"response","created_at":1755000000,"status":"completed","model":"o4-mini-2025-04-16","output":[],"usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":0},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":420}}}
`

// Chat and Anthropic streams into Responses events.
func TestResponsesStream(t *testing.T) {
	refusal := `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","refusal":""},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":"I can't help with that."},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: [DONE]`
	tests := []struct {
		name     string
		upstream Format
		in       string
		golden   string
		want     streamcheck.Answer
	}{
		{
			name: "chat text with cached tokens", upstream: OpenAI, in: chatText, golden: "chat_text.sse",
			want: streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Stop: "completed", Input: 86, CacheRead: 1920, Output: 300},
		},
		{
			name: "chat text then parallel tool calls", upstream: OpenAI, in: chatTools, golden: "chat_tools.sse",
			want: streamcheck.Answer{Text: "Let me check.", Stop: "completed", Input: 82, Output: 48, Calls: []streamcheck.Call{
				{ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather", Args: `{"location": "Paris, France"}`},
				{ID: "call_2", Name: "get_weather", Args: `{"location": "Bogotá, Colombia"}`},
			}},
		},
		{
			name: "chat reasoning_content as a summary; length is incomplete", upstream: OpenAI, in: chatReasoning, golden: "chat_reasoning.sse",
			want: streamcheck.Answer{Thinking: "Compare 9.11 and 9.8.", Text: "9.8 is greater.", Stop: "max_output_tokens", Input: 4, CacheRead: 16, Output: 64},
		},
		{
			name: "chat one-chunk tool call cut before [DONE]", upstream: OpenAI, in: chatOneChunkTool,
			want: streamcheck.Answer{Stop: "completed", Calls: []streamcheck.Call{{ID: "call_u7v1", Name: "get_weather", Args: `{"city":"Toronto"}`}}},
		},
		{
			name: "chat refusal", upstream: OpenAI, in: refusal,
			want: streamcheck.Answer{Text: "I can't help with that.", Stop: "content_filter"},
		},
		{
			name: "anthropic text with cache writes", upstream: Anthropic, in: anthropicText,
			want: streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Stop: "completed", Input: 25, CacheRead: 2000, CacheWrite: 10, Output: 15},
		},
		{
			name: "anthropic text and two tool calls", upstream: Anthropic, in: anthropicTools, golden: "anthropic_tools.sse",
			want: streamcheck.Answer{Text: "Okay, let's check the weather for San Francisco, CA:", Stop: "completed", Input: 472, Output: 89,
				Calls: []streamcheck.Call{
					{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Args: `{"location": "San Francisco, CA", "unit": "fahrenheit"}`},
					{ID: "toolu_02", Name: "get_time", Args: `{"tz": "America/Los_Angeles"}`},
				}},
		},
		{
			name: "anthropic thinking", upstream: Anthropic, in: anthropicThinking, golden: "anthropic_thinking.sse",
			want: streamcheck.Answer{Thinking: "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0",
				Text: "The greatest common divisor of 1071 and 462 is **21**.", Stop: "completed"},
		},
		{
			name: "anthropic server tools left out", upstream: Anthropic, in: anthropicWebSearch,
			want: streamcheck.Answer{Text: "It is sunny in New York.", Stop: "completed", Input: 10682, Output: 510},
		},
		{
			name: "anthropic error event: response.failed", upstream: Anthropic, golden: "anthropic_error.sse",
			in: anthropicText[:strings.Index(anthropicText, "event: content_block_stop")] + `
event: error
data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
`,
			want: streamcheck.Answer{Text: "Hello! \"Quoted\" <b>&\n", Stop: "failed", Error: "server_error", Input: 25, CacheRead: 2000, CacheWrite: 10, Output: 1},
		},
		{
			name: "anthropic cut short: Close finishes it", upstream: Anthropic,
			in: anthropicTools[:strings.Index(anthropicTools, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2")],
			want: streamcheck.Answer{Text: "Okay, let's check the weather for San Francisco, CA:", Stop: "completed", Input: 472, Output: 2,
				Calls: []streamcheck.Call{{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Args: `{"location": "San Francisco, CA", "unit": "fahrenheit"}`}}},
		},
		{
			name: "nothing at all: Close writes an empty response", upstream: OpenAI,
			want: streamcheck.Answer{Stop: "completed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewResponsesStream(tt.upstream, "via-gateway", []byte(`{"model":"x","instructions":"Be brief.","tools":[{"type":"function","name":"get_weather"}],"temperature":0.5}`))
			var in []event
			if tt.in != "" {
				in = streamcheck.ParseSSE(tt.in)
			}
			out := run(t, s, in)
			got, err := readResponses(out)
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
			for _, e := range []event{out[0], out[len(out)-1]} {
				for _, member := range []string{`"model":"via-gateway"`, `"instructions":"Be brief."`, `"temperature":0.5`, `"tools":[{"type":"function","name":"get_weather"}]`} {
					if !strings.Contains(e.Data, member) {
						t.Errorf("%s lacks %s: %s", e.Name, member, e.Data)
					}
				}
			}
			if tt.golden != "" {
				golden(t, tt.golden, []byte(streamcheck.Dump(out)))
			}
		})
	}
}

// Responses streams into chat chunks and Anthropic events.
func TestStreamFromResponses(t *testing.T) {
	tests := []struct {
		name           string
		in             string
		wantChat, want streamcheck.Answer // the chat answer, the Anthropic one
	}{
		{
			name:     "text with cached tokens",
			in:       responsesText,
			wantChat: streamcheck.Answer{Text: "Hi there! \"<b>&\"", Stop: "stop", Input: 13, CacheRead: 1024, Output: 11},
			want:     streamcheck.Answer{Text: "Hi there! \"<b>&\"", Stop: "end_turn", Input: 13, CacheRead: 1024, Output: 11},
		},
		{
			name: "reasoning summaries, function calls (one only in output_item.done), a web search left out",
			in:   responsesReasoningTools,
			wantChat: streamcheck.Answer{Thinking: "**Checking the weather**\n\nTwo cities.", Stop: "tool_calls", Input: 120, Output: 300, Calls: []streamcheck.Call{
				{ID: "call_Paris", Name: "get_weather", Args: `{"city":"Paris"}`},
				{ID: "call_Bogota", Name: "get_weather", Args: `{"city":"Bogotá"}`},
			}},
			want: streamcheck.Answer{Thinking: "**Checking the weather**\n\nTwo cities.", Stop: "tool_use", Input: 120, Output: 300, Calls: []streamcheck.Call{
				{ID: "call_Paris", Name: "get_weather", Args: `{"city":"Paris"}`},
				{ID: "call_Bogota", Name: "get_weather", Args: `{"city":"Bogotá"}`},
			}},
		},
		{
			name: "incomplete",
			in: responsesText[:strings.Index(responsesText, "event: response.completed")] + `
event: response.incomplete
data: {"type":"response.incomplete","sequence_number":9,"response":{"id":"resp_6","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":5,"output_tokens":16,"total_tokens":21}}}
`,
			wantChat: streamcheck.Answer{Text: "Hi there! \"<b>&\"", Stop: "length", Input: 5, Output: 16},
			want:     streamcheck.Answer{Text: "Hi there! \"<b>&\"", Stop: "max_tokens", Input: 5, Output: 16},
		},
		{
			name: "failed",
			in: responsesText[:strings.Index(responsesText, "event: response.output_text.done")] + `
event: response.failed
data: {"type":"response.failed","sequence_number":6,"response":{"id":"resp_6","object":"response","status":"failed","error":{"code":"server_error","message":"The model failed."},"output":[],"usage":null}}
`,
			wantChat: streamcheck.Answer{Text: "Hi there! \"<b>&\"", Error: "server_error"},
			want:     streamcheck.Answer{Text: "Hi there! \"<b>&\"", Error: "api_error"},
		},
		{
			name: "error event",
			in: responsesText[:strings.Index(responsesText, "event: response.output_text.done")] + `
event: error
data: {"type":"error","sequence_number":6,"code":"rate_limit_exceeded","message":"Slow down.","param":null}
`,
			wantChat: streamcheck.Answer{Text: "Hi there! \"<b>&\"", Error: "rate_limit_error"},
			want:     streamcheck.Answer{Text: "Hi there! \"<b>&\"", Error: "rate_limit_error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStreamFromResponses(OpenAI, "via-gateway", true)
			out := run(t, s, streamcheck.ParseSSE(tt.in))
			got, err := streamcheck.ReadChatStream(out, true)
			if err != nil && tt.wantChat.Error == "" {
				t.Fatalf("chat: %v\n%s", err, streamcheck.Dump(out))
			}
			got.Events = 0
			if !reflect.DeepEqual(got, tt.wantChat) {
				t.Errorf("chat: got  %+v\nwant %+v\n%s", got, tt.wantChat, streamcheck.Dump(out))
			}
			if s.Text() != tt.wantChat.Text {
				t.Errorf("Text() = %q", s.Text())
			}

			s = NewStreamFromResponses(Anthropic, "via-gateway", false)
			out = run(t, s, streamcheck.ParseSSE(tt.in))
			got, err = streamcheck.ReadMessagesStream(out)
			if err != nil && tt.want.Error == "" {
				t.Fatalf("messages: %v\n%s", err, streamcheck.Dump(out))
			}
			got.Events = 0
			if tt.want.Error != "" {
				got = streamcheck.Answer{Text: got.Text, Error: got.Error}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("messages: got  %+v\nwant %+v\n%s", got, tt.want, streamcheck.Dump(out))
			}
		})
	}
}

// A round trip through Responses events loses nothing a chat client sees.
func TestResponsesStreamRoundTrip(t *testing.T) {
	for _, in := range []string{chatText, chatTools} {
		direct, err := streamcheck.ReadChatStream(run(t, NewStream(OpenAI, OpenAI, "", true), streamcheck.ParseSSE(in)), true)
		if err != nil {
			t.Fatal(err)
		}
		var mid []event
		s := NewResponsesStream(OpenAI, "", nil)
		mid = run(t, s, streamcheck.ParseSSE(in))
		back, err := streamcheck.ReadChatStream(run(t, NewStreamFromResponses(OpenAI, "", true), mid), true)
		if err != nil {
			t.Fatalf("%v\n%s", err, streamcheck.Dump(mid))
		}
		direct.Events, back.Events = 0, 0
		if !reflect.DeepEqual(direct, back) {
			t.Errorf("round trip\ngot  %+v\nwant %+v", back, direct)
		}
	}
}

// A stream continued on another upstream is one response: the message
// item goes on, tokens add up.
func TestResponsesStreamResume(t *testing.T) {
	s := NewResponsesStream(OpenAI, "", nil)
	var out []event
	first := streamcheck.ParseSSE(chatText)[:2] // role, "Hello"
	for _, e := range first {
		if err := s.Event(e.Name, []byte(e.Data), collect(&out)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Text() != "Hello" {
		t.Fatalf("Text() = %q", s.Text())
	}
	s.Resume(Anthropic)
	cont := strings.Replace(anthropicText, `"text":"Hello"`, `"text":", world"`, 1)
	for _, e := range streamcheck.ParseSSE(cont) {
		if err := s.Event(e.Name, []byte(e.Data), collect(&out)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(collect(&out)); err != nil {
		t.Fatal(err)
	}
	got, err := readResponses(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, streamcheck.Dump(out))
	}
	want := "Hello, world! \"Quoted\" <b>&\n"
	if got.Text != want || s.Text() != want || got.Output != 15 || got.Stop != "completed" {
		t.Fatalf("got %+v, Text() %q\n%s", got, s.Text(), streamcheck.Dump(out))
	}
	if n := strings.Count(streamcheck.Dump(out), "event: response.output_item.added"); n != 1 {
		t.Errorf("%d items, want one message\n%s", n, streamcheck.Dump(out))
	}
}

func TestIsResponsesErrorEvent(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		want       bool
	}{
		{"error", `{"type":"error","code":"x","message":"m"}`, true},
		{"response.failed", `{"type":"response.failed","response":{}}`, true},
		{"", `{"type":"response.failed","response":{}}`, true},
		{"", `{"type":"error"}`, true},
		{"response.completed", `{"type":"response.completed","response":{"error":null}}`, false},
		{"response.output_text.delta", `{"type":"response.output_text.delta","delta":"error"}`, false},
		{"", `{"type":"response.output_text.delta","delta":"\"error\""}`, false},
	} {
		if got := IsResponsesErrorEvent(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("IsResponsesErrorEvent(%s, %s) = %v", tt.name, tt.data, got)
		}
	}
}

// Gemini chunks (parts in chunks, usage on every chunk, the finishReason
// on the last), for the Gemini directions.
var responsesGeminiStream = []event{
	{Data: `{"candidates":[{"content":{"parts":[{"text":"Let me ","thought":false}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash","responseId":"g1"}`},
	{Data: `{"candidates":[{"content":{"parts":[{"text":"check."},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":6,"totalTokenCount":15},"modelVersion":"gemini-2.5-flash","responseId":"g1"}`},
}

func TestResponsesStreamGemini(t *testing.T) {
	out := run(t, NewResponsesStream(Gemini, "", nil), responsesGeminiStream)
	got, err := readResponses(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, streamcheck.Dump(out))
	}
	if got.Text != "Let me check." || len(got.Calls) != 1 || got.Calls[0].Name != "get_weather" || got.Calls[0].Args != `{"city":"Paris"}` ||
		got.Stop != "completed" || got.Input != 9 || got.Output != 6 {
		t.Fatalf("got %+v\n%s", got, streamcheck.Dump(out))
	}

	// And back: a Responses stream to a Gemini client.
	out = run(t, NewStreamFromResponses(Gemini, "o4-mini", false), streamcheck.ParseSSE(responsesReasoningTools))
	text := streamcheck.Dump(out)
	for _, want := range []string{`"name":"get_weather","args":{"city":"Paris"}}`, `"name":"get_weather","args":{"city":"Bogotá"}}`,
		`"thought":true`, `"finishReason":"STOP"`, `"promptTokenCount":120`} {
		if !strings.Contains(text, want) {
			t.Errorf("Gemini stream lacks %s:\n%s", want, text)
		}
	}
}

// A Responses stream passing through (a Responses client served by a
// Responses upstream: NewStream(Responses, Responses)) that stalls and is continued elsewhere: the
// continuation's events go on from the upstream's sequence number, in its
// open message item.
func TestResponsesPassthroughResume(t *testing.T) {
	up := strings.ReplaceAll(responsesText, `"store":true`, `"store":false`)
	up = strings.Replace(up, `"status":"in_progress","model"`, `"status":"in_progress","store":false,"model"`, 1)
	in := streamcheck.ParseSSE(up)[:6] // created, in_progress, item added, part added, 2 deltas
	s := NewStream(Responses, Responses, "", false)
	var out []event
	for _, e := range in {
		if err := s.Event(e.Name, []byte(e.Data), collect(&out)); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != len(in) || s.Text() != `Hi there! "<b>&"` {
		t.Fatalf("passthrough gave %d events, Text() %q", len(out), s.Text())
	}
	s.Resume(OpenAI)
	for _, e := range streamcheck.ParseSSE(chatText)[1:] {
		if err := s.Event(e.Name, []byte(e.Data), collect(&out)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(collect(&out)); err != nil {
		t.Fatal(err)
	}
	got, err := readResponses(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, streamcheck.Dump(out))
	}
	want := `Hi there! "<b>&"Hello! "Quoted" <b>&` + "\n"
	if got.Text != want || s.Text() != want || got.Stop != "completed" || got.Output != 300 {
		t.Fatalf("got %+v\n%s", got, streamcheck.Dump(out))
	}
	if n := strings.Count(streamcheck.Dump(out), "event: response.output_item.added"); n != 1 {
		t.Errorf("%d items, want the upstream's message only\n%s", n, streamcheck.Dump(out))
	}
	if last := out[len(out)-1].Data; !strings.Contains(last, `"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654"`) ||
		!strings.Contains(last, `"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654"`) {
		t.Errorf("ids not the upstream's: %s", last)
	}
}
