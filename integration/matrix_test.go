package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// The translation matrix (issue 13, item 4): every client format the
// gateway serves × every upstream format it speaks, JSON and streamed,
// plain text and a tool call, with raw HTTP. Each answer is read back in
// the client's format by a strict accumulator (below) and compared with
// what the fake provider answered; the provider header, the upstream
// request and the recorded usage event are checked too.

// mxIngress is a client wire format.
type mxIngress string

const (
	mxChat      mxIngress = "chat"
	mxResponses mxIngress = "responses"
	mxMessages  mxIngress = "messages"
	mxGemini    mxIngress = "gemini"
)

var mxIngresses = []mxIngress{mxChat, mxResponses, mxMessages, mxGemini}

// mxUpstream is an upstream format, reached through one provider and model.
type mxUpstream struct {
	name     string // column of the summary
	model    string // as the client names it
	provider string // AI-Gateway-Provider
	// path is the upstream path the fake must see for a client format.
	path func(in mxIngress, stream bool) string
}

var mxUpstreams = []mxUpstream{
	{"openai-chat-only", "deepseek:deepseek-chat", "deepseek", func(mxIngress, bool) string { return "/v1/chat/completions" }},
	{"openai", "openai:gpt-4o", "openai", func(in mxIngress, _ bool) string {
		if in == mxResponses {
			return "/v1/responses" // passed through
		}
		return "/v1/chat/completions"
	}},
	{"responses-only", "openai:gpt-5-pro", "openai", func(mxIngress, bool) string { return "/v1/responses" }},
	{"anthropic", "anthropic:claude-haiku-4-5", "anthropic", func(mxIngress, bool) string { return "/v1/messages" }},
	{"gemini", "google:gemini-2.5-flash", "google", func(_ mxIngress, stream bool) string {
		if stream {
			return "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
		}
		return "/v1beta/models/gemini-2.5-flash:generateContent"
	}},
}

// mxCall is one tool call as the client reads it.
type mxCall struct {
	ID, Name, Args string
}

// mxAnswer is a client's answer read back into one message.
type mxAnswer struct {
	Text          string
	Calls         []mxCall
	Finish        string // finish_reason, stop_reason, response status or finishReason
	Input, Output int64  // the usage the client sees
}

// mxSSE is one server-sent event.
type mxSSE struct{ name, data string }

// mxReadSSE reads a whole event stream, strictly: only event, data and
// comment lines, every event terminated by a blank line.
func mxReadSSE(t *testing.T, resp *http.Response) []mxSSE {
	t.Helper()
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream Content-Type %q", ct)
	}
	var evs []mxSSE
	var cur mxSSE
	var data []string
	open := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if open {
				cur.data = strings.Join(data, "\n")
				evs = append(evs, cur)
			}
			cur, data, open = mxSSE{}, nil, false
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			open = true
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			open = true
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	if open {
		t.Fatalf("stream ended inside an event: %+v %q", cur, data)
	}
	return evs
}

func mxDump(evs []mxSSE) string {
	var sb strings.Builder
	for _, e := range evs {
		if e.name != "" {
			sb.WriteString("event: " + e.name + "\n")
		}
		sb.WriteString("data: " + e.data + "\n")
	}
	return sb.String()
}

func mxNum(m any, k string) int64 {
	mm, _ := m.(map[string]any)
	f, _ := mm[k].(float64)
	return int64(f)
}

// ---- Chat Completions ----

func mxChatJSON(b []byte) (mxAnswer, error) {
	var a mxAnswer
	var c struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role      string  `json:"role"`
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
			TotalTokens      int64 `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return a, err
	}
	if c.ID == "" || c.Object != "chat.completion" || c.Created == 0 || c.Model == "" || len(c.Choices) != 1 || c.Choices[0].Index != 0 {
		return a, fmt.Errorf("not a chat.completion with one choice")
	}
	ch := c.Choices[0]
	if ch.Message.Role != "assistant" || ch.FinishReason == "" {
		return a, fmt.Errorf("choice without role or finish_reason")
	}
	if ch.Message.Content != nil {
		a.Text = *ch.Message.Content
	}
	for _, tc := range ch.Message.ToolCalls {
		if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
			return a, fmt.Errorf("tool call without id, type or name")
		}
		a.Calls = append(a.Calls, mxCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
	}
	a.Finish = ch.FinishReason
	if c.Usage == nil {
		return a, fmt.Errorf("no usage")
	}
	if c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
		return a, fmt.Errorf("total_tokens does not add up")
	}
	a.Input, a.Output = c.Usage.PromptTokens, c.Usage.CompletionTokens
	return a, nil
}

// mxChatStream reads chat.completion.chunk events as the openai SDK's
// ChatCompletionStream does, and stricter: one id, a role first, tool call
// fragments by index with id, type and name first, one finish_reason, the
// usage chunk (asked for with include_usage) after it, [DONE] last.
func mxChatStream(evs []mxSSE) (mxAnswer, error) {
	var a mxAnswer
	var id string
	var calls []*mxCall
	role, finished, usageSeen, done := "", false, false, false
	for i, e := range evs {
		if e.name != "" {
			return a, fmt.Errorf("event %d has a name %q", i, e.name)
		}
		if done {
			return a, fmt.Errorf("event %d after [DONE]", i)
		}
		if e.data == "[DONE]" {
			done = true
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
					Role      string  `json:"role"`
					Content   *string `json:"content"`
					ToolCalls []struct {
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
				PromptTokens     int64 `json:"prompt_tokens"`
				CompletionTokens int64 `json:"completion_tokens"`
				TotalTokens      int64 `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(e.data), &c); err != nil {
			return a, fmt.Errorf("event %d: %v", i, err)
		}
		if c.ID == nil || c.Object != "chat.completion.chunk" || c.Created == nil || c.Model == nil || c.Choices == nil {
			return a, fmt.Errorf("event %d is not a chunk: %s", i, e.data)
		}
		if id == "" {
			id = *c.ID
		} else if *c.ID != id {
			return a, fmt.Errorf("event %d: id %s, was %s", i, *c.ID, id)
		}
		if c.Usage != nil {
			if len(*c.Choices) != 0 || !finished || usageSeen {
				return a, fmt.Errorf("event %d: misplaced usage chunk", i)
			}
			usageSeen = true
			if c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
				return a, fmt.Errorf("total_tokens does not add up: %s", e.data)
			}
			a.Input, a.Output = c.Usage.PromptTokens, c.Usage.CompletionTokens
		}
		for _, ch := range *c.Choices {
			if ch.Index != 0 {
				return a, fmt.Errorf("event %d: choice %d", i, ch.Index)
			}
			if finished {
				return a, fmt.Errorf("event %d: a choice after finish_reason", i)
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
			for _, tc := range d.ToolCalls {
				if tc.Index == nil {
					return a, fmt.Errorf("tool call delta without index: %s", e.data)
				}
				switch {
				case *tc.Index == len(calls):
					if tc.ID == nil || *tc.ID == "" || tc.Type == nil || *tc.Type != "function" || tc.Function.Name == nil || *tc.Function.Name == "" {
						return a, fmt.Errorf("first tool call fragment without id, type or name: %s", e.data)
					}
					calls = append(calls, &mxCall{ID: *tc.ID, Name: *tc.Function.Name})
				case *tc.Index > len(calls):
					return a, fmt.Errorf("tool call index %d skips", *tc.Index)
				case tc.ID != nil && *tc.ID != calls[*tc.Index].ID:
					return a, fmt.Errorf("tool call %d changes its id", *tc.Index)
				}
				if tc.Function.Arguments != nil {
					calls[*tc.Index].Args += *tc.Function.Arguments
				}
			}
			if ch.FinishReason != nil {
				finished = true
				a.Finish = *ch.FinishReason
			}
		}
	}
	if !finished || !done {
		return a, fmt.Errorf("stream without finish_reason (%v) or [DONE] (%v)", finished, done)
	}
	if !usageSeen {
		return a, fmt.Errorf("no usage chunk although include_usage was set")
	}
	for _, c := range calls {
		a.Calls = append(a.Calls, *c)
	}
	return a, nil
}

