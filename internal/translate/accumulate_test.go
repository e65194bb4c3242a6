package translate

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Accumulators that read a client stream the way the SDKs' stream helpers
// do (@anthropic-ai/sdk's MessageStream, openai's ChatCompletionStream),
// and stricter: they fail on anything those helpers would choke on or a
// real provider would never send.

type toolCall struct {
	ID, Name string
	Input    string // JSON text
}

// answer is a stream read back into one message.
type answer struct {
	Text, Thinking string
	Tools          []toolCall
	Stop           string // stop_reason or finish_reason
	Input          int64  // input_tokens, or prompt_tokens
	CacheRead      int64
	CacheWrite     int64
	Output         int64
	Error          string // the type of an error event
	Events         int
}

// readMessages accumulates an Anthropic Messages stream.
func readMessages(evs []event) (answer, error) {
	var a answer
	type blockState struct {
		typ  string
		json strings.Builder
	}
	var blocks []*blockState
	open := -1
	stage := 0 // 0 before message_start, 1 content, 2 after message_delta, 3 after message_stop
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
			return a, fmt.Errorf("event %d after message_stop: %s", i, e.data)
		}
		idx := -1
		if f, ok := ev["index"].(float64); ok {
			idx = int(f)
		}
		switch typ {
		case "message_start":
			if stage != 0 {
				return a, fmt.Errorf("event %d: second message_start", i)
			}
			stage = 1
			m, _ := ev["message"].(map[string]any)
			if m["type"] != "message" || m["role"] != "assistant" || m["id"] == "" {
				return a, fmt.Errorf("bad message_start: %s", e.data)
			}
			if c, ok := m["content"].([]any); !ok || len(c) != 0 {
				return a, fmt.Errorf("message_start content not []: %s", e.data)
			}
			u, ok := m["usage"].(map[string]any)
			if !ok {
				return a, fmt.Errorf("message_start without usage: %s", e.data)
			}
			readAnthropicUsage(&a, u)
		case "content_block_start":
			if stage != 1 || open >= 0 || idx != len(blocks) {
				return a, fmt.Errorf("event %d: content_block_start index %d with %d blocks, open %d", i, idx, len(blocks), open)
			}
			cb, _ := ev["content_block"].(map[string]any)
			b := &blockState{typ: cb["type"].(string)}
			switch b.typ {
			case "tool_use":
				if cb["id"] == "" || cb["name"] == "" {
					return a, fmt.Errorf("tool_use without id or name: %s", e.data)
				}
				a.Tools = append(a.Tools, toolCall{ID: cb["id"].(string), Name: cb["name"].(string)})
			case "text", "thinking":
			default:
				return a, fmt.Errorf("unexpected block %s", e.data)
			}
			blocks = append(blocks, b)
			open = idx
		case "content_block_delta":
			if idx != open {
				return a, fmt.Errorf("event %d: delta for %d, open %d", i, idx, open)
			}
			d, _ := ev["delta"].(map[string]any)
			b := blocks[idx]
			switch dt := d["type"]; {
			case dt == "text_delta" && b.typ == "text":
				a.Text += d["text"].(string)
			case dt == "thinking_delta" && b.typ == "thinking":
				a.Thinking += d["thinking"].(string)
			case dt == "signature_delta" && b.typ == "thinking":
			case dt == "input_json_delta" && b.typ == "tool_use":
				b.json.WriteString(d["partial_json"].(string))
			default:
				return a, fmt.Errorf("delta %v for a %s block", dt, b.typ)
			}
		case "content_block_stop":
			if idx != open {
				return a, fmt.Errorf("event %d: stop for %d, open %d", i, idx, open)
			}
			if b := blocks[idx]; b.typ == "tool_use" {
				in := b.json.String()
				if in == "" {
					in = "{}"
				}
				var v map[string]any
				if err := json.Unmarshal([]byte(in), &v); err != nil {
					return a, fmt.Errorf("tool input %q: %v", in, err)
				}
				a.Tools[len(a.Tools)-1].Input = in
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
				return a, fmt.Errorf("message_delta without usage.output_tokens: %s", e.data)
			}
			readAnthropicUsage(&a, u)
		case "message_stop":
			if stage != 2 {
				return a, fmt.Errorf("event %d: message_stop before message_delta", i)
			}
			stage = 3
		case "error":
			er, _ := ev["error"].(map[string]any)
			a.Error, _ = er["type"].(string)
			if i != len(evs)-1 {
				return a, fmt.Errorf("events after an error")
			}
			return a, nil
		case "ping":
		default:
			return a, fmt.Errorf("unknown event %s", e.name)
		}
		a.Events++
	}
	if stage != 3 {
		return a, fmt.Errorf("stream ended in stage %d", stage)
	}
	return a, nil
}

