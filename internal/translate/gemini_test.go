package translate

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGeminiToChat(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		in      string
		want    string
		removed []string
		err     string
	}{
		{
			name: "system, turns, generation config, stream",
			opts: Options{Model: "gpt-4o", Stream: true, IncludeUsage: true},
			in: `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[
				{"role":"user","parts":[{"text":"Hello"}]},
				{"role":"model","parts":[{"text":"Hi!","thoughtSignature":"abc"}]},
				{"role":"user","parts":[{"text":"Joke?"}]}],
				"generationConfig":{"maxOutputTokens":100,"temperature":0.5,"topP":0.9,"topK":40,"stopSequences":["END"],"candidateCount":1,"seed":7},
				"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]}`,
			want: `{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"},
				{"role":"assistant","content":"Hi!"},{"role":"user","content":"Joke?"}],
				"max_completion_tokens":100,"temperature":0.5,"top_p":0.9,"stop":["END"],"seed":7,
				"stream":true,"stream_options":{"include_usage":true}}`,
			removed: []string{"generationConfig.topK", "safetySettings"},
		},
		{
			name: "function calls without ids, responses matched by name, tools and toolConfig",
			opts: Options{Model: "m", LegacyMaxTokens: true},
			in: `{"contents":[
				{"role":"user","parts":[{"text":"Weather in Paris and Rome?"}]},
				{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}},{"functionCall":{"name":"get_weather","args":{"location":"Rome"}}}]},
				{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}},{"functionResponse":{"name":"get_weather","response":{"temp":20}}}]}],
				"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather","parameters":{"type":"OBJECT","properties":{"location":{"type":"STRING","nullable":true}},"required":["location"],"propertyOrdering":["location"]}},
					{"name":"other","parametersJsonSchema":{"type":"object","properties":{}}}]},{"googleSearch":{}}],
				"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},
				"generationConfig":{"maxOutputTokens":64}}`,
			want: `{"model":"m","messages":[{"role":"user","content":"Weather in Paris and Rome?"},
				{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_1_0","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}},
					{"id":"call_1_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Rome\"}"}}]},
				{"role":"tool","tool_call_id":"call_1_0","content":"sunny"},
				{"role":"tool","tool_call_id":"call_1_1","content":"{\"temp\":20}"}],
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"location":{"type":["string","null"]}},"required":["location"]}}}],
				"tool_choice":{"type":"function","function":{"name":"get_weather"}},
				"max_tokens":64}`,
			removed: []string{"tools.googleSearch"},
		},
		{
			name: "ids kept; images, PDF; thinking; JSON schema",
			opts: Options{Model: "m"},
			in: `{"contents":[
				{"role":"user","parts":[{"text":"Look"},{"inlineData":{"mimeType":"image/png","data":"iVBO"}},{"inlineData":{"mimeType":"application/pdf","data":"JVBE"}},
					{"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/a.jpg"}},{"fileData":{"mimeType":"video/mp4","fileUri":"files/abc"}}]},
				{"role":"model","parts":[{"text":"thinking…","thought":true},{"functionCall":{"id":"fc1","name":"f","args":{}}}]},
				{"role":"user","parts":[{"functionResponse":{"id":"fc1","name":"f","response":{"output":"done"}}},{"text":"And?"}]}],
				"generationConfig":{"thinkingConfig":{"thinkingBudget":8192},"responseMimeType":"application/json","responseSchema":{"type":"OBJECT","properties":{"a":{"type":"INTEGER"}}}}}`,
			want: `{"model":"m","messages":[
				{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}},
					{"type":"file","file":{"filename":"document.pdf","file_data":"data:application/pdf;base64,JVBE"}},
					{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]},
				{"role":"assistant","content":null,"tool_calls":[{"id":"fc1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"fc1","content":"done"},
				{"role":"user","content":"And?"}],
				"reasoning_effort":"medium",
				"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}`,
			removed: []string{"contents.fileData"},
		},
		{
			name: "several candidates refused",
			in:   `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"candidateCount":2}}`,
			err:  "candidateCount",
		},
		{
			name: "contents required",
			in:   `{"contents":[]}`,
			err:  "contents",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := GeminiToChat([]byte(tt.in), tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one about %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
			removedEqual(t, removed, tt.removed)
		})
	}
}

