package streamcheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// ReadResponsesJSON reads a Responses API response object.
func ReadResponsesJSON(b []byte) (Answer, error) {
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		return Answer{}, err
	}
	return readResponse(r)
}

// readResponse reads a finished response object: a resp_ id, message
// items from the assistant with output_text parts, function calls with a
// call_id, a name and an arguments object, all completed; usage that adds
// up, which only a failed response may lack.
func readResponse(r map[string]any) (Answer, error) {
	var a Answer
	id, _ := r["id"].(string)
	if r["object"] != "response" || !strings.HasPrefix(id, "resp_") || len(id) < 6 {
		return a, fmt.Errorf("not a response object (id %q)", id)
	}
	a.Store, _ = r["store"].(bool)
	status, _ := r["status"].(string)
	a.Stop = status
	if d, ok := r["incomplete_details"].(map[string]any); ok {
		if a.Stop, _ = d["reason"].(string); a.Stop == "" {
			return a, fmt.Errorf("incomplete_details without a reason")
		}
	}
	if status == "failed" {
		er, _ := r["error"].(map[string]any)
		a.Error, _ = er["code"].(string)
	}
	out, ok := r["output"].([]any)
	if !ok {
		return a, fmt.Errorf("response output not a list")
	}
	for _, o := range out {
		it, _ := o.(map[string]any)
		switch it["type"] {
		case "message":
			if it["role"] != "assistant" || it["status"] != "completed" {
				return a, fmt.Errorf("message item %v", it)
			}
			parts, _ := it["content"].([]any)
			for _, p := range parts {
				pm, _ := p.(map[string]any)
				s, ok := pm["text"].(string)
				if pm["type"] != "output_text" || !ok {
					return a, fmt.Errorf("content part %v", pm)
				}
				a.Text += s
			}
		case "reasoning":
			summary, ok := it["summary"].([]any)
			if !ok {
				return a, fmt.Errorf("reasoning item without a summary list: %v", it)
			}
			for _, p := range summary {
				pm, _ := p.(map[string]any)
				s, ok := pm["text"].(string)
				if pm["type"] != "summary_text" || !ok {
					return a, fmt.Errorf("summary part %v", pm)
				}
				a.Thinking += s
			}
		case "function_call":
			callID, _ := it["call_id"].(string)
			name, _ := it["name"].(string)
			args, _ := it["arguments"].(string)
			if callID == "" || name == "" || it["status"] != "completed" || !jsonObject(args) {
				return a, fmt.Errorf("function_call item %v", it)
			}
			a.Calls = append(a.Calls, Call{callID, name, args})
		default:
			return a, fmt.Errorf("output item %v", it["type"])
		}
	}
	u, ok := r["usage"].(map[string]any)
	if !ok {
		if status == "failed" {
			return a, nil
		}
		return a, fmt.Errorf("response %s without usage", status)
	}
	if num(u, "total_tokens") != num(u, "input_tokens")+num(u, "output_tokens") {
		return a, fmt.Errorf("total_tokens does not add up: %v", u)
	}
	a.CacheRead = num(u["input_tokens_details"], "cached_tokens")
	a.CacheWrite = num(u["input_tokens_details"], "cache_write_tokens")
	a.Input = num(u, "input_tokens") - a.CacheRead - a.CacheWrite
	a.Output = num(u, "output_tokens")
	return a, nil
}

