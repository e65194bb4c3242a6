package streamcheck

import "testing"

func g(parts string) Event {
	return Event{Data: `{"candidates":[{"content":{"role":"model","parts":[` + parts + `]},"index":0}]}`}
}

const geminiUsage = `"usageMetadata":{"promptTokenCount":30,"cachedContentTokenCount":20,"candidatesTokenCount":2,"totalTokenCount":32}`

var geminiOK = []Event{
	g(`{"text":"Hm.","thought":true}`), g(`{"text":"H"}`), g(`{"text":"i"}`),
	{Data: `{"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP","index":0}],` + geminiUsage + `}`},
}

var geminiCall = []Event{
	{Data: `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}]},"finishReason":"STOP","index":0}],` + geminiUsage + `}`},
}

func TestReadGeminiStream(t *testing.T) {
	check(t, ReadGeminiStream, []readCase{
		{name: "text", in: geminiOK, want: &Answer{Text: "Hi", Thinking: "Hm.", Stop: "STOP", Input: 10, CacheRead: 20, Output: 2, Events: 4}},
		{name: "a function call whole in one chunk", in: geminiCall, want: &Answer{Calls: []Call{{"", "get_weather", `{"location":"Paris"}`}}, Stop: "STOP", Input: 10, CacheRead: 20, Output: 2, Events: 1}},
		{name: "without finishReason", in: geminiOK[:3], trips: "no chunk with a finishReason"},
		{name: "content after finishReason", in: plus(geminiOK, geminiOK[1]), trips: "content after finishReason"},
		{name: "a chunk after finishReason", in: plus(geminiOK, Event{Data: `{"usageMetadata":{"promptTokenCount":1,"totalTokenCount":1}}`}), trips: "1 chunks after the finishReason"},
		{name: "a second finishReason", in: plus(geminiOK, geminiOK[3]), trips: "a second finishReason"},
		{name: "[DONE]", in: plus(geminiOK, Event{Data: "[DONE]"}), trips: "event 4:"},
		{name: "a named event", in: with(geminiOK, 0, Event{Name: "chunk", Data: geminiOK[0].Data}), trips: "has a name"},
		{name: "text in one chunk", in: geminiOK[2:], trips: "2 chunks: not streamed event by event"},
		{name: "without usageMetadata", in: with(geminiOK, 3, Event{Data: `{"candidates":[{"content":{"role":"model","parts":[]},"finishReason":"STOP","index":0}]}`}), trips: "no chunk with usageMetadata"},
		{name: "usage does not add up", in: with(geminiOK, 3, Event{Data: `{"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":4}}`}), trips: "totalTokenCount below"},
		{name: "two candidates", in: with(geminiOK, 1, Event{Data: `{"candidates":[{"index":0},{"index":1}]}`}), trips: "2 candidates"},
		{name: "a second candidate's index", in: with(geminiOK, 1, Event{Data: `{"candidates":[{"content":{"role":"model","parts":[{"text":"H"}]},"index":1}]}`}), trips: "candidate index 1"},
		{name: "a user's content", in: with(geminiOK, 1, Event{Data: `{"candidates":[{"content":{"role":"user","parts":[{"text":"H"}]},"index":0}]}`}), trips: `content role "user"`},
		{name: "a functionCall without args", in: with(geminiOK, 1, g(`{"functionCall":{"name":"f"}}`)), trips: "without a name or an args object"},
		{name: "an error chunk", in: with(geminiOK, 2, Event{Data: `{"error":{"code":503,"message":"overloaded"}}`}), trips: "error chunk"},
	})
}

func TestReadGeminiJSON(t *testing.T) {
	check(t, jsonReader(ReadGeminiJSON), []readCase{
		{name: "a function call", in: body(geminiCall[0].Data), want: &Answer{Calls: []Call{{"", "get_weather", `{"location":"Paris"}`}}, Stop: "STOP", Input: 10, CacheRead: 20, Output: 2}},
		{name: "without usageMetadata", in: body(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP","index":0}]}`), trips: "want one candidate and usageMetadata"},
		{name: "without finishReason", in: body(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"index":0}],` + geminiUsage + `}`), trips: "no finishReason"},
	})
}
