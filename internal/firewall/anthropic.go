package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// The Anthropic Messages adapter: a request's text, tools and tool results;
// an answer's tool_use blocks, and the answer with the blocked ones
// replaced by text blocks.

type messagesRequest struct {
	Model    string `json:"model"`
	System   textOf `json:"system"`
	Messages []struct {
		Role    string          `json:"role"`
		Content anthropicBlocks `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

// anthropicBlocks is a message's content: a string (one text block) or
// blocks.
type anthropicBlocks []anthropicBlock

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   textOf          `json:"content"` // a tool_result's
	Source    textSource      `json:"source"`  // a document's
}

func (b *anthropicBlocks) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*b = anthropicBlocks{{Type: "text", Text: s}}
		return nil
	}
	var blocks []anthropicBlock
	if err := json.Unmarshal(data, &blocks); err != nil {
		return err
	}
	*b = blocks
	return nil
}

// textSource is a document block's source: its data when it is plain
// text; a base64 source (a PDF, an image) is skipped without copying.
type textSource string

func (s *textSource) UnmarshalJSON(b []byte) error {
	typ, ok, err := jsonobj.Get(b, "type")
	if err != nil || !ok || string(typ) != `"text"` {
		return nil
	}
	data, ok, _ := jsonobj.Get(b, "data")
	if !ok {
		return nil
	}
	var v string
	if json.Unmarshal(data, &v) == nil {
		*s = textSource(v)
	}
	return nil
}

// AnthropicRequest reads a messages request body into a Request: Model
// from the body, Endpoint "messages"; the system text, the user messages'
// text and documents, and each tool_result's content as text; the declared
// tools; and for each tool_result the tool_use it answers.
func AnthropicRequest(body []byte) (*Request, error) {
	var mr messagesRequest
	if err := json.Unmarshal(body, &mr); err != nil {
		return nil, fmt.Errorf("reading the messages request: %w", err)
	}
	r := &Request{Model: mr.Model, Endpoint: "messages", Text: mr.System}
	for _, t := range mr.Tools {
		r.Tools = append(r.Tools, t.Name)
	}
	var calls map[string]Call
	for i := range mr.Messages {
		m := &mr.Messages[i]
		for j := range m.Content {
			b := &m.Content[j]
			if m.Role == "assistant" {
				if b.Type == "tool_use" {
					if calls == nil {
						calls = make(map[string]Call)
					}
					calls[b.ID] = Call{ID: b.ID, Name: b.Name, Arguments: compactJSON(b.Input)}
				}
				continue
			}
			switch b.Type {
			case "text":
				if b.Text != "" {
					r.Text = append(r.Text, b.Text)
				}
			case "document":
				if b.Source != "" {
					r.Text = append(r.Text, string(b.Source))
				}
			case "tool_result":
				c, ok := calls[b.ToolUseID]
				if !ok {
					c = Call{ID: b.ToolUseID}
				}
				r.ToolResults = append(r.ToolResults, c)
				r.Text = append(r.Text, b.Content...)
			}
		}
	}
	return r, nil
}

type messagesAnswer struct {
	Content []struct {
		Type  string          `json:"type"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content"`
}

// AnthropicResponseCalls lists the tool_use blocks of a message (Choice 0,
// Position the block's index). Server tools (server_tool_use, run by
// Anthropic) are not the client's calls and are left out.
func AnthropicResponseCalls(body []byte) ([]ResponseCall, error) {
	var a messagesAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("reading the message: %w", err)
	}
	var calls []ResponseCall
	for i, b := range a.Content {
		if b.Type == "tool_use" {
			calls = append(calls, ResponseCall{Position: i, Call: Call{ID: b.ID, Name: b.Name, Arguments: compactJSON(b.Input)}})
		}
	}
	return calls, nil
}

// CheckAnthropicResponse runs the response phase on a message's tool_use
// blocks and returns the message with the blocked ones replaced (body
// itself when nothing is) and the decisions.
func CheckAnthropicResponse(ctx context.Context, p *Policy, env *Env, body []byte) ([]byte, []Decision, error) {
	if !p.HasResponseRules() || !bytes.Contains(body, []byte(`"tool_use"`)) {
		return body, nil, nil
	}
	calls, err := AnthropicResponseCalls(body)
	if err != nil || len(calls) == 0 {
		return body, nil, err
	}
	decisions, blocks := checkCalls(ctx, p, env, calls)
	if blocks == nil {
		return body, decisions, nil
	}
	out, err := RewriteAnthropicResponse(body, calls, blocks)
	return out, decisions, err
}

// RewriteAnthropicResponse replaces each tool_use block whose block is set
// (blocks[i] for calls[i]) by a text block saying why; when no tool_use
// is left, stop_reason "tool_use" becomes "end_turn". Everything else
// keeps its bytes.
func RewriteAnthropicResponse(body []byte, calls []ResponseCall, blocks []*Decision) ([]byte, error) {
	raw, ok, err := jsonobj.Get(body, "content")
	if err != nil || !ok {
		return nil, fmt.Errorf("rewriting the message: no content")
	}
	content, err := splitArray(raw)
	if err != nil {
		return nil, fmt.Errorf("rewriting the message: %w", err)
	}
	for i := range calls {
		pos := calls[i].Position
		if blocks[i] == nil || pos >= len(content) {
			continue
		}
		content[pos] = append(append([]byte(`{"type":"text","text":`), quote(blocks[i].CallText())...), '}')
	}
	left := false
	for _, b := range content {
		typ, _, _ := jsonobj.Get(b, "type")
		if string(typ) == `"tool_use"` {
			left = true
			break
		}
	}
	out, err := jsonobj.Set(body, "content", joinArray(content))
	if err != nil {
		return nil, err
	}
	if !left {
		if sr, _, _ := jsonobj.Get(out, "stop_reason"); string(sr) == `"tool_use"` {
			return jsonobj.Set(out, "stop_reason", []byte(`"end_turn"`))
		}
	}
	return out, nil
}