// ---- Anthropic Messages ----

func mxMessagesJSON(b []byte) (mxAnswer, error) {
	var a mxAnswer
	var m struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Role    string `json:"role"`
		Model   string `json:"model"`
		Content []struct {
			Type  string          `json:"type"`
			Text  string          `json:"text"`
			ID    string          `json:"id"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
		Usage      *struct {
			InputTokens  int64 `json:"input_tokens"`
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return a, err
	}
	// a translated message keeps the provider's id (chatcmpl-…, resp_…):
	// the SDKs read any non-empty id
	if m.ID == "" || m.Type != "message" || m.Role != "assistant" || m.Model == "" || m.StopReason == "" || m.Usage == nil {
		return a, fmt.Errorf("not a message with id, role, model, stop_reason and usage")
	}
	for _, c := range m.Content {
		switch c.Type {
		case "text":
			a.Text += c.Text
		case "tool_use":
			var in map[string]any
			if c.ID == "" || c.Name == "" || json.Unmarshal(c.Input, &in) != nil || in == nil {
				return a, fmt.Errorf("tool_use without id, name or an input object")
			}
			a.Calls = append(a.Calls, mxCall{c.ID, c.Name, string(c.Input)})
		default:
			return a, fmt.Errorf("content block %q", c.Type)
		}
	}
	a.Finish, a.Input, a.Output = m.StopReason, m.Usage.InputTokens, m.Usage.OutputTokens
	return a, nil
}

// mxMessagesStream reads an Anthropic stream as @anthropic-ai/sdk's
// MessageStream does, and stricter: event names equal to the data's type,
// message_start first, blocks opened, filled and closed in order,
// message_delta with usage, message_stop last.
func mxMessagesStream(evs []mxSSE) (mxAnswer, error) {
	var a mxAnswer
	type block struct {
		typ  string
		json strings.Builder
	}
	var blocks []*block
	open, stage := -1, 0 // 0 before message_start, 1 content, 2 after message_delta, 3 after message_stop
	for i, e := range evs {
		var ev map[string]any
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			return a, fmt.Errorf("event %d: %v", i, err)
		}
		typ, _ := ev["type"].(string)
		if typ != e.name {
			return a, fmt.Errorf("event %d: name %q, type %q", i, e.name, typ)
		}
		if stage == 3 {
			return a, fmt.Errorf("event %d after message_stop", i)
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
				return a, fmt.Errorf("bad message_start: %s", e.data)
			}
			if c, ok := m["content"].([]any); !ok || len(c) != 0 {
				return a, fmt.Errorf("message_start content not []: %s", e.data)
			}
			u, ok := m["usage"].(map[string]any)
			if !ok {
				return a, fmt.Errorf("message_start without usage")
			}
			a.Input = mxNum(u, "input_tokens")
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
					return a, fmt.Errorf("tool_use without id or name: %s", e.data)
				}
				a.Calls = append(a.Calls, mxCall{ID: id, Name: name})
			case "text":
			default:
				return a, fmt.Errorf("unexpected block %s", e.data)
			}
			blocks = append(blocks, b)
			open = idx
		case "content_block_delta":
			if idx != open || idx < 0 {
				return a, fmt.Errorf("event %d: delta for %d, %d open", i, idx, open)
			}
			d, _ := ev["delta"].(map[string]any)
			b := blocks[idx]
			switch dt := d["type"]; {
			case dt == "text_delta" && b.typ == "text":
				s, _ := d["text"].(string)
				a.Text += s
			case dt == "input_json_delta" && b.typ == "tool_use":
				s, _ := d["partial_json"].(string)
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
				a.Calls[len(a.Calls)-1].Args = in
			}
			open = -1
		case "message_delta":
			if stage != 1 || open >= 0 {
				return a, fmt.Errorf("event %d: message_delta in stage %d with block %d open", i, stage, open)
			}
			stage = 2
			d, _ := ev["delta"].(map[string]any)
			a.Finish, _ = d["stop_reason"].(string)
			u, ok := ev["usage"].(map[string]any)
			if _, isNum := u["output_tokens"].(float64); !ok || !isNum {
				return a, fmt.Errorf("message_delta without usage.output_tokens: %s", e.data)
			}
			a.Output = mxNum(u, "output_tokens")
			if n := mxNum(u, "input_tokens"); n > 0 {
				a.Input = n
			}
		case "message_stop":
			if stage != 2 {
				return a, fmt.Errorf("event %d: message_stop before message_delta", i)
			}
			stage = 3
		case "ping":
		default:
			return a, fmt.Errorf("event %d: unexpected %s: %s", i, typ, e.data)
		}
	}
	if stage != 3 {
		return a, fmt.Errorf("stream ended before message_stop (stage %d)", stage)
	}
	return a, nil
}

// ---- Responses ----

func mxResponseObject(r map[string]any) (mxAnswer, error) {
	var a mxAnswer
	id, _ := r["id"].(string)
	if r["object"] != "response" || !strings.HasPrefix(id, "resp_") {
		return a, fmt.Errorf("not a response object")
	}
	a.Finish, _ = r["status"].(string)
	out, _ := r["output"].([]any)
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
				if pm["type"] != "output_text" {
					return a, fmt.Errorf("content part %v", pm)
				}
				s, _ := pm["text"].(string)
				a.Text += s
			}
		case "function_call":
			callID, _ := it["call_id"].(string)
			name, _ := it["name"].(string)
			args, ok := it["arguments"].(string)
			if callID == "" || name == "" || !ok || it["status"] != "completed" {
				return a, fmt.Errorf("function_call item %v", it)
			}
			a.Calls = append(a.Calls, mxCall{callID, name, args})
		case "reasoning":
		default:
			return a, fmt.Errorf("output item %v", it["type"])
		}
	}
	u, ok := r["usage"].(map[string]any)
	if !ok {
		return a, fmt.Errorf("no usage")
	}
	if mxNum(u, "total_tokens") != mxNum(u, "input_tokens")+mxNum(u, "output_tokens") {
		return a, fmt.Errorf("total_tokens does not add up: %v", u)
	}
	a.Input, a.Output = mxNum(u, "input_tokens"), mxNum(u, "output_tokens")
	return a, nil
}

func mxResponsesJSON(b []byte) (mxAnswer, error) {
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		return mxAnswer{}, err
	}
	return mxResponseObject(r)
}

// mxResponsesStream reads a Responses event stream as the openai SDK's
// ResponseStream does, and stricter: names equal to types, sequence
// numbers 0, 1, 2…, response.created first, an item's events between its
// output_item.added and output_item.done, deltas that add up to the .done
// text, and a final response.completed whose output is the items streamed.
func mxResponsesStream(evs []mxSSE) (mxAnswer, error) {
	type item struct {
		item   map[string]any
		text   string
		closed bool
	}
	var items []*item
	var respID string
	var final map[string]any
	open := -1
	for i, e := range evs {
		var ev map[string]any
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			return mxAnswer{}, fmt.Errorf("event %d: %v", i, err)
		}
		typ, _ := ev["type"].(string)
		if typ != e.name {
			return mxAnswer{}, fmt.Errorf("event %d: name %q, type %q", i, e.name, typ)
		}
		if final != nil {
			return mxAnswer{}, fmt.Errorf("event %d after the final event", i)
		}
		if n, ok := ev["sequence_number"].(float64); !ok || int(n) != i {
			return mxAnswer{}, fmt.Errorf("event %d: sequence_number %v", i, ev["sequence_number"])
		}
		if i == 0 && typ != "response.created" {
			return mxAnswer{}, fmt.Errorf("first event %s", typ)
		}
		idx := -1
		if f, ok := ev["output_index"].(float64); ok {
			idx = int(f)
		}
		var it *item
		if typ != "response.output_item.added" && idx >= 0 {
			if idx != open || items[idx].closed {
				return mxAnswer{}, fmt.Errorf("event %d: output_index %d is not the open item (%d)", i, idx, open)
			}
			it = items[idx]
			if id, _ := it.item["id"].(string); ev["item_id"] != nil && ev["item_id"] != id {
				return mxAnswer{}, fmt.Errorf("event %d: item_id %v, want %s", i, ev["item_id"], id)
			}
		}
		resp, _ := ev["response"].(map[string]any)
		switch typ {
		case "response.created", "response.in_progress":
			id, _ := resp["id"].(string)
			if resp["object"] != "response" || resp["status"] != "in_progress" || !strings.HasPrefix(id, "resp_") || respID != "" && id != respID {
				return mxAnswer{}, fmt.Errorf("bad %s: %s", typ, e.data)
			}
			respID = id
		case "response.output_item.added":
			if open >= 0 || idx != len(items) {
				return mxAnswer{}, fmt.Errorf("event %d: output_item.added %d with %d items, %d open", i, idx, len(items), open)
			}
			m, _ := ev["item"].(map[string]any)
			if id, _ := m["id"].(string); id == "" {
				return mxAnswer{}, fmt.Errorf("item without id: %s", e.data)
			}
			items = append(items, &item{item: m})
			open = idx
		case "response.content_part.added", "response.content_part.done",
			"response.reasoning_summary_part.added", "response.reasoning_summary_part.done",
			"response.reasoning_summary_text.delta", "response.reasoning_summary_text.done":
			if it == nil {
				return mxAnswer{}, fmt.Errorf("event %d: %s outside an item", i, typ)
			}
			if typ == "response.content_part.done" {
				part, _ := ev["part"].(map[string]any)
				if part["text"] != it.text {
					return mxAnswer{}, fmt.Errorf("event %d: part text %v, deltas gave %q", i, part["text"], it.text)
				}
			}
		case "response.output_text.delta", "response.function_call_arguments.delta":
			want := map[string]string{"response.output_text.delta": "message", "response.function_call_arguments.delta": "function_call"}[typ]
			if it == nil || it.item["type"] != want {
				return mxAnswer{}, fmt.Errorf("event %d: %s outside a %s item", i, typ, want)
			}
			d, _ := ev["delta"].(string)
			it.text += d
		case "response.output_text.done", "response.function_call_arguments.done":
			if it == nil {
				return mxAnswer{}, fmt.Errorf("event %d: %s outside an item", i, typ)
			}
			key := "text"
			if typ == "response.function_call_arguments.done" {
				key = "arguments"
			}
			if got, _ := ev[key].(string); got != it.text {
				return mxAnswer{}, fmt.Errorf("event %d: %s %q, deltas gave %q", i, typ, got, it.text)
			}
		case "response.output_item.done":
			m, _ := ev["item"].(map[string]any)
			if it == nil || m["id"] != it.item["id"] || m["type"] != it.item["type"] {
				return mxAnswer{}, fmt.Errorf("event %d: output_item.done of another item", i)
			}
			switch m["type"] {
			case "message":
				c, _ := m["content"].([]any)
				if len(c) != 1 || c[0].(map[string]any)["text"] != it.text {
					return mxAnswer{}, fmt.Errorf("done message %v, deltas gave %q", m, it.text)
				}
			case "function_call":
				if m["arguments"] != it.text {
					return mxAnswer{}, fmt.Errorf("done function_call %v, deltas gave %q", m, it.text)
				}
			}
			it.item, it.closed, open = m, true, -1
		case "response.completed", "response.incomplete", "response.failed":
			if open >= 0 {
				return mxAnswer{}, fmt.Errorf("event %d: %s with item %d open", i, typ, open)
			}
			if "response."+fmt.Sprint(resp["status"]) != typ || resp["id"] != respID {
				return mxAnswer{}, fmt.Errorf("event %d: %s: %s", i, typ, e.data)
			}
			out, _ := resp["output"].([]any)
			if len(out) != len(items) {
				return mxAnswer{}, fmt.Errorf("final output has %d items, %d streamed", len(out), len(items))
			}
			for k, o := range out {
				if !reflect.DeepEqual(o, items[k].item) {
					return mxAnswer{}, fmt.Errorf("final output[%d] %v differs from the streamed %v", k, o, items[k].item)
				}
			}
			final = resp
		default:
			return mxAnswer{}, fmt.Errorf("event %d: unexpected %s", i, typ)
		}
	}
	if final == nil {
		return mxAnswer{}, fmt.Errorf("stream without response.completed")
	}
	return mxResponseObject(final)
}

// ---- Gemini ----

type mxGeminiChunk struct {
	Candidates []struct {
		Content *struct {
			Role  string `json:"role"`
			Parts []struct {
				Text         *string `json:"text"`
				FunctionCall *struct {
					ID   string          `json:"id"`
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
			} `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
		Index        int    `json:"index"`
	} `json:"candidates"`
	UsageMetadata *struct {
		PromptTokenCount     int64 `json:"promptTokenCount"`
		CandidatesTokenCount int64 `json:"candidatesTokenCount"`
		TotalTokenCount      int64 `json:"totalTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string          `json:"modelVersion"`
	Error        json.RawMessage `json:"error"`
}

// add reads one GenerateContentResponse into a; finished says whether a
// finishReason was seen before it (after which no content may come).
func (c *mxGeminiChunk) add(a *mxAnswer, finished bool) error {
	if len(c.Error) > 0 {
		return fmt.Errorf("error chunk %s", c.Error)
	}
	if len(c.Candidates) > 1 {
		return fmt.Errorf("%d candidates", len(c.Candidates))
	}
	for _, cand := range c.Candidates {
		if cand.Index != 0 {
			return fmt.Errorf("candidate index %d", cand.Index)
		}
		if cand.Content != nil {
			if cand.Content.Role != "model" {
				return fmt.Errorf("content role %q", cand.Content.Role)
			}
			for _, p := range cand.Content.Parts {
				if finished && (p.Text != nil && *p.Text != "" || p.FunctionCall != nil) {
					return fmt.Errorf("content after finishReason")
				}
				if p.Text != nil {
					a.Text += *p.Text
				}
				if fc := p.FunctionCall; fc != nil {
					var args map[string]any
					if fc.Name == "" || json.Unmarshal(fc.Args, &args) != nil || args == nil {
						return fmt.Errorf("functionCall without a name or an args object")
					}
					a.Calls = append(a.Calls, mxCall{fc.ID, fc.Name, string(fc.Args)})
				}
			}
		}
		if cand.FinishReason != "" {
			if finished {
				return fmt.Errorf("a second finishReason")
			}
			a.Finish = cand.FinishReason
		}
	}
	if u := c.UsageMetadata; u != nil {
		if u.TotalTokenCount < u.PromptTokenCount+u.CandidatesTokenCount {
			return fmt.Errorf("totalTokenCount below prompt + candidates")
		}
		a.Input, a.Output = u.PromptTokenCount, u.CandidatesTokenCount
	}
	return nil
}

func mxGeminiJSON(b []byte) (mxAnswer, error) {
	var a mxAnswer
	var c mxGeminiChunk
	if err := json.Unmarshal(b, &c); err != nil {
		return a, err
	}
	if len(c.Candidates) != 1 || c.UsageMetadata == nil {
		return a, fmt.Errorf("want one candidate and usageMetadata")
	}
	err := c.add(&a, false)
	if err == nil && a.Finish == "" {
		err = fmt.Errorf("no finishReason")
	}
	return a, err
}

// mxGeminiStream reads streamGenerateContent?alt=sse as @google/genai
// does, and stricter: data-only events, each a GenerateContentResponse,
// no [DONE], content only before the chunk with the finishReason (the
// stream's terminal chunk), usageMetadata by the end.
//
// Text must come in several chunks; a function call may come whole in one
// (as Gemini itself sends it).
func mxGeminiStream(evs []mxSSE) (mxAnswer, error) {
	var a mxAnswer
	finishedAt := -1
	for i, e := range evs {
		if e.name != "" {
			return a, fmt.Errorf("event %d has a name %q", i, e.name)
		}
		var c mxGeminiChunk
		if err := json.Unmarshal([]byte(e.data), &c); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.data)
		}
		if err := c.add(&a, finishedAt >= 0); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.data)
		}
		if a.Finish != "" && finishedAt < 0 {
			finishedAt = i
		}
	}
	if finishedAt < 0 {
		return a, fmt.Errorf("no chunk with a finishReason")
	}
	if finishedAt != len(evs)-1 {
		return a, fmt.Errorf("%d chunks after the finishReason", len(evs)-1-finishedAt)
	}
	if len(a.Calls) == 0 && len(evs) < 3 {
		return a, fmt.Errorf("%d chunks: not streamed event by event", len(evs))
	}
	return a, nil
}

// ---- requests ----

const mxWeatherSchema = `{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}`

// mxRequest builds a request in the client's format.
func mxRequest(e *env, in mxIngress, model string, stream, tool bool) (path, body string, hdr map[string]string) {
	prompt := "Say hello"
	if tool {
		prompt = "Weather in Paris?"
	}
	switch in {
	case mxChat:
		body = `{"model":"` + model + `","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + prompt + `"}],"max_tokens":256`
		if stream {
			body += `,"stream":true,"stream_options":{"include_usage":true}`
		}
		if tool {
			body += `,"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":` + mxWeatherSchema + `}}]`
		}
		return "/v1/chat/completions", body + "}", e.bearer()
	case mxResponses:
		body = `{"model":"` + model + `","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"` + prompt + `"}]}],"max_output_tokens":256`
		if stream {
			body += `,"stream":true`
		}
		if tool {
			body += `,"tools":[{"type":"function","name":"get_weather","description":"Weather in a city","parameters":` + mxWeatherSchema + `}]`
		}
		return "/v1/responses", body + "}", e.bearer()
	case mxMessages:
		body = `{"model":"` + model + `","system":"Be brief.","max_tokens":256,"messages":[{"role":"user","content":"` + prompt + `"}]`
		if stream {
			body += `,"stream":true`
		}
		if tool {
			body += `,"tools":[{"name":"get_weather","description":"Weather in a city","input_schema":` + mxWeatherSchema + `}]`
		}
		return "/v1/messages", body + "}", e.anthropicHdr()
	default:
		body = `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"` + prompt + `"}]}],"generationConfig":{"maxOutputTokens":256}`
		if tool {
			body += `,"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather in a city","parameters":{"type":"OBJECT","properties":{"location":{"type":"STRING"}},"required":["location"]}}]}]`
		}
		path = "/v1beta/models/" + model + ":generateContent"
		if stream {
			path = "/v1beta/models/" + model + ":streamGenerateContent?alt=sse"
		}
		return path, body + "}", map[string]string{"x-goog-api-key": e.token}
	}
}

