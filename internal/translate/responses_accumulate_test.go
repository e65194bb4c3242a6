package translate

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// readResponses accumulates a Responses API stream as the openai SDK's
// ResponseStream does, and stricter: it fails on anything that helper
// would choke on or the API would never send (sequence numbers that skip,
// an item's events before its output_item.added or after its
// output_item.done, deltas that do not add up to the .done text, a final
// response whose output differs from the items streamed).
func readResponses(evs []event) (answer, error) {
	var a answer
	type itemState struct {
		item   map[string]any
		text   string // output_text, summary text or arguments, from deltas
		parts  int    // content or summary parts added
		closed bool
	}
	var items []*itemState
	var respID string
	seq := 0
	stage := 0 // 0 before response.created, 1 after it, 2 after in_progress, 3 after the final event
	open := -1
	for i, e := range evs {
		var ev map[string]any
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.data)
		}
		typ, _ := ev["type"].(string)
		if typ != e.name {
			return a, fmt.Errorf("event %d: name %q, type %q", i, e.name, typ)
		}
		if stage == 3 {
			return a, fmt.Errorf("event %d after the final event: %s", i, e.data)
		}
		if n, ok := ev["sequence_number"].(float64); !ok || int(n) != seq {
			return a, fmt.Errorf("event %d: sequence_number %v, want %d", i, ev["sequence_number"], seq)
		}
		seq++
		a.Events++
		idx := -1
		if f, ok := ev["output_index"].(float64); ok {
			idx = int(f)
		}
		var it *itemState
		if typ != "response.output_item.added" && idx >= 0 {
			if idx >= len(items) || items[idx].closed || idx != open {
				return a, fmt.Errorf("event %d: output_index %d is not the open item: %s", i, idx, e.data)
			}
			it = items[idx]
			if id, _ := it.item["id"].(string); ev["item_id"] != nil && ev["item_id"] != id {
				return a, fmt.Errorf("event %d: item_id %v, want %s", i, ev["item_id"], id)
			}
		}
		resp, _ := ev["response"].(map[string]any)
		switch typ {
		case "response.created", "response.in_progress":
			if stage != map[string]int{"response.created": 0, "response.in_progress": 1}[typ] {
				return a, fmt.Errorf("event %d: %s out of place", i, typ)
			}
			stage++
			if resp["object"] != "response" || resp["status"] != "in_progress" || resp["store"] != false {
				return a, fmt.Errorf("bad %s: %s", typ, e.data)
			}
			if out, ok := resp["output"].([]any); !ok || len(out) != 0 {
				return a, fmt.Errorf("%s output not []: %s", typ, e.data)
			}
			id, _ := resp["id"].(string)
			if respID != "" && id != respID || len(id) < 6 || id[:5] != "resp_" {
				return a, fmt.Errorf("response id %q", id)
			}
			respID = id
		case "response.output_item.added":
			if stage != 2 || open >= 0 || idx != len(items) {
				return a, fmt.Errorf("event %d: output_item.added index %d with %d items, open %d", i, idx, len(items), open)
			}
			item, _ := ev["item"].(map[string]any)
			if id, _ := item["id"].(string); id == "" {
				return a, fmt.Errorf("item without id: %s", e.data)
			}
			switch item["type"] {
			case "message":
				if item["status"] != "in_progress" || item["role"] != "assistant" || len(item["content"].([]any)) != 0 {
					return a, fmt.Errorf("bad message item: %s", e.data)
				}
			case "reasoning":
				if s, ok := item["summary"].([]any); !ok || len(s) != 0 {
					return a, fmt.Errorf("bad reasoning item: %s", e.data)
				}
			case "function_call":
				if item["status"] != "in_progress" || item["arguments"] != "" || item["call_id"] == "" || item["name"] == nil {
					return a, fmt.Errorf("bad function_call item: %s", e.data)
				}
			default:
				return a, fmt.Errorf("item type %v", item["type"])
			}
			items = append(items, &itemState{item: item})
			open = idx
		case "response.content_part.added", "response.reasoning_summary_part.added":
			if ev["content_index"] != 0.0 && ev["summary_index"] != 0.0 || it.parts != 0 {
				return a, fmt.Errorf("event %d: a second part: %s", i, e.data)
			}
			it.parts++
		case "response.output_text.delta", "response.reasoning_summary_text.delta", "response.function_call_arguments.delta":
			want := map[string]string{"response.output_text.delta": "message", "response.reasoning_summary_text.delta": "reasoning", "response.function_call_arguments.delta": "function_call"}[typ]
			if it.item["type"] != want || want != "function_call" && it.parts != 1 {
				return a, fmt.Errorf("event %d: %s on a %v item with %d parts", i, typ, it.item["type"], it.parts)
			}
			d, _ := ev["delta"].(string)
			it.text += d
		case "response.output_text.done", "response.reasoning_summary_text.done", "response.function_call_arguments.done":
			key := "text"
			if typ == "response.function_call_arguments.done" {
				key = "arguments"
			}
			got, _ := ev[key].(string)
			if got != it.text && !(key == "arguments" && it.text == "" && got == "{}") {
				return a, fmt.Errorf("event %d: %s %q, deltas gave %q", i, typ, got, it.text)
			}
		case "response.content_part.done", "response.reasoning_summary_part.done":
			part, _ := ev["part"].(map[string]any)
			if part["text"] != it.text {
				return a, fmt.Errorf("event %d: part text %v, deltas gave %q", i, part["text"], it.text)
			}
		case "response.output_item.done":
			item, _ := ev["item"].(map[string]any)
			if item["id"] != it.item["id"] || item["type"] != it.item["type"] {
				return a, fmt.Errorf("event %d: output_item.done of another item: %s", i, e.data)
			}
			switch item["type"] {
			case "message":
				c, _ := item["content"].([]any)
				if item["status"] != "completed" || len(c) != 1 || c[0].(map[string]any)["text"] != it.text {
					return a, fmt.Errorf("bad done message: %s", e.data)
				}
				a.Text += it.text
			case "reasoning":
				s, _ := item["summary"].([]any)
				if len(s) != 1 || s[0].(map[string]any)["text"] != it.text {
					return a, fmt.Errorf("bad done reasoning: %s", e.data)
				}
				a.Thinking += it.text
			case "function_call":
				args, _ := item["arguments"].(string)
				var v map[string]any
				if item["status"] != "completed" || json.Unmarshal([]byte(args), &v) != nil {
					return a, fmt.Errorf("bad done function_call: %s", e.data)
				}
				a.Tools = append(a.Tools, toolCall{ID: item["call_id"].(string), Name: item["name"].(string), Input: args})
			}
			it.item = item
			it.closed = true
			open = -1
		case "response.completed", "response.incomplete", "response.failed":
			if stage != 2 || open >= 0 {
				return a, fmt.Errorf("event %d: %s with item %d open", i, typ, open)
			}
			stage = 3
			status, _ := resp["status"].(string)
			if "response."+status != typ || resp["id"] != respID {
				return a, fmt.Errorf("event %d: %s with status %s: %s", i, typ, status, e.data)
			}
			out, _ := resp["output"].([]any)
			if len(out) != len(items) {
				return a, fmt.Errorf("final output has %d items, %d streamed", len(out), len(items))
			}
			for k, o := range out {
				if !reflect.DeepEqual(o, items[k].item) {
					return a, fmt.Errorf("final output[%d] %v differs from the streamed %v", k, o, items[k].item)
				}
			}
			a.Stop = status
			if d, ok := resp["incomplete_details"].(map[string]any); ok {
				a.Stop = d["reason"].(string)
			}
			if typ == "response.failed" {
				er, _ := resp["error"].(map[string]any)
				a.Error, _ = er["code"].(string)
			}
			if u, ok := resp["usage"].(map[string]any); ok {
				num := func(m any, k string) int64 {
					f, _ := m.(map[string]any)[k].(float64)
					return int64(f)
				}
				if num(u, "total_tokens") != num(u, "input_tokens")+num(u, "output_tokens") {
					return a, fmt.Errorf("total_tokens does not add up: %v", u)
				}
				a.CacheRead = num(u["input_tokens_details"], "cached_tokens")
				a.CacheWrite = num(u["input_tokens_details"], "cache_write_tokens")
				a.Input = num(u, "input_tokens") - a.CacheRead - a.CacheWrite
				a.Output = num(u, "output_tokens")
			} else if typ != "response.failed" {
				return a, fmt.Errorf("%s without usage", typ)
			}
		default:
			return a, fmt.Errorf("event %d: unexpected %s", i, typ)
		}
	}
	if stage != 3 {
		return a, fmt.Errorf("stream without a final event")
	}
	return a, nil
}
