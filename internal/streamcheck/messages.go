package streamcheck

import (
	"encoding/json"
	"fmt"
	"strings"
)

// anthropicUsage sets a's usage from the counts u has, as the SDK does:
// a count present, even 0, replaces the one read before.
func anthropicUsage(a *Answer, u map[string]any) {
	get := func(k string, dst *int64) {
		if f, ok := u[k].(float64); ok {
			*dst = int64(f)
		}
	}
	get("input_tokens", &a.Input)
	get("cache_read_input_tokens", &a.CacheRead)
	get("cache_creation_input_tokens", &a.CacheWrite)
	get("output_tokens", &a.Output)
}

// ReadMessagesJSON reads an Anthropic message: an id (a translated one
// keeps the provider's, chatcmpl-… or resp_…: the SDKs read any), the
// assistant's role, a model, text, thinking and tool_use blocks (each
// tool_use with id, name and an input object), a stop_reason and usage.
func ReadMessagesJSON(b []byte) (Answer, error) {
	var a Answer
	var m struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Role    string `json:"role"`
		Model   string `json:"model"`
		Content []struct {
			Type     string          `json:"type"`
			Text     string          `json:"text"`
			Thinking string          `json:"thinking"`
			ID       string          `json:"id"`
			Name     string          `json:"name"`
			Input    json.RawMessage `json:"input"`
		} `json:"content"`
		StopReason string         `json:"stop_reason"`
		Usage      map[string]any `json:"usage"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return a, err
	}
	if m.ID == "" || m.Type != "message" || m.Role != "assistant" || m.Model == "" || m.StopReason == "" || m.Usage == nil {
		return a, fmt.Errorf("not a message with id, role, model, stop_reason and usage")
	}
	for _, c := range m.Content {
		switch c.Type {
		case "text":
			a.Text += c.Text
		case "thinking":
			a.Thinking += c.Thinking
		case "tool_use":
			if c.ID == "" || c.Name == "" || !jsonObject(string(c.Input)) {
				return a, fmt.Errorf("tool_use without id, name or an input object")
			}
			a.Calls = append(a.Calls, Call{c.ID, c.Name, string(c.Input)})
		default:
			return a, fmt.Errorf("content block %q", c.Type)
		}
	}
	if _, ok := m.Usage["output_tokens"].(float64); !ok {
		return a, fmt.Errorf("usage without output_tokens")
	}
	a.Stop = m.StopReason
	anthropicUsage(&a, m.Usage)
	return a, nil
}

// ReadMessagesStream reads an Anthropic stream as @anthropic-ai/sdk's
// MessageStream does, and stricter: event names equal to the data's type,
// message_start first (an id, the assistant's role, no content, usage),
// blocks opened, filled and closed in order, deltas of the block's own
// kind, tool inputs that make a JSON object, message_delta with
// usage.output_tokens, message_stop last. An error event ends the stream
// and is returned as Answer.Error.
func ReadMessagesStream(evs []Event) (Answer, error) {
	var a Answer
	type block struct {
		typ  string
		json strings.Builder
	}
	var blocks []*block
	open, stage := -1, 0 // 0 before message_start, 1 content, 2 after message_delta, 3 after message_stop
	for i, e := range evs {
		var ev map[string]any
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.Data)
		}
		typ, _ := ev["type"].(string)
		if typ != e.Name {
			return a, fmt.Errorf("event %d: name %q, type %q", i, e.Name, typ)
		}
		if stage == 3 {
			return a, fmt.Errorf("event %d after message_stop: %s", i, e.Data)
		}
		idx := -1
		if f, ok := ev["index"].(float64); ok {
			idx = int(f)
		}
		switch typ {
		case "message_start":
			if stage != 0 {
				return a, fmt.Errorf("event %d: a second message_start", i)
			}
			stage = 1
			m, _ := ev["message"].(map[string]any)
			id, _ := m["id"].(string)
			if m["type"] != "message" || m["role"] != "assistant" || id == "" {
				return a, fmt.Errorf("bad message_start: %s", e.Data)
			}
			if c, ok := m["content"].([]any); !ok || len(c) != 0 {
				return a, fmt.Errorf("message_start content not []: %s", e.Data)
			}
			u, ok := m["usage"].(map[string]any)
			if !ok {
				return a, fmt.Errorf("message_start without usage: %s", e.Data)
			}
			anthropicUsage(&a, u)
		case "content_block_start":
			if stage != 1 || open >= 0 || idx != len(blocks) {
				return a, fmt.Errorf("event %d: content_block_start %d with %d blocks, %d open", i, idx, len(blocks), open)
			}
			cb, _ := ev["content_block"].(map[string]any)
			b := &block{}
			b.typ, _ = cb["type"].(string)
			switch b.typ {
			case "tool_use":
				id, _ := cb["id"].(string)
				name, _ := cb["name"].(string)
				if id == "" || name == "" {
					return a, fmt.Errorf("tool_use without id or name: %s", e.Data)
				}
				a.Calls = append(a.Calls, Call{ID: id, Name: name})
			case "text", "thinking":
			default:
				return a, fmt.Errorf("unexpected block %s", e.Data)
			}
			blocks = append(blocks, b)
			open = idx
		case "content_block_delta":
			if idx != open || idx < 0 {
				return a, fmt.Errorf("event %d: delta for %d, %d open", i, idx, open)
			}
			d, _ := ev["delta"].(map[string]any)
			b := blocks[idx]
			field := map[string]string{"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature", "input_json_delta": "partial_json"}
			dt, _ := d["type"].(string)
			s, isString := d[field[dt]].(string)
			switch {
			case !isString:
				return a, fmt.Errorf("delta %q without its %q: %s", dt, field[dt], e.Data)
			case dt == "text_delta" && b.typ == "text":
				a.Text += s
			case dt == "thinking_delta" && b.typ == "thinking":
				a.Thinking += s
			case dt == "signature_delta" && b.typ == "thinking":
			case dt == "input_json_delta" && b.typ == "tool_use":
				b.json.WriteString(s)
			default:
				return a, fmt.Errorf("delta %v for a %s block", dt, b.typ)
			}
		case "content_block_stop":
			if idx != open || idx < 0 {
				return a, fmt.Errorf("event %d: stop for %d, %d open", i, idx, open)
			}
			if b := blocks[idx]; b.typ == "tool_use" {
				in := b.json.String()
				if in == "" {
					in = "{}"
				}
				if !jsonObject(in) {
					return a, fmt.Errorf("tool input %q: not a JSON object", in)
				}
				a.Calls[len(a.Calls)-1].Args = in
			}
			open = -1
		case "message_delta":
			if stage != 1 || open >= 0 {
				return a, fmt.Errorf("event %d: message_delta in stage %d with block %d open", i, stage, open)
			}
			stage = 2
			d, _ := ev["delta"].(map[string]any)
			a.Stop, _ = d["stop_reason"].(string)
			u, ok := ev["usage"].(map[string]any)
			if _, isNum := u["output_tokens"].(float64); !ok || !isNum {
				return a, fmt.Errorf("message_delta without usage.output_tokens: %s", e.Data)
			}
			anthropicUsage(&a, u)
		case "message_stop":
			if stage != 2 {
				return a, fmt.Errorf("event %d: message_stop before message_delta", i)
			}
			stage = 3
		case "error":
			er, _ := ev["error"].(map[string]any)
			a.Error, _ = er["type"].(string)
			if i != len(evs)-1 {
				return a, fmt.Errorf("event %d: events after an error", i)
			}
			return a, nil
		case "ping":
		default:
			return a, fmt.Errorf("event %d: unexpected %s: %s", i, typ, e.Data)
		}
		a.Events++
	}
	if stage != 3 {
		return a, fmt.Errorf("stream ended before message_stop (stage %d)", stage)
	}
	return a, nil
}
