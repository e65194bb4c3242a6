package streamcheck

import (
	"fmt"
	"strings"
	"testing"
)

// respEvent is a Responses event before numbering.
type respEvent struct{ typ, rest string }

// numbered gives the events their sequence numbers 0, 1, 2…
func numbered(evs ...respEvent) []Event {
	var out []Event
	for i, e := range evs {
		out = append(out, Event{Name: e.typ, Data: fmt.Sprintf(`{"type":%q,"sequence_number":%d%s}`, e.typ, i, e.rest)})
	}
	return out
}

func response(status, output, rest string) string {
	return `{"id":"resp_1","object":"response","status":"` + status + `","store":false,"output":[` + output + `]` + rest + `}`
}

const respUsage = `,"usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":20},"output_tokens":1,"total_tokens":31}`

var (
	respMessage   = `{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hi","annotations":[]}]}`
	respReasoning = `{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Hm."}]}`
	respCall      = `{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{\"location\":\"Paris\"}"}`
)

// responsesText streams respMessage, with the final event given.
func responsesText(final respEvent) []respEvent {
	at := `,"output_index":0,"item_id":"msg_1","content_index":0`
	return []respEvent{
		{"response.created", `,"response":` + response("in_progress", "", "")},
		{"response.in_progress", `,"response":` + response("in_progress", "", "")},
		{"response.output_item.added", `,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[]}`},
		{"response.content_part.added", at + `,"part":{"type":"output_text","text":""}`},
		{"response.output_text.delta", at + `,"delta":"H"`},
		{"response.output_text.delta", at + `,"delta":"i"`},
		{"response.output_text.done", at + `,"text":"Hi"`},
		{"response.content_part.done", at + `,"part":{"type":"output_text","text":"Hi"}`},
		{"response.output_item.done", `,"output_index":0,"item":` + respMessage},
		final,
	}
}

var respCompleted = respEvent{"response.completed", `,"response":` + response("completed", respMessage, respUsage)}

// responsesReasoningCall streams respReasoning then respCall.
var responsesReasoningCall = []respEvent{
	{"response.created", `,"response":` + response("in_progress", "", "")},
	{"response.in_progress", `,"response":` + response("in_progress", "", "")},
	{"response.output_item.added", `,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}`},
	{"response.reasoning_summary_part.added", `,"output_index":0,"item_id":"rs_1","summary_index":0,"part":{"type":"summary_text","text":""}`},
	{"response.reasoning_summary_text.delta", `,"output_index":0,"item_id":"rs_1","summary_index":0,"delta":"Hm."`},
	{"response.reasoning_summary_text.done", `,"output_index":0,"item_id":"rs_1","summary_index":0,"text":"Hm."`},
	{"response.reasoning_summary_part.done", `,"output_index":0,"item_id":"rs_1","summary_index":0,"part":{"type":"summary_text","text":"Hm."}`},
	{"response.output_item.done", `,"output_index":0,"item":` + respReasoning},
	{"response.output_item.added", `,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","call_id":"call_1","name":"get_weather","arguments":""}`},
	{"response.function_call_arguments.delta", `,"output_index":1,"item_id":"fc_1","delta":"{\"location\":"`},
	{"response.function_call_arguments.delta", `,"output_index":1,"item_id":"fc_1","delta":"\"Paris\"}"`},
	{"response.function_call_arguments.done", `,"output_index":1,"item_id":"fc_1","arguments":"{\"location\":\"Paris\"}"`},
	{"response.output_item.done", `,"output_index":1,"item":` + respCall},
	{"response.incomplete", `,"response":` + response("incomplete", respReasoning+","+respCall, `,"incomplete_details":{"reason":"max_output_tokens"}`+respUsage)},
}

// edit returns evs with the i-th replaced by e (dropped when e.typ is "").
func edit(evs []respEvent, i int, e respEvent) []respEvent {
	out := append([]respEvent{}, evs[:i]...)
	if e.typ != "" {
		out = append(out, e)
	}
	return append(out, evs[i+1:]...)
}