// mxWantFinish is how each client format says "done" after text and after
// a tool call.
func mxWantFinish(in mxIngress, tool bool) string {
	switch in {
	case mxChat:
		return map[bool]string{false: "stop", true: "tool_calls"}[tool]
	case mxMessages:
		return map[bool]string{false: "end_turn", true: "tool_use"}[tool]
	case mxResponses:
		return "completed"
	default:
		return "STOP"
	}
}

// mxRead reads the answer in the client's format.
func mxRead(t *testing.T, in mxIngress, stream bool, resp *http.Response) (mxAnswer, error) {
	t.Helper()
	if !stream {
		b := readAll(t, resp)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return mxAnswer{}, fmt.Errorf("Content-Type %q: %s", ct, b)
		}
		var a mxAnswer
		var err error
		switch in {
		case mxChat:
			a, err = mxChatJSON(b)
		case mxResponses:
			a, err = mxResponsesJSON(b)
		case mxMessages:
			a, err = mxMessagesJSON(b)
		default:
			a, err = mxGeminiJSON(b)
		}
		if err != nil {
			err = fmt.Errorf("%v\n%s", err, b)
		}
		return a, err
	}
	evs := mxReadSSE(t, resp)
	var a mxAnswer
	var err error
	switch in {
	case mxChat:
		a, err = mxChatStream(evs)
	case mxResponses:
		a, err = mxResponsesStream(evs)
	case mxMessages:
		a, err = mxMessagesStream(evs)
	default:
		a, err = mxGeminiStream(evs)
	}
	if err != nil {
		err = fmt.Errorf("%v\n%s", err, mxDump(evs))
	}
	return a, err
}