func TestChatToGemini(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		in      string
		want    string
		removed []string
	}{
		{
			name: "system, merged turns, sampling, stop, n",
			in: `{"model":"gemini-2.5-flash","messages":[
				{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"French."}]},
				{"role":"user","content":"Hi"},{"role":"user","content":[{"type":"text","text":"there"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}]},
				{"role":"assistant","content":"Bonjour"},{"role":"user","content":"Joke?"}],
				"max_completion_tokens":200,"temperature":0.2,"top_p":0.8,"stop":"###","n":2,"seed":1,
				"stream":false,"stream_options":null,"user":"u1","response_format":{"type":"json_object"}}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"},{"text":"there"},{"inlineData":{"mimeType":"image/jpeg","data":"/9j/"}}]},
				{"role":"model","parts":[{"text":"Bonjour"}]},{"role":"user","parts":[{"text":"Joke?"}]}],
				"systemInstruction":{"parts":[{"text":"Be brief."},{"text":"French."}]},
				"generationConfig":{"maxOutputTokens":200,"temperature":0.2,"topP":0.8,"seed":1,"stopSequences":["###"],"candidateCount":2,"responseMimeType":"application/json"}}`,
			removed: []string{"user"},
		},
		{
			name: "tool calls and results, tools, forced tool, reasoning",
			opts: Options{Stream: true},
			in: `{"model":"m","messages":[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}},
					{"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]},
				{"role":"tool","tool_call_id":"call_a","content":"sunny"},
				{"role":"tool","tool_call_id":"call_b","content":"{\"time\":\"noon\"}"}],
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}},
					{"type":"function","function":{"name":"get_time"}},{"type":"web_search"}],
				"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,
				"reasoning_effort":"high","n":3}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Weather?"}]},
				{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}},"thoughtSignature":"skip_thought_signature_validator"},
					{"functionCall":{"name":"get_time","args":{}}}]},
				{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}},{"functionResponse":{"name":"get_time","response":{"time":"noon"}}}]}],
				"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather","parametersJsonSchema":{"type":"object","properties":{"location":{"type":"string"}}}},{"name":"get_time"}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},
				"generationConfig":{"thinkingConfig":{"thinkingBudget":16384}}}`,
			removed: []string{"n", "parallel_tool_calls", "tools.web_search"},
		},
		{
			name: "what an assistant message carries that Gemini does not take is named",
			in: `{"model":"m","messages":[{"role":"user","content":"Hi"},
				{"role":"assistant","content":"Hello","reasoning_content":"thinking...","audio":{"id":"audio_1"}},
				{"role":"user","content":"Again"}]}`,
			want:    `{"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hello"}]},{"role":"user","parts":[{"text":"Again"}]}]}`,
			removed: []string{"messages.audio", "messages.reasoning_content"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := ChatToGemini([]byte(tt.in), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
			removedEqual(t, removed, tt.removed)
		})
	}
}