func TestReadResponsesStream(t *testing.T) {
	text := responsesText(respCompleted)
	ok := numbered(text...)
	stored := func(evs []respEvent) []respEvent {
		out := append([]respEvent{}, evs...)
		for i := range out {
			out[i].rest = strings.Replace(out[i].rest, `"store":false`, `"store":true`, 1)
		}
		return out
	}
	check(t, ReadResponsesStream, []readCase{
		{name: "text", in: ok, want: &Answer{Text: "Hi", Stop: "completed", Input: 10, CacheRead: 20, Output: 1, Events: 10}},
		{name: "reasoning, then a function call, incomplete", in: numbered(responsesReasoningCall...),
			want: &Answer{Thinking: "Hm.", Calls: []Call{{"call_1", "get_weather", `{"location":"Paris"}`}}, Stop: "max_output_tokens", Input: 10, CacheRead: 20, Output: 1, Events: 14}},
		{name: "stored", in: numbered(stored(text)...), want: &Answer{Text: "Hi", Stop: "completed", Input: 10, CacheRead: 20, Output: 1, Store: true, Events: 10}},
		{name: "failed, without usage", in: numbered(responsesText(respEvent{"response.failed", `,"response":` + response("failed", respMessage, `,"error":{"code":"server_error","message":"x"}`)})...),
			want: &Answer{Text: "Hi", Stop: "failed", Error: "server_error", Events: 10}},
		{name: "without response.completed", in: ok[:9], trips: "without a final event"},
		{name: "sequence skips", in: drop(ok, 4), trips: "event 4: sequence_number 5"},
		{name: "name differs from type", in: with(ok, 4, Event{Name: "response.output_text.done", Data: ok[4].Data}), trips: "name \"response.output_text.done\", type"},
		{name: "first event not response.created", in: numbered(text[1:]...), trips: "first event response.in_progress"},
		{name: "without response.in_progress", in: numbered(edit(text, 1, respEvent{})...), trips: "output_item.added 0 with 0 items"},
		{name: "created twice", in: numbered(edit(text, 1, text[0])...), trips: "response.created out of place"},
		{name: "created not in progress", in: numbered(edit(text, 0, respEvent{"response.created", `,"response":` + response("completed", "", "")})...), trips: "bad response.created"},
		{name: "created with output", in: numbered(edit(text, 0, respEvent{"response.created", `,"response":` + response("in_progress", respMessage, "")})...), trips: "output not []"},
		{name: "created without store", in: numbered(edit(text, 0, respEvent{"response.created", `,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}`})...), trips: "response.created store <nil>"},
		{name: "store changes", in: numbered(edit(text, 9, stored(text)[9])...), trips: "store true"},
		{name: "the response id changes", in: numbered(edit(text, 1, respEvent{"response.in_progress", `,"response":` + strings.Replace(response("in_progress", "", ""), "resp_1", "resp_2", 1)})...), trips: `response id "resp_2"`},
		{name: "a response id without resp_", in: numbered(edit(text, 0, respEvent{"response.created", `,"response":` + strings.Replace(response("in_progress", "", ""), "resp_1", "r1", 1)})...), trips: `response id "r1"`},
		{name: "an item without id", in: numbered(edit(text, 2, respEvent{"response.output_item.added", `,"output_index":0,"item":{"type":"message","role":"assistant","status":"in_progress","content":[]}`})...), trips: "item without id"},
		{name: "a message item added completed", in: numbered(edit(text, 2, respEvent{"response.output_item.added", `,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[]}`})...), trips: "bad message item"},
		{name: "a function_call added with arguments", in: numbered(edit(responsesReasoningCall, 8, respEvent{"response.output_item.added", `,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","call_id":"call_1","name":"get_weather","arguments":"{}"}`})...), trips: "bad function_call item"},
		{name: "an unknown item", in: numbered(edit(text, 2, respEvent{"response.output_item.added", `,"output_index":0,"item":{"id":"ws_1","type":"web_search_call"}`})...), trips: "item type web_search_call"},
		{name: "an event for another item", in: numbered(edit(text, 4, respEvent{"response.output_text.delta", `,"output_index":1,"item_id":"msg_1","content_index":0,"delta":"H"`})...), trips: "output_index 1 is not the open item"},
		{name: "an item_id of another item", in: numbered(edit(text, 4, respEvent{"response.output_text.delta", `,"output_index":0,"item_id":"msg_2","content_index":0,"delta":"H"`})...), trips: "item_id msg_2, want msg_1"},
		{name: "an event outside an item", in: numbered(edit(text, 4, respEvent{"response.output_text.delta", `,"delta":"H"`})...), trips: "response.output_text.delta outside an item"},
		{name: "a second part", in: numbered(edit(text, 4, text[3])...), trips: "a second part"},
		{name: "text before its part", in: numbered(edit(text, 3, respEvent{})...), trips: "on a message item with 0 parts"},
		{name: "arguments on a message", in: numbered(edit(text, 4, respEvent{"response.function_call_arguments.delta", `,"output_index":0,"item_id":"msg_1","delta":"H"`})...), trips: "response.function_call_arguments.delta on a message item"},
		{name: "done text differs", in: numbered(edit(text, 6, respEvent{"response.output_text.done", `,"output_index":0,"item_id":"msg_1","content_index":0,"text":"Ho"`})...), trips: `response.output_text.done "Ho", deltas gave "Hi"`},
		{name: "done part differs", in: numbered(edit(text, 7, respEvent{"response.content_part.done", `,"output_index":0,"item_id":"msg_1","content_index":0,"part":{"type":"output_text","text":"Ho"}`})...), trips: "part text Ho"},
		{name: "done arguments differ", in: numbered(edit(responsesReasoningCall, 11, respEvent{"response.function_call_arguments.done", `,"output_index":1,"item_id":"fc_1","arguments":"{}"`})...), trips: "response.function_call_arguments.done \"{}\""},
		{name: "done summary differs", in: numbered(edit(responsesReasoningCall, 5, respEvent{"response.reasoning_summary_text.done", `,"output_index":0,"item_id":"rs_1","summary_index":0,"text":"Hmm."`})...), trips: "response.reasoning_summary_text.done \"Hmm.\""},
		{name: "done message differs", in: numbered(edit(text, 8, respEvent{"response.output_item.done", `,"output_index":0,"item":` + strings.Replace(respMessage, `"Hi"`, `"Ho"`, 1)})...), trips: "done message"},
		{name: "done function_call differs", in: numbered(edit(responsesReasoningCall, 12, respEvent{"response.output_item.done", `,"output_index":1,"item":` + strings.Replace(respCall, `"arguments":"{\"location\":\"Paris\"}"`, `"arguments":"{}"`, 1)})...), trips: "done function_call"},
		{name: "output_item.done of another item", in: numbered(edit(text, 8, respEvent{"response.output_item.done", `,"output_index":0,"item":` + strings.Replace(respMessage, "msg_1", "msg_2", 1)})...), trips: "output_item.done of another item"},
		{name: "the final event with an item open", in: numbered(edit(text, 8, respEvent{})...), trips: "response.completed with item 0 open"},
		{name: "the final status differs", in: numbered(responsesText(respEvent{"response.completed", `,"response":` + response("incomplete", respMessage, respUsage)})...), trips: "response.completed with status incomplete"},
		{name: "final output differs", in: numbered(responsesText(respEvent{"response.completed", `,"response":` + response("completed", "", respUsage)})...), trips: "final output has 0 items, 1 streamed"},
		{name: "final item differs", in: numbered(responsesText(respEvent{"response.completed", `,"response":` + response("completed", strings.Replace(respMessage, `"annotations":[]`, `"annotations":[1]`, 1), respUsage)})...), trips: "differs from the streamed"},
		{name: "completed without usage", in: numbered(responsesText(respEvent{"response.completed", `,"response":` + response("completed", respMessage, "")})...), trips: "response completed without usage"},
		{name: "usage does not add up", in: numbered(responsesText(respEvent{"response.completed", `,"response":` + response("completed", respMessage, `,"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":5}`)})...), trips: "total_tokens does not add up"},
		{name: "an event after the final one", in: plus(ok, numbered(append(text, text[4])...)[10]), trips: "after the final event"},
		{name: "an unknown event", in: numbered(edit(text, 7, respEvent{"response.output_text.annotation.added", `,"output_index":0,"item_id":"msg_1"`})...), trips: "unexpected response.output_text.annotation.added"},
	})
}