// TestMatrix runs every cell of the translation matrix against one gateway.
func TestMatrix(t *testing.T) {
	began := time.Now()
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: responsesExtra(e.fakeURL)}))

	type key struct {
		in mxIngress
		up string
	}
	passed, total := map[key]int{}, map[key]int{}
	skipped := 0
	for _, in := range mxIngresses {
		for _, up := range mxUpstreams {
			for _, stream := range []bool{false, true} {
				for _, tool := range []bool{false, true} {
					mode, kind := "json", "text"
					if stream {
						mode = "stream"
					}
					if tool {
						kind = "tool"
					}
					total[key{in, up.name}]++
					wasSkipped := false
					ok := t.Run(fmt.Sprintf("%s/%s/%s/%s", in, up.name, mode, kind), func(t *testing.T) {
						defer func() { wasSkipped = t.Skipped() }()
						mxCell(t, e, in, up, stream, tool)
					})
					if wasSkipped {
						skipped++
					} else if ok {
						passed[key{in, up.name}]++
					}
				}
			}
		}
	}

	// the summary: passed/cells per client format × upstream format
	var sb strings.Builder
	fmt.Fprintf(&sb, "translation matrix (passed/cells; each cell: json+stream × text+tool call)\n%-10s", "client")
	for _, up := range mxUpstreams {
		fmt.Fprintf(&sb, " %17s", up.name)
	}
	sb.WriteString("\n")
	all, allPassed := 0, 0
	for _, in := range mxIngresses {
		fmt.Fprintf(&sb, "%-10s", in)
		for _, up := range mxUpstreams {
			k := key{in, up.name}
			fmt.Fprintf(&sb, " %17s", fmt.Sprintf("%d/%d", passed[k], total[k]))
			all += total[k]
			allPassed += passed[k]
		}
		sb.WriteString("\n")
	}
	// No cell is impossible by design: state (previous_response_id, store,
	// background, conversation) is no part of the matrix — its refusal by
	// stateless providers is TestResponsesState. A cell that skips would be
	// counted here.
	fmt.Fprintf(&sb, "%d/%d cells passed, %d skipped as impossible by design, in %s", allPassed, all, skipped, time.Since(began).Round(time.Millisecond))
	t.Log("\n" + sb.String())
}

