package streamcheck

import "testing"

func msg(typ, rest string) Event { return Event{Name: typ, Data: `{"type":"` + typ + `"` + rest + `}`} }

var messagesOK = []Event{
	msg("message_start", `,"message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":3,"cache_read_input_tokens":20,"output_tokens":1}}`),
	msg("content_block_start", `,"index":0,"content_block":{"type":"text","text":""}`),
	msg("content_block_delta", `,"index":0,"delta":{"type":"text_delta","text":"Hi"}`),
	msg("content_block_stop", `,"index":0`),
	msg("message_delta", `,"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}`),
	msg("message_stop", ``),
}

var messagesTool = []Event{
	msg("message_start", `,"message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":3,"output_tokens":1}}`),
	msg("ping", ``),
	msg("content_block_start", `,"index":0,"content_block":{"type":"thinking","thinking":""}`),
	msg("content_block_delta", `,"index":0,"delta":{"type":"thinking_delta","thinking":"Hm."}`),
	msg("content_block_delta", `,"index":0,"delta":{"type":"signature_delta","signature":"sig"}`),
	msg("content_block_stop", `,"index":0`),
	msg("content_block_start", `,"index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}`),
	msg("content_block_delta", `,"index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}`),
	msg("content_block_delta", `,"index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}`),
	msg("content_block_stop", `,"index":1`),
	msg("message_delta", `,"delta":{"stop_reason":"tool_use"},"usage":{"input_tokens":4,"output_tokens":9}`),
	msg("message_stop", ``),
}

func TestReadMessagesStream(t *testing.T) {
	check(t, ReadMessagesStream, []readCase{
		{name: "text", in: messagesOK, want: &Answer{Text: "Hi", Stop: "end_turn", Input: 3, CacheRead: 20, Output: 1, Events: 6}},
		{name: "thinking, then a tool call", in: messagesTool, want: &Answer{Thinking: "Hm.", Calls: []Call{{"toolu_1", "get_weather", `{"location":"Paris"}`}}, Stop: "tool_use", Input: 4, Output: 9, Events: 12}},
		{name: "an error event ends it", in: plus(messagesOK[:3], msg("error", `,"error":{"type":"overloaded_error","message":"Overloaded"}`)), want: &Answer{Text: "Hi", Input: 3, CacheRead: 20, Output: 1, Error: "overloaded_error", Events: 3}},
		{name: "without message_stop", in: messagesOK[:5], trips: "before message_stop (stage 2)"},
		{name: "without content_block_stop", in: drop(messagesOK, 3), trips: "with block 0 open"},
		{name: "name differs from type", in: with(messagesOK, 2, Event{Name: "ping", Data: messagesOK[2].Data}), trips: `name "ping", type "content_block_delta"`},
		{name: "delta without usage", in: with(messagesOK, 4, msg("message_delta", `,"delta":{"stop_reason":"end_turn"}`)), trips: "without usage.output_tokens"},
		{name: "message_stop before message_delta", in: drop(messagesOK, 4), trips: "message_stop before message_delta"},
		{name: "a second message_start", in: plus(messagesOK[:1], messagesOK...), trips: "a second message_start"},
		{name: "message_start without id", in: with(messagesOK, 0, msg("message_start", `,"message":{"type":"message","role":"assistant","content":[],"usage":{}}`)), trips: "bad message_start"},
		{name: "message_start with content", in: with(messagesOK, 0, msg("message_start", `,"message":{"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"x"}],"usage":{}}`)), trips: "content not []"},
		{name: "message_start without usage", in: with(messagesOK, 0, msg("message_start", `,"message":{"id":"m","type":"message","role":"assistant","content":[]}`)), trips: "message_start without usage"},
		{name: "a block index skips", in: with(messagesOK, 1, msg("content_block_start", `,"index":1,"content_block":{"type":"text","text":""}`)), trips: "content_block_start 1 with 0 blocks"},
		{name: "a delta for no open block", in: with(messagesOK, 2, msg("content_block_delta", `,"delta":{"type":"text_delta","text":"Hi"}`)), trips: "delta for -1, 0 open"},
		{name: "a delta of another kind", in: with(messagesOK, 2, msg("content_block_delta", `,"index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}`)), trips: "delta input_json_delta for a text block"},
		{name: "a delta without its text", in: with(messagesOK, 2, msg("content_block_delta", `,"index":0,"delta":{"type":"text_delta"}`)), trips: `without its "text"`},
		{name: "an unknown block", in: with(messagesOK, 1, msg("content_block_start", `,"index":0,"content_block":{"type":"image"}`)), trips: "unexpected block"},
		{name: "tool_use without id", in: with(messagesTool, 6, msg("content_block_start", `,"index":1,"content_block":{"type":"tool_use","name":"get_weather","input":{}}`)), trips: "tool_use without id or name"},
		{name: "tool input not an object", in: drop(messagesTool, 8), trips: "not a JSON object"},
		{name: "an event after message_stop", in: plus(messagesOK, msg("ping", ``)), trips: "after message_stop"},
		{name: "events after an error", in: plus(messagesOK[:3], msg("error", `,"error":{"type":"overloaded_error"}`), messagesOK[3]), trips: "events after an error"},
		{name: "an unknown event", in: with(messagesOK, 3, msg("content_block_end", `,"index":0`)), trips: "unexpected content_block_end"},
		{name: "not JSON", in: with(messagesOK, 3, Event{Name: "content_block_stop", Data: `{`}), trips: "event 3:"},
	})
}

func TestReadMessagesJSON(t *testing.T) {
	message := func(content, rest string) []Event {
		return body(`{"id":"chatcmpl-1","type":"message","role":"assistant","model":"m","content":[` + content + `],"stop_reason":"end_turn"` + rest + `}`)
	}
	usage := `,"usage":{"input_tokens":3,"cache_creation_input_tokens":5,"output_tokens":2}`
	check(t, jsonReader(ReadMessagesJSON), []readCase{
		{name: "text and thinking", in: message(`{"type":"thinking","thinking":"Hm.","signature":"s"},{"type":"text","text":"Hi"}`, usage), want: &Answer{Text: "Hi", Thinking: "Hm.", Stop: "end_turn", Input: 3, CacheWrite: 5, Output: 2}},
		{name: "tool_use", in: message(`{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}`, usage), want: &Answer{Calls: []Call{{"toolu_1", "f", `{"a":1}`}}, Stop: "end_turn", Input: 3, CacheWrite: 5, Output: 2}},
		{name: "no usage", in: message(`{"type":"text","text":"Hi"}`, ""), trips: "not a message with id, role, model, stop_reason and usage"},
		{name: "usage without output_tokens", in: message(`{"type":"text","text":"Hi"}`, `,"usage":{"input_tokens":3}`), trips: "usage without output_tokens"},
		{name: "an unknown block", in: message(`{"type":"image"}`, usage), trips: `content block "image"`},
		{name: "tool_use without input", in: message(`{"type":"tool_use","id":"toolu_1","name":"f"}`, usage), trips: "without id, name or an input object"},
	})
}
