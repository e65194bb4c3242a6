package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// The OpenAI Chat Completions adapter: a request's text, tools and tool
// results; an answer's tool calls, and the answer without the blocked ones.

type chatToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Name      string        `json:"name"`
		Arguments argumentsText `json:"arguments"`
	} `json:"function"`
	Custom *struct { // custom tools: free-form input
		Name  string `json:"name"`
		Input string `json:"input"`
	} `json:"custom"`
}

func (tc *chatToolCall) call() Call {
	if tc.Custom != nil && tc.Function.Name == "" {
		return Call{ID: tc.ID, Name: tc.Custom.Name, Arguments: tc.Custom.Input}
	}
	return Call{ID: tc.ID, Name: tc.Function.Name, Arguments: string(tc.Function.Arguments)}
}

// OpenAIRequest reads a chat completions request body into a Request:
// Model from the body, Endpoint "chat.completions"; the text of system,
// developer, user and tool messages; the declared tools (function and
// custom tools, and the deprecated functions); and for each tool message
// the assistant's call it answers. The body is one the gateway checked
// (clientreq); malformed JSON is an error.
func OpenAIRequest(body []byte) (*Request, error) {
	req := &Request{Endpoint: "chat.completions"}
	var tools, functions []string
	var calls map[string]Call
	r := &reader{b: body}
	err := r.top(func(k []byte, v int) int {
		var end int
		switch string(k) {
		case "model":
			req.Model, end = r.str(v)
		case "messages":
			r.arrayOrNull(v)
			req.Text, req.ToolResults, calls = nil, nil, nil // a repeated member: the last counts
			end = r.array(v, func(e int) int { return r.chatMessage(e, req, &calls) })
		case "tools":
			r.arrayOrNull(v)
			tools = nil
			end = r.array(v, func(e int) int {
				var fn, custom []byte
				end := r.object(e, func(k []byte, v int) int {
					var end int
					switch string(k) {
					case "function":
						fn, end = r.raw(v)
					case "custom":
						custom, end = r.raw(v)
					default:
						return -1
					}
					return end
				})
				name := memberString(custom, "name")
				if len(fn) > 0 && !isNull(fn) {
					name = memberString(fn, "name")
				}
				if name != "" {
					tools = append(tools, name)
				}
				return end
			})
		case "functions":
			r.arrayOrNull(v)
			functions = nil
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
					functions = append(functions, name)
				}
				return end
			})
		default:
			return -1
		}
		return end
	})
	if err != nil {
		return nil, fmt.Errorf("reading the chat completions request: %w", err)
	}
	req.Tools = append(tools, functions...)
	return req, nil
}

// chatMessage reads one message at e. Its role decides what its content
// is: content and tool calls are read as they come once the role is
// known, else after the message. A message that repeats a member (which
// the gateway does not refuse below the top level) is read again, the
// last of each member counting, as providers read it.
func (r *reader) chatMessage(e int, req *Request, calls *map[string]Call) int {
	var role, name, callID string
	var content, toolCalls []byte // the last of each
	var seen uint8                // a bit per member below
	roleSeen, dup, contentRead, callsRead := false, false, false, false
	mark := len(req.Text)
	undo := callsUndo{calls: calls}
	end := r.object(e, func(k []byte, v int) int {
		var end int
		var bit uint8
		switch string(k) {
		case "role":
			bit = 1
		case "content":
			bit = 2
		case "tool_calls":
			bit = 4
		case "tool_call_id":
			bit = 8
		case "name":
			bit = 16
		default:
			return -1
		}
		dup = dup || seen&bit != 0
		seen |= bit
		switch string(k) {
		case "role":
			role, end = r.str(v)
			roleSeen = true
		case "content":
			contentRead = false
			if roleSeen && !dup && role != "assistant" {
				end = r.textAt(v, &req.Text)
				contentRead = true
			} else {
				end = r.skip(v)
			}
			content = r.b[v:end]
		case "tool_calls":
			callsRead = false
			if roleSeen && !dup && role == "assistant" {
				end = r.chatCalls(v, &undo)
				callsRead = true
			} else {
				end = r.skip(v)
			}
			toolCalls = r.b[v:end]
		case "tool_call_id":
			callID, end = r.str(v)
		case "name":
			name, end = r.str(v)
		}
		return end
	})
	if r.err != nil {
		return end
	}
	if dup { // read it again, as a provider does
		req.Text = req.Text[:mark]
		undo.restore()
		contentRead, callsRead = false, false
	}
	if role == "assistant" {
		if !callsRead && toolCalls != nil {
			(&reader{b: toolCalls}).chatCalls(0, &callsUndo{calls: calls})
		}
		return end
	}
	if !contentRead && content != nil {
		req.Text = appendText(req.Text, content)
	}
	switch role {
	case "tool":
		c, ok := (*calls)[callID]
		if !ok {
			c = Call{ID: callID}
		}
		req.ToolResults = append(req.ToolResults, c)
	case "function": // the deprecated function result
		req.ToolResults = append(req.ToolResults, Call{Name: name})
	}
	return end
}

