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

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Tools    []struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
		Custom *struct {
			Name string `json:"name"`
		} `json:"custom"`
	} `json:"tools"`
	Functions []struct { // the deprecated functions parameter
		Name string `json:"name"`
	} `json:"functions"`
}

type chatMessage struct {
	Role       string         `json:"role"`
	Content    textOf         `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls"`
	ToolCallID string         `json:"tool_call_id"`
	Name       string         `json:"name"`
}

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
// the assistant's call it answers.
func OpenAIRequest(body []byte) (*Request, error) {
	var cr chatRequest
	if err := json.Unmarshal(body, &cr); err != nil {
		return nil, fmt.Errorf("reading the chat completions request: %w", err)
	}
	r := &Request{Model: cr.Model, Endpoint: "chat.completions"}
	for _, t := range cr.Tools {
		switch {
		case t.Function != nil:
			r.Tools = append(r.Tools, t.Function.Name)
		case t.Custom != nil:
			r.Tools = append(r.Tools, t.Custom.Name)
		}
	}
	for _, f := range cr.Functions {
		r.Tools = append(r.Tools, f.Name)
	}
	var calls map[string]Call
	for i := range cr.Messages {
		m := &cr.Messages[i]
		switch m.Role {
		case "assistant":
			for j := range m.ToolCalls {
				c := m.ToolCalls[j].call()
				if calls == nil {
					calls = make(map[string]Call)
				}
				calls[c.ID] = c
			}
		case "tool":
			c, ok := calls[m.ToolCallID]
			if !ok {
				c = Call{ID: m.ToolCallID}
			}
			r.ToolResults = append(r.ToolResults, c)
			r.Text = append(r.Text, m.Content...)
		case "function": // the deprecated function result
			r.ToolResults = append(r.ToolResults, Call{Name: m.Name})
			r.Text = append(r.Text, m.Content...)
		default: // system, developer, user
			r.Text = append(r.Text, m.Content...)
		}
	}
	return r, nil
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
	if !p.HasResponseRules() || !bytes.Contains(body, []byte(`"tool_calls"`)) {
		return body, nil, nil
	}
	calls, err := OpenAIResponseCalls(body)
	if err != nil || len(calls) == 0 {
		return body, nil, err
	}
	decisions, blocks := checkCalls(ctx, p, env, calls)
	if blocks == nil {
		return body, decisions, nil
	}
	out, err := RewriteOpenAIResponse(body, calls, blocks)
	return out, decisions, err
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