// mxCell sends one request and checks everything about its answer.
func mxCell(t *testing.T, e *env, in mxIngress, up mxUpstream, stream, tool bool) {
	e.fake.Reset()
	path, body, hdr := mxRequest(e, in, up.model, stream, tool)
	resp := e.post(path, body, hdr)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, readAll(t, resp))
	}
	a, err := mxRead(t, in, stream, resp)
	if err != nil {
		t.Fatalf("malformed %s answer: %v", in, err)
	}
	if tool {
		if a.Text != "" || len(a.Calls) != 1 || a.Calls[0].Name != "get_weather" {
			t.Fatalf("want one get_weather call and no text, got %+v", a)
		}
		var args map[string]any
		if err := json.Unmarshal([]byte(a.Calls[0].Args), &args); err != nil || args["location"] != "Paris" {
			t.Fatalf("arguments %q: %v", a.Calls[0].Args, err)
		}
		if in != mxGemini && a.Calls[0].ID == "" {
			t.Fatalf("a tool call without an id: %+v", a)
		}
	} else if a.Text != fakeprovider.DefaultReply || len(a.Calls) != 0 {
		t.Fatalf("text %q (calls %v), the provider answered %q", a.Text, a.Calls, fakeprovider.DefaultReply)
	}
	if want := mxWantFinish(in, tool); a.Finish != want {
		t.Errorf("finish %q, want %q", a.Finish, want)
	}
	if a.Input <= 0 || a.Output <= 0 {
		t.Errorf("the client's usage: %d input, %d output tokens", a.Input, a.Output)
	}
	if got := resp.Header.Get("AI-Gateway-Provider"); got != up.provider {
		t.Errorf("AI-Gateway-Provider %q, want %q", got, up.provider)
	}
	if got := resp.Header.Get("AI-Gateway-Removed-Params"); got != "" {
		t.Errorf("AI-Gateway-Removed-Params %q for a request every format carries", got)
	}

	// the upstream request went where the format says, in its format
	reqs := e.fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != up.path(in, stream) {
		paths := make([]string, len(reqs))
		for i, r := range reqs {
			paths[i] = r.Path
		}
		t.Fatalf("upstream requests %v, want one to %s", paths, up.path(in, stream))
	}
	r := reqs[0]
	if up.provider == "google" && stream && r.Query != "alt=sse" {
		t.Errorf("gemini stream query %q", r.Query)
	}
	if err := mxUpstreamShape(r.Path, r.Body, stream, tool); err != nil {
		t.Errorf("upstream request to %s: %v: %s", r.Path, err, r.Body)
	}
	if !strings.Contains(string(r.Body), "Be brief.") {
		t.Errorf("the system prompt did not reach the provider: %s", r.Body)
	}

	// usage recorded from the provider's own report (every fake format reports it)
	ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if ev.ProviderID != up.provider || ev.Status != 200 || ev.Streaming != stream || ev.InputTokens <= 0 || ev.OutputTokens <= 0 || ev.UsageEstimated {
		t.Errorf("usage event %+v", ev)
	}
	if ev.OutputTokens != a.Output {
		t.Errorf("usage event has %d output tokens, the client was told %d", ev.OutputTokens, a.Output)
	}
}