// ReadResponsesStream reads a Responses event stream as the openai SDK's
// ResponseStream does, and stricter: names equal to types, sequence
// numbers 0, 1, 2…, response.created then response.in_progress (each in
// progress, with no output, one resp_ id and one store flag), an item's
// events between its output_item.added and output_item.done (one part,
// deltas of the item's own kind that add up to each .done text), and a
// final response.completed, .incomplete or .failed, last, whose output is
// the items streamed and which reads as ReadResponsesJSON reads one.
func ReadResponsesStream(evs []Event) (Answer, error) {
	type itemState struct {
		item   map[string]any
		text   string // output_text, summary text or arguments, from deltas
		parts  int    // content or summary parts added
		closed bool
	}
	var items []*itemState
	var respID string
	var store any
	var final map[string]any
	stage := 0 // 0 before response.created, 1 after it, 2 after in_progress, 3 after the final event
	open := -1
	for i, e := range evs {
		var ev map[string]any
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
			return Answer{}, fmt.Errorf("event %d: %v: %s", i, err, e.Data)
		}
		typ, _ := ev["type"].(string)
		if typ != e.Name {
			return Answer{}, fmt.Errorf("event %d: name %q, type %q", i, e.Name, typ)
		}
		if stage == 3 {
			return Answer{}, fmt.Errorf("event %d after the final event: %s", i, e.Data)
		}
		if n, ok := ev["sequence_number"].(float64); !ok || int(n) != i {
			return Answer{}, fmt.Errorf("event %d: sequence_number %v", i, ev["sequence_number"])
		}
		if i == 0 && typ != "response.created" {
			return Answer{}, fmt.Errorf("first event %s, not response.created", typ)
		}
		idx := -1
		if f, ok := ev["output_index"].(float64); ok {
			idx = int(f)
		}
		var it *itemState
		if typ != "response.output_item.added" && idx >= 0 {
			if idx >= len(items) || idx != open || items[idx].closed {
				return Answer{}, fmt.Errorf("event %d: output_index %d is not the open item (%d): %s", i, idx, open, e.Data)
			}
			it = items[idx]
			if id, _ := it.item["id"].(string); ev["item_id"] != nil && ev["item_id"] != id {
				return Answer{}, fmt.Errorf("event %d: item_id %v, want %s", i, ev["item_id"], id)
			}
		}
		switch typ {
		case "response.created", "response.in_progress", "response.output_item.added",
			"response.completed", "response.incomplete", "response.failed":
		default:
			if it == nil {
				return Answer{}, fmt.Errorf("event %d: %s outside an item", i, typ)
			}
		}
		resp, _ := ev["response"].(map[string]any)
		switch typ {
		case "response.created", "response.in_progress":
			if stage != map[string]int{"response.created": 0, "response.in_progress": 1}[typ] {
				return Answer{}, fmt.Errorf("event %d: %s out of place", i, typ)
			}
			stage++
			if resp["object"] != "response" || resp["status"] != "in_progress" {
				return Answer{}, fmt.Errorf("bad %s: %s", typ, e.Data)
			}
			if s, ok := resp["store"].(bool); !ok || store != nil && s != store {
				return Answer{}, fmt.Errorf("%s store %v, was %v", typ, resp["store"], store)
			}
			store = resp["store"]
			if out, ok := resp["output"].([]any); !ok || len(out) != 0 {
				return Answer{}, fmt.Errorf("%s output not []: %s", typ, e.Data)
			}
			id, _ := resp["id"].(string)
			if respID != "" && id != respID || len(id) < 6 || !strings.HasPrefix(id, "resp_") {
				return Answer{}, fmt.Errorf("response id %q", id)
			}
			respID = id
		case "response.output_item.added":
			if stage != 2 || open >= 0 || idx != len(items) {
				return Answer{}, fmt.Errorf("event %d: output_item.added %d with %d items, %d open", i, idx, len(items), open)
			}
			item, _ := ev["item"].(map[string]any)
			if id, _ := item["id"].(string); id == "" {
				return Answer{}, fmt.Errorf("item without id: %s", e.Data)
			}
			switch item["type"] {
			case "message":
				if c, ok := item["content"].([]any); item["status"] != "in_progress" || item["role"] != "assistant" || !ok || len(c) != 0 {
					return Answer{}, fmt.Errorf("bad message item: %s", e.Data)
				}
			case "reasoning":
				if s, ok := item["summary"].([]any); !ok || len(s) != 0 {
					return Answer{}, fmt.Errorf("bad reasoning item: %s", e.Data)
				}
			case "function_call":
				if id, _ := item["call_id"].(string); item["status"] != "in_progress" || item["arguments"] != "" || id == "" || item["name"] == nil {
					return Answer{}, fmt.Errorf("bad function_call item: %s", e.Data)
				}
			default:
				return Answer{}, fmt.Errorf("item type %v", item["type"])
			}
			items = append(items, &itemState{item: item})
			open = idx
		case "response.content_part.added", "response.reasoning_summary_part.added":
			want := map[string]string{"response.content_part.added": "message", "response.reasoning_summary_part.added": "reasoning"}[typ]
			if it.item["type"] != want || ev["content_index"] != 0.0 && ev["summary_index"] != 0.0 || it.parts != 0 {
				return Answer{}, fmt.Errorf("event %d: a second part, or one on a %v item: %s", i, it.item["type"], e.Data)
			}
			it.parts++
		case "response.output_text.delta", "response.reasoning_summary_text.delta", "response.function_call_arguments.delta":
			want := map[string]string{"response.output_text.delta": "message", "response.reasoning_summary_text.delta": "reasoning", "response.function_call_arguments.delta": "function_call"}[typ]
			if it.item["type"] != want || want != "function_call" && it.parts != 1 {
				return Answer{}, fmt.Errorf("event %d: %s on a %v item with %d parts", i, typ, it.item["type"], it.parts)
			}
			d, _ := ev["delta"].(string)
			it.text += d
		case "response.output_text.done", "response.reasoning_summary_text.done", "response.function_call_arguments.done":
			key := "text"
			if typ == "response.function_call_arguments.done" {
				key = "arguments"
			}
			if got, _ := ev[key].(string); got != it.text {
				return Answer{}, fmt.Errorf("event %d: %s %q, deltas gave %q", i, typ, got, it.text)
			}
		case "response.content_part.done", "response.reasoning_summary_part.done":
			part, _ := ev["part"].(map[string]any)
			if part["text"] != it.text {
				return Answer{}, fmt.Errorf("event %d: part text %v, deltas gave %q", i, part["text"], it.text)
			}
		case "response.output_item.done":
			item, _ := ev["item"].(map[string]any)
			if item["id"] != it.item["id"] || item["type"] != it.item["type"] {
				return Answer{}, fmt.Errorf("event %d: output_item.done of another item: %s", i, e.Data)
			}
			switch item["type"] {
			case "message":
				if text, one := onlyText(item["content"]); item["status"] != "completed" || !one || text != it.text {
					return Answer{}, fmt.Errorf("done message %s, deltas gave %q", e.Data, it.text)
				}
			case "reasoning":
				if text, one := onlyText(item["summary"]); !one || text != it.text {
					return Answer{}, fmt.Errorf("done reasoning %s, deltas gave %q", e.Data, it.text)
				}
			case "function_call":
				args, _ := item["arguments"].(string)
				if item["status"] != "completed" || args != it.text || !jsonObject(args) {
					return Answer{}, fmt.Errorf("done function_call %s, deltas gave %q", e.Data, it.text)
				}
			}
			it.item, it.closed, open = item, true, -1
		case "response.completed", "response.incomplete", "response.failed":
			if stage != 2 || open >= 0 {
				return Answer{}, fmt.Errorf("event %d: %s with item %d open", i, typ, open)
			}
			stage = 3
			if "response."+fmt.Sprint(resp["status"]) != typ || resp["id"] != respID || resp["store"] != store {
				return Answer{}, fmt.Errorf("event %d: %s with status %v, id %v, store %v: %s", i, typ, resp["status"], resp["id"], resp["store"], e.Data)
			}
			out, _ := resp["output"].([]any)
			if len(out) != len(items) {
				return Answer{}, fmt.Errorf("final output has %d items, %d streamed", len(out), len(items))
			}
			for k, o := range out {
				if !reflect.DeepEqual(o, items[k].item) {
					return Answer{}, fmt.Errorf("final output[%d] %v differs from the streamed %v", k, o, items[k].item)
				}
			}
			final = resp
		default:
			return Answer{}, fmt.Errorf("event %d: unexpected %s", i, typ)
		}
	}
	if final == nil {
		return Answer{}, fmt.Errorf("stream without a final event")
	}
	a, err := readResponse(final)
	a.Events = len(evs)
	return a, err
}

// onlyText returns the text of the one part in parts, if it is a list of
// one part with a text.
func onlyText(parts any) (string, bool) {
	list, _ := parts.([]any)
	if len(list) != 1 {
		return "", false
	}
	p, _ := list[0].(map[string]any)
	text, ok := p["text"].(string)
	return text, ok
}