func TestReadResponsesJSON(t *testing.T) {
	check(t, jsonReader(ReadResponsesJSON), []readCase{
		{name: "text", in: body(response("completed", respMessage, respUsage)), want: &Answer{Text: "Hi", Stop: "completed", Input: 10, CacheRead: 20, Output: 1}},
		{name: "reasoning and a call", in: body(response("completed", respReasoning+","+respCall, respUsage)), want: &Answer{Thinking: "Hm.", Calls: []Call{{"call_1", "get_weather", `{"location":"Paris"}`}}, Stop: "completed", Input: 10, CacheRead: 20, Output: 1}},
		{name: "failed", in: body(response("failed", "", `,"error":{"code":"server_error"}`)), want: &Answer{Stop: "failed", Error: "server_error"}},
		{name: "not a response", in: body(`{"id":"chatcmpl-1","object":"chat.completion"}`), trips: "not a response object"},
		{name: "incomplete without a reason", in: body(response("incomplete", respMessage, `,"incomplete_details":{}`+respUsage)), trips: "incomplete_details without a reason"},
		{name: "a message in progress", in: body(response("completed", strings.Replace(respMessage, "completed", "in_progress", 1), respUsage)), trips: "message item"},
		{name: "a refusal part", in: body(response("completed", `{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"refusal","refusal":"no"}]}`, respUsage)), trips: "content part"},
		{name: "a function_call without call_id", in: body(response("completed", strings.Replace(respCall, `"call_id":"call_1",`, "", 1), respUsage)), trips: "function_call item"},
		{name: "an unknown item", in: body(response("completed", `{"id":"ws_1","type":"web_search_call"}`, respUsage)), trips: "output item web_search_call"},
		{name: "without usage", in: body(response("completed", respMessage, "")), trips: "response completed without usage"},
	})
}