// mxUpstreamShape checks the upstream request is in the upstream's own
// format: streamed when the client streams, the tool defined as that
// format defines tools.
func mxUpstreamShape(path string, body []byte, stream, tool bool) error {
	var b struct {
		Stream bool `json:"stream"`
		Tools  []struct {
			Type     string `json:"type"`
			Name     string `json:"name"`
			Function *struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
			InputSchema          json.RawMessage `json:"input_schema"`
			Parameters           json.RawMessage `json:"parameters"`
			FunctionDeclarations []struct {
				Name string `json:"name"`
			} `json:"functionDeclarations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return err
	}
	gemini := strings.HasPrefix(path, "/v1beta/")
	if !gemini && b.Stream != stream {
		return fmt.Errorf("stream %v", b.Stream)
	}
	if gemini && b.Stream {
		return fmt.Errorf("a stream field in a Gemini body")
	}
	if !tool {
		if len(b.Tools) != 0 {
			return fmt.Errorf("tools in a request without")
		}
		return nil
	}
	if len(b.Tools) != 1 {
		return fmt.Errorf("%d tools", len(b.Tools))
	}
	tl := b.Tools[0]
	var ok bool
	switch {
	case gemini:
		ok = len(tl.FunctionDeclarations) == 1 && tl.FunctionDeclarations[0].Name == "get_weather"
	case path == "/v1/chat/completions":
		ok = tl.Type == "function" && tl.Function != nil && tl.Function.Name == "get_weather" && len(tl.Function.Parameters) > 0
	case path == "/v1/responses":
		ok = tl.Type == "function" && tl.Function == nil && tl.Name == "get_weather" && len(tl.Parameters) > 0
	case path == "/v1/messages":
		ok = tl.Name == "get_weather" && len(tl.InputSchema) > 0 && tl.Function == nil
	}
	if !ok {
		return fmt.Errorf("the tool is not defined in this format")
	}
	return nil
}

// TestMatrixRemovedParams: what a target cannot take is dropped and named
// in AI-Gateway-Removed-Params, for representative client × upstream pairs;
// the same parameter between the same formats passes through.
func TestMatrixRemovedParams(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: responsesExtra(e.fakeURL)}))
	goog := map[string]string{"x-goog-api-key": e.token}
	safety := `"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]`
	for _, tt := range []struct {
		name, path, body string
		hdr              map[string]string
		removed          []string // each must be named
		absent           []string // and absent from the upstream body
		kept             []string // present in the upstream body
	}{
		{"gemini safetySettings → openai", "/v1beta/models/openai:gpt-4o:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],` + safety + `}`, goog,
			[]string{"safetySettings"}, []string{"safetySettings", "HARM_CATEGORY"}, nil},
		{"gemini safetySettings, topK → anthropic", "/v1beta/models/anthropic:claude-haiku-4-5:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],` + safety + `,"generationConfig":{"topK":40}}`, goog,
			[]string{"safetySettings", "generationConfig.topK"}, []string{"HARM_CATEGORY", "top_k", "topK"}, nil},
		{"gemini googleSearch tool → chat-only", "/v1beta/models/deepseek:deepseek-chat:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"googleSearch":{}}]}`, goog,
			[]string{"tools.googleSearch"}, []string{"googleSearch", "google_search"}, nil},
		{"gemini safetySettings → gemini (passed through)", "/v1beta/models/google:gemini-2.5-flash:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],` + safety + `}`, goog,
			nil, nil, []string{"HARM_CATEGORY_HARASSMENT"}},
		{"responses web_search → anthropic", "/v1/responses",
			`{"model":"anthropic:claude-haiku-4-5","input":"hi","tools":[{"type":"web_search"}]}`, e.bearer(),
			[]string{"tools.web_search"}, []string{"web_search"}, nil},
		{"responses web_search, include → gemini", "/v1/responses",
			`{"model":"google:gemini-2.5-flash","input":"hi","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"]}`, e.bearer(),
			[]string{"tools.web_search", "include"}, []string{"web_search", "encrypted_content"}, nil},
		{"responses web_search → openai (passed through)", "/v1/responses",
			`{"model":"openai:gpt-4o","input":"hi","tools":[{"type":"web_search"}]}`, e.bearer(),
			nil, nil, []string{`"web_search"`}},
		{"anthropic top_k → openai", "/v1/messages",
			`{"model":"openai:gpt-4o","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`, e.anthropicHdr(),
			[]string{"top_k"}, []string{"top_k"}, nil},
		{"anthropic top_k → responses-only", "/v1/messages",
			`{"model":"openai:gpt-5-pro","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`, e.anthropicHdr(),
			[]string{"top_k"}, []string{"top_k"}, nil},
		// Gemini has topK, but a messages request reaches Gemini through chat,
		// which has none: dropped, and said so
		{"anthropic top_k → gemini", "/v1/messages",
			`{"model":"google:gemini-2.5-flash","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`, e.anthropicHdr(),
			[]string{"top_k"}, []string{"top_k", "topK"}, nil},
		{"chat logit_bias → anthropic", "/v1/chat/completions",
			`{"model":"anthropic:claude-haiku-4-5","logit_bias":{"50256":-100},"messages":[{"role":"user","content":"hi"}]}`, e.bearer(),
			[]string{"logit_bias"}, []string{"logit_bias", "50256"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.Reset()
			resp := e.post(tt.path, tt.body, tt.hdr)
			b := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			got := resp.Header.Get("AI-Gateway-Removed-Params")
			t.Logf("AI-Gateway-Removed-Params: %q", got)
			names := map[string]bool{}
			for _, n := range strings.Split(got, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names[n] = true
				}
			}
			for _, want := range tt.removed {
				if !names[want] {
					t.Errorf("AI-Gateway-Removed-Params %q does not name %s", got, want)
				}
			}
			if tt.removed == nil && got != "" {
				t.Errorf("AI-Gateway-Removed-Params %q, want nothing removed", got)
			}
			reqs := e.fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d upstream requests", len(reqs))
			}
			for _, s := range tt.absent {
				if strings.Contains(string(reqs[0].Body), s) {
					t.Errorf("%s reached the provider: %s", s, reqs[0].Body)
				}
			}
			for _, s := range tt.kept {
				if !strings.Contains(string(reqs[0].Body), s) {
					t.Errorf("%s did not reach the provider: %s", s, reqs[0].Body)
				}
			}
		})
	}
}

