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

// AnthropicRequest reads a messages request body into a Request: Model
// from the body, Endpoint "messages"; the system text, the user messages'
// text and text documents, and each tool_result's content as text; the
// declared tools; and for each tool_result the tool_use it answers. The
// body is one the gateway checked (clientreq); malformed JSON is an error.
func AnthropicRequest(body []byte) (*Request, error) {
	req := &Request{Endpoint: "messages"}
	var system, messages []string
	var calls map[string]Call
	r := &reader{b: body}
	err := r.top(func(k []byte, v int) int {
		var end int
		switch string(k) {
		case "model":
			req.Model, end = r.str(v)
		case "system":
			system = nil
			end = r.textAt(v, &system)
		case "messages":
			r.arrayOrNull(v)
			messages, req.ToolResults, calls = nil, nil, nil // a repeated member: the last counts
			end = r.array(v, func(e int) int { return r.anthropicMessage(e, &messages, req, &calls) })
		case "tools":
			r.arrayOrNull(v)
			req.Tools = nil
			end = r.array(v, func(e int) int {
				var name string
				end := r.object(e, func(k []byte, v int) int {
					if string(k) != "name" {
						return -1
					}
					var end int
					name, end = r.str(v)
					return end
				})
				if name != "" {
					req.Tools = append(req.Tools, name)
				}
				return end
			})
		default:
			return -1
		}
		return end
	})
	if err != nil {
		return nil, fmt.Errorf("reading the messages request: %w", err)
	}
	req.Text = append(system, messages...)
	return req, nil
}

// anthropicMessage reads one message at e: content is read as it comes
// once the role is known, else after the message; a message that repeats
// a member is read again, the last of each counting (see chatMessage).
func (r *reader) anthropicMessage(e int, text *[]string, req *Request, calls *map[string]Call) int {
	var role string
	var content []byte // the last one
	roleSeen, dup, contentRead := false, false, false
	nRole, nContent := 0, 0
	textMark, resultsMark := len(*text), len(req.ToolResults)
	undo := callsUndo{calls: calls}
	end := r.object(e, func(k []byte, v int) int {
		var end int
		switch string(k) {
		case "role":
			nRole++
			role, end = r.str(v)
			roleSeen = true
		case "content":
			nContent++
			contentRead = false
			if roleSeen && nRole == 1 && nContent == 1 {
				end = r.anthropicContent(v, role == "assistant", text, req, &undo)
				if end < 0 {
					end = r.skip(v)
				}
				contentRead = true
			} else {
				end = r.skip(v)
			}
			content = r.b[v:end]
		default:
			return -1
		}
		dup = nRole > 1 || nContent > 1
		return end
	})
	if r.err != nil {
		return end
	}
	if dup {
		*text = (*text)[:textMark]
		req.ToolResults = req.ToolResults[:resultsMark]
		undo.restore()
		contentRead = false
	}
	if !contentRead && content != nil {
		(&reader{b: content}).anthropicContent(0, role == "assistant", text, req, &callsUndo{calls: calls})
	}
	return end
}

// anthropicContent reads a message's content at v: a string, or blocks.
func (r *reader) anthropicContent(v int, assistant bool, text *[]string, req *Request, calls *callsUndo) int {
	if r.is(v, '"') {
		if assistant {
			return -1
		}
		return r.textAt(v, text)
	}
	return r.array(v, func(e int) int {
		var typ, id, name, toolUseID string
		var txt, input, inner, source []byte
		end := r.object(e, func(k []byte, v int) int {
			var end int
			switch string(k) {
			case "type":
				typ, end = r.str(v)
			case "text":
				txt, end = r.raw(v)
			case "id":
				id, end = r.str(v)
			case "name":
				name, end = r.str(v)
			case "input":
				input, end = r.raw(v)
			case "tool_use_id":
				toolUseID, end = r.str(v)
			case "content":
				inner, end = r.raw(v)
			case "source":
				source, end = r.raw(v)
			default:
				return -1
			}
			return end
		})
		switch {
		case assistant && typ == "tool_use":
			calls.add(Call{ID: id, Name: name, Arguments: compactJSON(input)})
		case assistant:
		case typ == "text":
			if s := jsonString(txt); s != "" {
				*text = append(*text, s)
			}
		case typ == "document": // a plain-text source; base64 ones are skipped
			if memberString(source, "type") == "text" {
				if data := memberString(source, "data"); data != "" {
					*text = append(*text, data)
				}
			}
		case typ == "tool_result":
			c, ok := (*calls.calls)[toolUseID]
			if !ok {
				c = Call{ID: toolUseID}
			}
			req.ToolResults = append(req.ToolResults, c)
			*text = appendText(*text, inner)
		}
		return end
	})
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
	return checkAnswer(ctx, p, env, body, func(b []byte) bool { return bytes.Contains(b, []byte(`"tool_use"`)) }, answerFormat{AnthropicResponseCalls, RewriteAnthropicResponse})
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