// A Gemini request through chat and back keeps its meaning.
func TestGeminiChatRoundTrip(t *testing.T) {
	in := `{"contents":[{"role":"user","parts":[{"text":"Weather?"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}]},
		{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}}]}],
		"systemInstruction":{"parts":[{"text":"Be brief."}]},"generationConfig":{"maxOutputTokens":10}}`
	chat, _, err := GeminiToChat([]byte(in), Options{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := ChatToGemini(chat, Options{})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, back, `{"contents":[{"role":"user","parts":[{"text":"Weather?"}]},
		{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}},"thoughtSignature":"skip_thought_signature_validator"}]},
		{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}}]}],
		"systemInstruction":{"parts":[{"text":"Be brief."}]},"generationConfig":{"maxOutputTokens":10}}`)
}

func TestGeminiResponses(t *testing.T) {
	gem := `{"candidates":[{"content":{"parts":[{"text":"Let me think","thought":true},{"text":"Calling."},{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}],
		"usageMetadata":{"promptTokenCount":20,"cachedContentTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":3,"totalTokenCount":30},"modelVersion":"gemini-2.5-flash","responseId":"resp1"}`
	out, err := GeminiResponseToChat([]byte(gem), "")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct{ ID string } `json:"tool_calls"`
			}
		}
	}
	_ = json.Unmarshal(out, &c)
	id := c.Choices[0].Message.ToolCalls[0].ID
	if !strings.HasPrefix(id, "call_") {
		t.Fatalf("synthesized id %q", id)
	}
	jsonEqual(t, out, `{"id":"resp1","object":"chat.completion","created":1730000000,"model":"gemini-2.5-flash","choices":[{"index":0,
		"message":{"role":"assistant","content":"Calling.","refusal":null,"reasoning_content":"Let me think",
		"tool_calls":[{"id":"`+id+`","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},
		"logprobs":null,"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":20,"completion_tokens":10,"total_tokens":30,"prompt_tokens_details":{"cached_tokens":5},"completion_tokens_details":{"reasoning_tokens":3}}}`)

	// and back: the usage and the call survive
	back, err := ChatResponseToGemini(out, "")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, back, `{"candidates":[{"content":{"parts":[{"text":"Let me think","thought":true},{"text":"Calling."},
		{"functionCall":{"id":"`+id+`","name":"get_weather","args":{"location":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}],
		"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":7,"totalTokenCount":30,"cachedContentTokenCount":5,"thoughtsTokenCount":3},
		"modelVersion":"gemini-2.5-flash","responseId":"resp1"}`)

	// several candidates; a blocked prompt; length
	out, err = GeminiResponseToChat([]byte(`{"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"MAX_TOKENS","index":0},{"content":{"parts":[{"text":"b"}]},"finishReason":"SAFETY","index":1}]}`), "m")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"id":"`+gjson(t, out, "id")+`","object":"chat.completion","created":1730000000,"model":"m","choices":[
		{"index":0,"message":{"role":"assistant","content":"a","refusal":null},"logprobs":null,"finish_reason":"length"},
		{"index":1,"message":{"role":"assistant","content":"b","refusal":null},"logprobs":null,"finish_reason":"content_filter"}]}`)
	out, _ = GeminiResponseToChat([]byte(`{"promptFeedback":{"blockReason":"SAFETY"}}`), "m")
	if !strings.Contains(string(out), `"finish_reason":"content_filter"`) {
		t.Fatalf("blocked prompt: %s", out)
	}

	// an Anthropic-format answer reaches a Gemini client through chat
	chat, err := MessagesResponseToChat([]byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"Hi"}],"stop_reason":"max_tokens","usage":{"input_tokens":4,"output_tokens":2}}`), "claude")
	if err != nil {
		t.Fatal(err)
	}
	g, err := ChatResponseToGemini(chat, "claude")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, g, `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],
		"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},"modelVersion":"claude","responseId":"msg_1"}`)
}

func gjson(t *testing.T, b []byte, key string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	s, _ := v[key].(string)
	return s
}

func TestGeminiErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		in     string
		want   string
	}{
		{400, `{"error":{"message":"bad model","type":"invalid_request_error","code":null}}`, `{"error":{"code":400,"message":"bad model","status":"INVALID_ARGUMENT"}}`},
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, `{"error":{"code":529,"message":"Overloaded","status":"INTERNAL"}}`},
		{503, `<html>bad gateway</html>`, `{"error":{"code":503,"message":"Service Unavailable","status":"UNAVAILABLE"}}`},
		{429, `{"error":{"message":"slow down","code":"rate_limit_exceeded"}}`, `{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}`},
	} {
		jsonEqual(t, ErrorToGemini(tc.status, []byte(tc.in)), tc.want)
	}
	// a Gemini error reaches OpenAI and Anthropic clients with its message
	gem := []byte(`{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}`)
	if b := ErrorToChat(404, gem); !strings.Contains(string(b), `"message":"models/x is not found"`) {
		t.Errorf("ErrorToChat: %s", b)
	}
	jsonEqual(t, ErrorToMessages(404, gem), `{"type":"error","error":{"type":"not_found_error","message":"models/x is not found"}}`)
	if !IsErrorEvent(Gemini, "", gem) || IsErrorEvent(Gemini, "", []byte(`{"candidates":[]}`)) {
		t.Error("IsErrorEvent")
	}
}