// TestMatrixAccumulators: the accumulators above accept a well-formed
// stream of each format and refuse the faults a client would choke on, so
// a cell of the matrix cannot pass on a broken stream.
func TestMatrixAccumulators(t *testing.T) {
	ev := func(name, data string) mxSSE { return mxSSE{name, data} }
	chunk := func(s string) mxSSE {
		return ev("", `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",`+s+`}`)
	}
	chatOK := []mxSSE{
		chunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]`),
		chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]`),
		chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":\"Paris\"}"}}]}}]`),
		chunk(`"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]`),
		chunk(`"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}`),
		ev("", "[DONE]"),
	}
	msg := func(typ, rest string) mxSSE { return ev(typ, `{"type":"`+typ+`"`+rest+`}`) }
	messagesOK := []mxSSE{
		msg("message_start", `,"message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":3,"output_tokens":1}}`),
		msg("content_block_start", `,"index":0,"content_block":{"type":"text","text":""}`),
		msg("content_block_delta", `,"index":0,"delta":{"type":"text_delta","text":"Hi"}`),
		msg("content_block_stop", `,"index":0`),
		msg("message_delta", `,"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}`),
		msg("message_stop", ``),
	}
	resp := func(status, output string) string {
		return `{"id":"resp_1","object":"response","status":"` + status + `","output":[` + output + `],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}`
	}
	item := `{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hi","annotations":[]}]}`
	rs := func(seq int, typ, rest string) mxSSE {
		return ev(typ, fmt.Sprintf(`{"type":%q,"sequence_number":%d%s}`, typ, seq, rest))
	}
	responsesOK := []mxSSE{
		rs(0, "response.created", `,"response":`+resp("in_progress", "")),
		rs(1, "response.output_item.added", `,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[]}`),
		rs(2, "response.content_part.added", `,"output_index":0,"item_id":"msg_1","content_index":0,"part":{"type":"output_text","text":""}`),
		rs(3, "response.output_text.delta", `,"output_index":0,"item_id":"msg_1","content_index":0,"delta":"Hi"`),
		rs(4, "response.output_text.done", `,"output_index":0,"item_id":"msg_1","content_index":0,"text":"Hi"`),
		rs(5, "response.content_part.done", `,"output_index":0,"item_id":"msg_1","content_index":0,"part":{"type":"output_text","text":"Hi"}`),
		rs(6, "response.output_item.done", `,"output_index":0,"item":`+item),
		rs(7, "response.completed", `,"response":`+resp("completed", item)),
	}
	g := func(s string) mxSSE {
		return ev("", `{"candidates":[{"content":{"role":"model","parts":[`+s+`]},"index":0}]}`)
	}
	geminiOK := []mxSSE{
		g(`{"text":"H"}`), g(`{"text":"i"}`),
		ev("", `{"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}`),
	}
	drop := func(evs []mxSSE, i int) []mxSSE { return append(append([]mxSSE{}, evs[:i]...), evs[i+1:]...) }
	with := func(evs []mxSSE, i int, e mxSSE) []mxSSE {
		out := append([]mxSSE{}, evs...)
		out[i] = e
		return out
	}
	type reader func([]mxSSE) (mxAnswer, error)
	for _, tt := range []struct {
		name string
		read reader
		evs  []mxSSE
		ok   bool
	}{
		{"chat ok", mxChatStream, chatOK, true},
		{"chat without [DONE]", mxChatStream, chatOK[:5], false},
		{"chat without the usage chunk", mxChatStream, drop(chatOK, 4), false},
		{"chat without finish_reason", mxChatStream, drop(chatOK, 3), false},
		{"chat tool call without id", mxChatStream, with(chatOK, 1, chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"type":"function","function":{"name":"get_weather"}}]}}]`)), false},
		{"chat without role", mxChatStream, chatOK[1:], false},
		{"chat chunk after [DONE]", mxChatStream, append(append([]mxSSE{}, chatOK...), chatOK[0]), false},
		{"messages ok", mxMessagesStream, messagesOK, true},
		{"messages without message_stop", mxMessagesStream, messagesOK[:5], false},
		{"messages without content_block_stop", mxMessagesStream, drop(messagesOK, 3), false},
		{"messages name differs from type", mxMessagesStream, with(messagesOK, 2, ev("ping", messagesOK[2].data)), false},
		{"messages delta without usage", mxMessagesStream, with(messagesOK, 4, msg("message_delta", `,"delta":{"stop_reason":"end_turn"}`)), false},
		{"responses ok", mxResponsesStream, responsesOK, true},
		{"responses without response.completed", mxResponsesStream, responsesOK[:7], false},
		{"responses sequence skips", mxResponsesStream, drop(responsesOK, 3), false},
		{"responses done text differs", mxResponsesStream, with(responsesOK, 4, rs(4, "response.output_text.done", `,"output_index":0,"item_id":"msg_1","content_index":0,"text":"Ho"`)), false},
		{"responses final output differs", mxResponsesStream, with(responsesOK, 7, rs(7, "response.completed", `,"response":`+resp("completed", ""))), false},
		{"gemini ok", mxGeminiStream, geminiOK, true},
		{"gemini without finishReason", mxGeminiStream, geminiOK[:2], false},
		{"gemini content after finishReason", mxGeminiStream, append(append([]mxSSE{}, geminiOK...), geminiOK[0]), false},
		{"gemini [DONE]", mxGeminiStream, append(append([]mxSSE{}, geminiOK...), ev("", "[DONE]")), false},
	} {
		a, err := tt.read(tt.evs)
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if !tt.ok && err == nil {
			t.Errorf("%s: accepted (%+v)", tt.name, a)
		}
	}
	if a, _ := mxChatStream(chatOK); len(a.Calls) != 1 || a.Calls[0].Args != `{"location":"Paris"}` || a.Finish != "tool_calls" || a.Output != 2 {
		t.Errorf("chat read %+v", a)
	}
	if a, _ := mxResponsesStream(responsesOK); a.Text != "Hi" || a.Finish != "completed" || a.Input != 3 {
		t.Errorf("responses read %+v", a)
	}
	if a, _ := mxGeminiStream(geminiOK); a.Text != "Hi" || a.Finish != "STOP" || a.Output != 2 {
		t.Errorf("gemini read %+v", a)
	}
}
