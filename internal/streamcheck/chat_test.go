package streamcheck

import "testing"

func chunk(s string) Event {
	return Event{Data: `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",` + s + `}`}
}

var chatOK = []Event{
	chunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]`),
	chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]`),
	chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":\"Paris\"}"}}]}}]`),
	chunk(`"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]`),
	chunk(`"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}`),
	{Data: "[DONE]"},
}

var chatText = []Event{
	chunk(`"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Hm."}}]`),
	chunk(`"choices":[{"index":0,"delta":{"content":"H"}}]`),
	chunk(`"choices":[{"index":0,"delta":{"content":"i"},"finish_reason":"stop"}]`),
	chunk(`"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":2,"total_tokens":32,"prompt_tokens_details":{"cached_tokens":20,"cache_write_tokens":6}}`),
	{Data: "[DONE]"},
}

func TestReadChatStream(t *testing.T) {
	usage := func(evs []Event) (Answer, error) { return ReadChatStream(evs, true) }
	noUsage := func(evs []Event) (Answer, error) { return ReadChatStream(evs, false) }
	check(t, usage, []readCase{
		{name: "tool call", in: chatOK, want: &Answer{Calls: []Call{{"call_1", "get_weather", `{"location":"Paris"}`}}, Stop: "tool_calls", Input: 3, Output: 2, Events: 5}},
		{name: "text, reasoning, cache tokens", in: chatText, want: &Answer{Text: "Hi", Thinking: "Hm.", Stop: "stop", Input: 4, CacheRead: 20, CacheWrite: 6, Output: 2, Events: 4}},
		{name: "an error chunk ends it", in: plus(chatText[:2], Event{Data: `{"error":{"message":"overloaded","type":"server_error"}}`}), want: &Answer{Thinking: "Hm.", Text: "H", Error: "server_error", Events: 2}},
		{name: "without [DONE]", in: chatOK[:5], trips: "or [DONE] (false)"},
		{name: "without the usage chunk", in: drop(chatOK, 4), trips: "no usage chunk although include_usage was set"},
		{name: "without finish_reason", in: drop(chatOK, 3), trips: "misplaced usage chunk"},
		{name: "without finish_reason or usage", in: drop(drop(chatOK, 4), 3), trips: "without finish_reason (false)"},
		{name: "tool call without id", in: with(chatOK, 1, chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"type":"function","function":{"name":"get_weather"}}]}}]`)), trips: "without id, type or name"},
		{name: "tool call with an empty name", in: with(chatOK, 1, chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":""}}]}}]`)), trips: "without id, type or name"},
		{name: "tool call index skips", in: with(chatOK, 2, chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":2,"function":{"arguments":"{}"}}]}}]`)), trips: "index 2 skips"},
		{name: "tool call changes its id", in: with(chatOK, 2, chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_2","function":{"arguments":"{}"}}]}}]`)), trips: "changes its id"},
		{name: "tool arguments not an object", in: with(chatOK, 2, chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"loc"}}]}}]`)), trips: "not a JSON object"},
		{name: "without role", in: chatOK[1:], trips: "first delta without role"},
		{name: "chunk after [DONE]", in: plus(chatOK, chatOK[0]), trips: "after [DONE]"},
		{name: "a named event", in: with(chatOK, 0, Event{Name: "chunk", Data: chatOK[0].Data}), trips: "has a name"},
		{name: "the id changes", in: with(chatOK, 3, Event{Data: `{"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`}), trips: "id c2, was c1"},
		{name: "not a chunk", in: with(chatOK, 0, Event{Data: `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[]}`}), trips: "is not a chunk"},
		{name: "not JSON", in: with(chatOK, 0, Event{Data: `{"id"`}), trips: "event 0:"},
		{name: "a second choice", in: with(chatOK, 2, chunk(`"choices":[{"index":1,"delta":{"content":"x"}}]`)), trips: "choice 1"},
		{name: "a choice after finish_reason", in: with(chatOK, 4, chunk(`"choices":[{"index":0,"delta":{"content":"x"}}]`)), trips: "a choice after finish_reason"},
		{name: "total_tokens does not add up", in: with(chatOK, 4, chunk(`"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":6}`)), trips: "total_tokens 6 is not"},
		{name: "a second usage chunk", in: plus(chatOK[:5], chatOK[4], chatOK[5]), trips: "misplaced usage chunk"},
		{name: "events after an error", in: plus(chatText[:2], Event{Data: `{"error":{"type":"server_error"}}`}, chatText[4]), trips: "events after an error"},
	})
	check(t, noUsage, []readCase{
		{name: "no usage asked, none sent", in: drop(chatText, 3), want: &Answer{Text: "Hi", Thinking: "Hm.", Stop: "stop", Events: 3}},
		{name: "usage chunk not asked for", in: chatText, trips: "include_usage was not set"},
	})
}

func TestReadChatJSON(t *testing.T) {
	completion := func(message, rest string) []Event {
		return body(`{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":` + message + `,"finish_reason":"stop"}]` + rest + `}`)
	}
	usage := `,"usage":{"prompt_tokens":30,"completion_tokens":2,"total_tokens":32,"prompt_tokens_details":{"cached_tokens":20}}`
	check(t, jsonReader(ReadChatJSON), []readCase{
		{name: "text", in: completion(`{"role":"assistant","content":"Hi","reasoning_content":"Hm."}`, usage), want: &Answer{Text: "Hi", Thinking: "Hm.", Stop: "stop", Input: 10, CacheRead: 20, Output: 2}},
		{name: "tool call", in: completion(`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}`, usage), want: &Answer{Calls: []Call{{"call_1", "f", "{}"}}, Stop: "stop", Input: 10, CacheRead: 20, Output: 2}},
		{name: "no usage", in: completion(`{"role":"assistant","content":"Hi"}`, ""), trips: "no usage"},
		{name: "usage does not add up", in: completion(`{"role":"assistant","content":"Hi"}`, `,"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":3}`), trips: "total_tokens 3 is not"},
		{name: "no role", in: completion(`{"content":"Hi"}`, usage), trips: "without role or finish_reason"},
		{name: "tool call without id", in: completion(`{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}`, usage), trips: "without id, type or name"},
		{name: "tool arguments not an object", in: completion(`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[]"}}]}`, usage), trips: "not a JSON object"},
		{name: "a chunk", in: body(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}`), trips: "not a chat.completion with one choice"},
	})
}