// callsUndo adds calls to a map of the calls made so far, remembering what
// it replaced so a message read again can take its calls back.
type callsUndo struct {
	calls *map[string]Call
	prev  []prevCall
}

type prevCall struct {
	id      string
	c       Call
	existed bool
}

func (u *callsUndo) add(c Call) {
	if *u.calls == nil {
		*u.calls = make(map[string]Call)
	}
	old, ok := (*u.calls)[c.ID]
	u.prev = append(u.prev, prevCall{c.ID, old, ok})
	(*u.calls)[c.ID] = c
}

func (u *callsUndo) restore() {
	for i := len(u.prev) - 1; i >= 0; i-- {
		p := u.prev[i]
		if p.existed {
			(*u.calls)[p.id] = p.c
		} else {
			delete(*u.calls, p.id)
		}
	}
	u.prev = nil
}

// chatCalls reads an assistant message's tool_calls at v into calls.
func (r *reader) chatCalls(v int, calls *callsUndo) int {
	return r.array(v, func(e int) int {
		var c Call
		var custom []byte
		end := r.object(e, func(k []byte, v int) int {
			var end int
			switch string(k) {
			case "id":
				c.ID, end = r.str(v)
			case "function":
				c.Name, c.Arguments = "", ""
				end = r.object(v, func(k []byte, v int) int {
					var end int
					switch string(k) {
					case "name":
						c.Name, end = r.str(v)
					case "arguments":
						var a []byte
						a, end = r.raw(v)
						c.Arguments = argumentsOf(a)
					default:
						return -1
					}
					return end
				})
			case "custom":
				custom, end = r.raw(v)
			default:
				return -1
			}
			return end
		})
		if c.Name == "" && len(custom) > 0 { // custom tools: free-form input
			c.Name, c.Arguments = memberString(custom, "name"), memberString(custom, "input")
		}
		calls.add(c)
		return end
	})
}

type chatAnswer struct {
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			ToolCalls []chatToolCall `json:"tool_calls"`
		} `json:"message"`
	} `json:"choices"`
}

// OpenAIResponseCalls lists the tool calls of a chat completion, per choice.
func OpenAIResponseCalls(body []byte) ([]ResponseCall, error) {
	var a chatAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("reading the chat completion: %w", err)
	}
	var calls []ResponseCall
	for ci := range a.Choices {
		for j := range a.Choices[ci].Message.ToolCalls {
			calls = append(calls, ResponseCall{Choice: ci, Position: j, Call: a.Choices[ci].Message.ToolCalls[j].call()})
		}
	}
	return calls, nil
}