func TestContinueGemini(t *testing.T) {
	out, err := ContinueGemini([]byte(`{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":5}}`), "Hello th")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hello th"}]},
		{"role":"user","parts":[{"text":"`+ContinueInstruction+`"}]}],"generationConfig":{"maxOutputTokens":5}}`)
}

// geminiStream is what Gemini sends for a text answer then a tool call
// (as two streams): parts in chunks, usage on every chunk, the
// finishReason on the last.
var geminiTextStream = []event{
	{Data: `{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`},
	{Data: `{"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"thoughtsTokenCount":1,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`},
}

var geminiToolStream = []event{
	{Data: `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"totalTokenCount":13},"modelVersion":"gemini-2.5-flash","responseId":"r2"}`},
}

func TestGeminiStreamToChat(t *testing.T) {
	out := run(t, NewStream(Gemini, OpenAI, "gemini-2.5-flash", true), geminiTextStream)
	want := []string{
		`{"id":"r1","object":"chat.completion.chunk","created":1730000000,"model":"gemini-2.5-flash","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"r1","object":"chat.completion.chunk","created":1730000000,"model":"gemini-2.5-flash","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"r1","object":"chat.completion.chunk","created":1730000000,"model":"gemini-2.5-flash","choices":[{"index":0,"delta":{"content":"lo"},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"r1","object":"chat.completion.chunk","created":1730000000,"model":"gemini-2.5-flash","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
		`{"id":"r1","object":"chat.completion.chunk","created":1730000000,"model":"gemini-2.5-flash","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,"prompt_tokens_details":{"cached_tokens":0}}}`,
		`[DONE]`,
	}
	eventsEqual(t, out, want)

	out = run(t, NewStream(Gemini, OpenAI, "m", false), geminiToolStream)
	if len(out) != 5 || !strings.Contains(out[1].Data, `"tool_calls":[{"index":0,"id":"call_`) || !strings.Contains(out[1].Data, `"name":"get_weather"`) ||
		!strings.Contains(out[2].Data, `"arguments":"{\"location\":\"Paris\"}"`) || !strings.Contains(out[3].Data, `"finish_reason":"tool_calls"`) {
		t.Fatalf("tool call stream: %q", out)
	}
}

func eventsEqual(t *testing.T, out []event, want []string) {
	t.Helper()
	if len(out) != len(want) {
		t.Fatalf("%d events, want %d: %q", len(out), len(want), out)
	}
	for i := range want {
		if out[i].Data != want[i] {
			t.Fatalf("event %d\n got %s\nwant %s", i, out[i].Data, want[i])
		}
	}
}

func TestGeminiStreamToMessages(t *testing.T) {
	out := run(t, NewStream(Gemini, Anthropic, "gemini-2.5-flash", false), geminiToolStream)
	var names []string
	for _, e := range out {
		names = append(names, e.Name)
	}
	if strings.Join(names, ",") != "message_start,content_block_start,content_block_delta,content_block_stop,message_delta,message_stop" {
		t.Fatalf("events %v: %q", names, out)
	}
	if !strings.Contains(out[1].Data, `"type":"tool_use"`) || !strings.Contains(out[2].Data, `"partial_json":"{\"location\":\"Paris\"}"`) ||
		!strings.Contains(out[4].Data, `"stop_reason":"tool_use"`) || !strings.Contains(out[4].Data, `"output_tokens":4`) {
		t.Fatalf("tool stream: %q", out)
	}
}

func TestChatStreamToGemini(t *testing.T) {
	in := []event{
		{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`},
		{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`},
		{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`},
		{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"finish_reason":null}]}`},
		{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}`},
		{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`},
		{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":6,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}`},
		{Data: `[DONE]`},
	}
	s := NewStream(OpenAI, Gemini, "gpt-4o", false)
	out := run(t, s, in)
	eventsEqual(t, out, []string{
		`{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"modelVersion":"gpt-4o","responseId":"c1"}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"id":"call_1","name":"get_weather","args":{"location":"Paris"}}}],"role":"model"},"index":0}],"modelVersion":"gpt-4o","responseId":"c1"}`,
		`{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":4,"totalTokenCount":16,"cachedContentTokenCount":4,"thoughtsTokenCount":2},"modelVersion":"gpt-4o","responseId":"c1"}`,
	})
	if s.Text() != "Hi" {
		t.Fatalf("Text = %q", s.Text())
	}
	// an error chunk becomes a Gemini error
	out = run(t, NewStream(OpenAI, Gemini, "m", false), []event{{Data: `{"error":{"message":"overloaded","type":"server_error"}}`}})
	eventsEqual(t, out, []string{`{"error":{"code":500,"message":"overloaded","status":"INTERNAL"}}`})
}

func TestMessagesStreamToGemini(t *testing.T) {
	in := []event{
		{Name: "message_start", Data: `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":7,"output_tokens":1}}}`},
		{Name: "content_block_start", Data: `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`},
		{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`},
		{Name: "content_block_stop", Data: `{"type":"content_block_stop","index":0}`},
		{Name: "content_block_start", Data: `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`},
		{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello"}}`},
		{Name: "content_block_stop", Data: `{"type":"content_block_stop","index":1}`},
		{Name: "message_delta", Data: `{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":5}}`},
		{Name: "message_stop", Data: `{"type":"message_stop"}`},
	}
	out := run(t, NewStream(Anthropic, Gemini, "claude-x", false), in)
	eventsEqual(t, out, []string{
		`{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}],"role":"model"},"index":0}],"modelVersion":"claude-x","responseId":"msg_1"}`,
		`{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"index":0}],"modelVersion":"claude-x","responseId":"msg_1"}`,
		`{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":5,"totalTokenCount":12},"modelVersion":"claude-x","responseId":"msg_1"}`,
	})
}

// Gemini to Gemini passes through; cut short, Close ends it with a final
// chunk, and a continuation on an OpenAI upstream continues the text.
func TestGeminiStreamPassThroughAndResume(t *testing.T) {
	s := NewStream(Gemini, Gemini, "", false)
	var out []event
	if err := s.Event("", []byte(geminiTextStream[0].Data), collect(&out)); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Data != geminiTextStream[0].Data || s.Text() != "Hel" {
		t.Fatalf("pass-through: %q %q", out, s.Text())
	}
	s.Resume(OpenAI)
	out = out[:0]
	for _, e := range []string{
		`{"id":"c2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"id":"c2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}`,
		`[DONE]`,
	} {
		if err := s.Event("", []byte(e), collect(&out)); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != 2 || !strings.Contains(out[0].Data, `{"text":"lo"}`) || !strings.Contains(out[1].Data, `"finishReason":"STOP"`) || s.Text() != "Hello" {
		t.Fatalf("resumed: %q %q", out, s.Text())
	}
}
