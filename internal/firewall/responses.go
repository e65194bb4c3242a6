package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// The OpenAI Responses adapter: a response's function_call and
// custom_tool_call output items, and the response with the blocked ones
// replaced by message items. The stream gate (responses_stream.go)
// rewrites the output of its final response event with the same code.

type responsesItem struct {
	Type      string        `json:"type"`
	ID        string        `json:"id"`
	CallID    string        `json:"call_id"`
	Name      string        `json:"name"`
	Arguments argumentsText `json:"arguments"` // function_call
	Input     string        `json:"input"`     // custom_tool_call
}

// isResponsesCall reports an output item type that is a call the client
// runs (function tools, custom tools). Calls the provider runs itself
// (web_search_call, mcp_call, ...) are not the client's and pass.
func isResponsesCall(typ string) bool { return typ == "function_call" || typ == "custom_tool_call" }

func (it *responsesItem) call() Call {
	id := it.CallID
	if id == "" {
		id = it.ID
	}
	if it.Type == "custom_tool_call" {
		return Call{ID: id, Name: it.Name, Arguments: it.Input}
	}
	return Call{ID: id, Name: it.Name, Arguments: string(it.Arguments)}
}

var (
	functionCallTypeKey = []byte(`"function_call"`)
	customCallTypeKey   = []byte(`"custom_tool_call"`)
)

// ResponsesResponseCalls lists the call items of a response's output
// (Choice 0, Position the item's place in output).
func ResponsesResponseCalls(body []byte) ([]ResponseCall, error) {
	var a struct {
		Output []responsesItem `json:"output"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	var calls []ResponseCall
	for i := range a.Output {
		if isResponsesCall(a.Output[i].Type) {
			calls = append(calls, ResponseCall{Position: i, Call: a.Output[i].call()})
		}
	}
	return calls, nil
}

// CheckResponsesResponse runs the response phase on a Responses API
// response's function_call and custom_tool_call items and returns the
// response with each blocked one replaced in place by a completed
// assistant message item whose output_text is Decision.CallText (body
// itself when none is), and the decisions. The response's status is
// left as it is: a response that ends with calls is "completed" as one
// that ends with text.
func CheckResponsesResponse(ctx context.Context, p *Policy, env *Env, body []byte) ([]byte, []Decision, error) {
	return checkAnswer(ctx, p, env, body, func(b []byte) bool {
		return bytes.Contains(b, functionCallTypeKey) || bytes.Contains(b, customCallTypeKey)
	}, answerFormat{ResponsesResponseCalls, RewriteResponsesResponse})
}

// RewriteResponsesResponse replaces each call item whose block is set
// (blocks[i] for calls[i]) by a message item saying why. Everything else
// keeps its bytes.
func RewriteResponsesResponse(body []byte, calls []ResponseCall, blocks []*Decision) ([]byte, error) {
	raw, ok, err := jsonobj.Get(body, "output")
	if err != nil || !ok {
		return nil, fmt.Errorf("rewriting the response: no output")
	}
	output, err := splitArray(raw)
	if err != nil {
		return nil, fmt.Errorf("rewriting the response: %w", err)
	}
	for i := range calls {
		if pos := calls[i].Position; blocks[i] != nil && pos < len(output) {
			output[pos] = responsesMessageItem(blockedItemID(calls[i].ID), blocks[i].CallText(), true)
		}
	}
	return jsonobj.Set(body, "output", joinArray(output))
}

// blockedItemID is the id of the message item that replaces a blocked
// call: derived from the call's id, so the JSON and the stream forms of
// one answer agree.
func blockedItemID(callID string) string { return "msg_fw_" + callID }

// responsesMessageItem is an assistant message item with one output_text
// part: completed with its text, or in progress with none (the start of
// a streamed item).
func responsesMessageItem(id, text string, completed bool) []byte {
	b := []byte(`{"id":`)
	b = append(b, quote(id)...)
	if !completed {
		return append(b, `,"type":"message","status":"in_progress","role":"assistant","content":[]}`...)
	}
	b = append(b, `,"type":"message","status":"completed","role":"assistant","content":[`...)
	b = append(b, outputTextPart(text)...)
	return append(b, "]}"...)
}

func outputTextPart(text string) []byte {
	b := []byte(`{"type":"output_text","annotations":[],"logprobs":[],"text":`)
	b = append(b, quote(text)...)
	return append(b, '}')
}