func readAnthropicUsage(a *answer, u map[string]any) {
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

// readChat accumulates an OpenAI chat-completions stream.
func readChat(evs []event) (answer, error) {
	var a answer
	var id string
	var calls []*toolCall
	finished, usageSeen, doneSeen := false, false, false
	role := ""
	for i, e := range evs {
		if e.name != "" {
			return a, fmt.Errorf("event %d has a name: %s", i, e.name)
		}
		if doneSeen {
			return a, fmt.Errorf("event %d after [DONE]", i)
		}
		if e.data == "[DONE]" {
			doneSeen = true
			continue
		}
		var c struct {
			ID      *string `json:"id"`
			Object  string  `json:"object"`
			Created *int64  `json:"created"`
			Model   *string `json:"model"`
			Choices *[]struct {
				Index int `json:"index"`
				Delta struct {
					Role             string  `json:"role"`
					Content          *string `json:"content"`
					ReasoningContent *string `json:"reasoning_content"`
					ToolCalls        []struct {
						Index    *int    `json:"index"`
						ID       *string `json:"id"`
						Type     *string `json:"type"`
						Function struct {
							Name      *string `json:"name"`
							Arguments *string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens        int64 `json:"prompt_tokens"`
				CompletionTokens    int64 `json:"completion_tokens"`
				TotalTokens         int64 `json:"total_tokens"`
				PromptTokensDetails struct {
					CachedTokens     int64 `json:"cached_tokens"`
					CacheWriteTokens int64 `json:"cache_write_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(e.data), &c); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.data)
		}
		if c.Error != nil {
			a.Error = c.Error.Type
			if i != len(evs)-1 {
				return a, fmt.Errorf("events after an error")
			}
			return a, nil
		}
		if c.ID == nil || c.Object != "chat.completion.chunk" || c.Created == nil || c.Model == nil || c.Choices == nil {
			return a, fmt.Errorf("event %d: not a chunk: %s", i, e.data)
		}
		if id == "" {
			id = *c.ID
		} else if *c.ID != id {
			return a, fmt.Errorf("event %d: id %s, was %s", i, *c.ID, id)
		}
		if c.Usage != nil {
			if len(*c.Choices) != 0 || !finished || usageSeen {
				return a, fmt.Errorf("event %d: misplaced usage chunk: %s", i, e.data)
			}
			usageSeen = true
			u := c.Usage
			if u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				return a, fmt.Errorf("total_tokens does not add up: %s", e.data)
			}
			a.CacheRead = u.PromptTokensDetails.CachedTokens
			a.CacheWrite = u.PromptTokensDetails.CacheWriteTokens
			a.Input = u.PromptTokens - a.CacheRead - a.CacheWrite
			a.Output = u.CompletionTokens
		}
		for _, ch := range *c.Choices {
			if ch.Index != 0 {
				return a, fmt.Errorf("choice %d", ch.Index)
			}
			if finished {
				return a, fmt.Errorf("event %d: choice chunk after finish_reason", i)
			}
			d := ch.Delta
			if role == "" {
				if d.Role != "assistant" {
					return a, fmt.Errorf("first delta without role: %s", e.data)
				}
				role = d.Role
			}
			if d.Content != nil {
				a.Text += *d.Content
			}
			if d.ReasoningContent != nil {
				a.Thinking += *d.ReasoningContent
			}
			for _, tc := range d.ToolCalls {
				if tc.Index == nil {
					return a, fmt.Errorf("tool call delta without index: %s", e.data)
				}
				switch {
				case *tc.Index == len(calls):
					if tc.ID == nil || tc.Type == nil || *tc.Type != "function" || tc.Function.Name == nil {
						return a, fmt.Errorf("first tool call fragment without id, type or name: %s", e.data)
					}
					calls = append(calls, &toolCall{ID: *tc.ID, Name: *tc.Function.Name})
				case *tc.Index > len(calls):
					return a, fmt.Errorf("tool call index %d skips", *tc.Index)
				}
				if tc.Function.Arguments != nil {
					calls[*tc.Index].Input += *tc.Function.Arguments
				}
			}
			if ch.FinishReason != nil {
				finished = true
				a.Stop = *ch.FinishReason
			}
		}
		a.Events++
	}
	if !finished || !doneSeen {
		return a, fmt.Errorf("stream without finish_reason (%v) or [DONE] (%v)", finished, doneSeen)
	}
	for _, c := range calls {
		var v map[string]any
		if err := json.Unmarshal([]byte(c.Input), &v); err != nil {
			return a, fmt.Errorf("tool arguments %q: %v", c.Input, err)
		}
		a.Tools = append(a.Tools, *c)
	}
	return a, nil
}

// sse parses "event: x\ndata: y\n\n" text (as the docs show streams) into
// events.
func sse(s string) []event {
	var evs []event
	for _, block := range strings.Split(strings.TrimSpace(s), "\n\n") {
		var e event
		for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
			line = strings.TrimSpace(line)
			if v, ok := strings.CutPrefix(line, "event:"); ok {
				e.name = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "data:"); ok {
				e.data = strings.TrimSpace(v)
			}
		}
		evs = append(evs, e)
	}
	return evs
}