// CheckOpenAIResponse runs the response phase on a chat completion's tool
// calls and returns the answer without the blocked ones (body itself when
// nothing is removed) and the decisions.
func CheckOpenAIResponse(ctx context.Context, p *Policy, env *Env, body []byte) ([]byte, []Decision, error) {
	return checkAnswer(ctx, p, env, body, func(b []byte) bool { return bytes.Contains(b, []byte(`"tool_calls"`)) }, answerFormat{OpenAIResponseCalls, RewriteOpenAIResponse})
}

// RewriteOpenAIResponse removes the calls whose block is set (blocks[i]
// for calls[i]) from a chat completion: the text of each block is appended
// to the choice's content (a string, or a text part when content is an
// array), and a choice left without tool calls loses its tool_calls and
// finishes with "stop" instead of "tool_calls". Everything else keeps its
// bytes.
func RewriteOpenAIResponse(body []byte, calls []ResponseCall, blocks []*Decision) ([]byte, error) {
	choicesRaw, ok, err := jsonobj.Get(body, "choices")
	if err != nil || !ok {
		return nil, fmt.Errorf("rewriting the chat completion: no choices")
	}
	choices, err := splitArray(choicesRaw)
	if err != nil {
		return nil, fmt.Errorf("rewriting the chat completion: %w", err)
	}
	for ci := range choices {
		removed := map[int]*Decision{}
		for i := range calls {
			if calls[i].Choice == ci && blocks[i] != nil {
				removed[calls[i].Position] = blocks[i]
			}
		}
		if len(removed) == 0 {
			continue
		}
		ch, err := rewriteChatChoice(choices[ci], removed)
		if err != nil {
			return nil, fmt.Errorf("rewriting the chat completion's choice %d: %w", ci, err)
		}
		choices[ci] = ch
	}
	return jsonobj.Set(body, "choices", joinArray(choices))
}

func rewriteChatChoice(ch []byte, removed map[int]*Decision) ([]byte, error) {
	msg, ok, err := jsonobj.Get(ch, "message")
	if err != nil || !ok {
		return nil, fmt.Errorf("no message")
	}
	tcRaw, _, err := jsonobj.Get(msg, "tool_calls")
	if err != nil {
		return nil, err
	}
	tcs, err := splitArray(tcRaw)
	if err != nil {
		return nil, err
	}
	keep := tcs[:0:0]
	var texts []string
	for j, tc := range tcs {
		if d := removed[j]; d != nil {
			texts = append(texts, d.CallText())
		} else {
			keep = append(keep, tc)
		}
	}
	if len(keep) == 0 {
		msg, err = jsonobj.Delete(msg, "tool_calls")
	} else {
		msg, err = jsonobj.Set(msg, "tool_calls", joinArray(keep))
	}
	if err != nil {
		return nil, err
	}
	content, _, err := jsonobj.Get(msg, "content")
	if err != nil {
		return nil, err
	}
	if msg, err = jsonobj.Set(msg, "content", appendChatContent(content, joinTexts(texts))); err != nil {
		return nil, err
	}
	if ch, err = jsonobj.Set(ch, "message", msg); err != nil {
		return nil, err
	}
	if len(keep) == 0 {
		fr, _, _ := jsonobj.Get(ch, "finish_reason")
		switch string(fr) {
		case `"tool_calls"`, `"function_call"`:
			return jsonobj.Set(ch, "finish_reason", []byte(`"stop"`))
		}
	}
	return ch, nil
}

// appendChatContent adds text after a message's content: to a string
// (after a blank line), as a text part of an array, or as the content.
func appendChatContent(content []byte, text string) []byte {
	content = bytes.TrimSpace(content)
	switch {
	case len(content) > 0 && content[0] == '"':
		var s string
		if json.Unmarshal(content, &s) == nil && s != "" {
			return quote(s + "\n\n" + text)
		}
	case len(content) > 0 && content[0] == '[':
		if parts, err := splitArray(content); err == nil {
			part := append(append([]byte(`{"type":"text","text":`), quote(text)...), '}')
			return joinArray(append(parts, part))
		}
	}
	return quote(text)
}
