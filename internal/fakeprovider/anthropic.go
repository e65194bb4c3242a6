package fakeprovider

import (
	"encoding/json"
	"net/http"
)

// Anthropic Messages: POST .../v1/messages and .../v1/messages/count_tokens.

type messagesRequest struct {
	Model     string `json:"model"`
	MaxTokens *int   `json:"max_tokens"`
	Messages  []struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	} `json:"messages"`
	System any `json:"system"`
	Tools  []struct {
		Name string `json:"name"`
	} `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
	Stream     bool            `json:"stream"`
}

type anthropicMessage struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"` // "message"
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []any           `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"` // always null
	Usage        *anthropicUsage `json:"usage,omitempty"`
}

// anthropicUsage: input_tokens excludes the cache read and write tokens, as
// in the real API.
type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

type textBlock struct {
	Type string `json:"type"` // "text"
	Text string `json:"text"`
}

type toolUseBlock struct {
	Type  string          `json:"type"` // "tool_use"
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// parseMessagesRequest validates the common parts of both endpoints and
// reports whether the request may proceed (an error answer was written
// otherwise).
func (c *call) parseMessagesRequest(req *messagesRequest, needMaxTokens bool) bool {
	if c.r.Header.Get("anthropic-version") == "" {
		c.badRequest("anthropic-version: header is required")
		return false
	}
	if err := json.Unmarshal(c.body, req); err != nil {
		c.badJSON(err)
		return false
	}
	switch {
	case req.Model == "":
		c.missingParam("model")
	case needMaxTokens && req.MaxTokens == nil:
		c.missingParam("max_tokens")
	case req.Messages == nil:
		c.missingParam("messages")
	default:
		return true
	}
	return false
}

// promptTokens counts the system prompt and the messages.
func (req *messagesRequest) promptTokens() int {
	n := textLen(req.System)
	for _, m := range req.Messages {
		n += textLen(m.Content)
	}
	return tokensFor(n)
}

// answeringToolResult reports whether the last message carries a
// tool_result block.
func (req *messagesRequest) answeringToolResult() bool {
	if len(req.Messages) == 0 {
		return false
	}
	blocks, _ := req.Messages[len(req.Messages)-1].Content.([]any)
	for _, b := range blocks {
		if m, _ := b.(map[string]any); m["type"] == "tool_result" {
			return true
		}
	}
	return false
}

func (c *call) anthropicCountTokens() error {
	var req messagesRequest
	if !c.parseMessagesRequest(&req, false) {
		return nil
	}
	writeJSON(c.w, http.StatusOK, map[string]int{"input_tokens": req.promptTokens()})
	return nil
}

func (c *call) anthropicMessages() error {
	var req messagesRequest
	if !c.parseMessagesRequest(&req, true) {
		return nil
	}
	var tools []string
	for _, t := range req.Tools {
		if t.Name != "" {
			tools = append(tools, t.Name)
		}
	}
	ans := planAnswer(c.cfg.Reply, *req.MaxTokens, pickTool(tools, req.ToolChoice, req.answeringToolResult()))

	stop := "end_turn"
	switch {
	case ans.toolName != "":
		stop = "tool_use"
	case ans.truncated:
		stop = "max_tokens"
	}
	var usage *anthropicUsage
	if !c.cfg.OmitUsage {
		usage = &anthropicUsage{
			InputTokens:              req.promptTokens(),
			CacheCreationInputTokens: c.cfg.CacheWriteTokens,
			CacheReadInputTokens:     c.cfg.CacheReadTokens,
			OutputTokens:             ans.outputTokens,
		}
	}
	msg := anthropicMessage{
		ID:         newID("msg_01"),
		Type:       "message",
		Role:       "assistant",
		Model:      req.Model,
		Content:    []any{},
		StopReason: &stop,
		Usage:      usage,
	}
	var block any = textBlock{Type: "text", Text: ans.text}
	if ans.toolName != "" {
		block = toolUseBlock{Type: "tool_use", ID: newID("toolu_01"), Name: ans.toolName, Input: json.RawMessage(ans.toolArgs)}
	}

	if req.Stream {
		return c.anthropicStream(msg, block, ans)
	}
	msg.Content = []any{block}
	writeJSON(c.w, http.StatusOK, msg)
	return nil
}

// anthropicStream sends the Messages streaming event sequence for msg, whose
// single content block is final.
func (c *call) anthropicStream(msg anthropicMessage, final any, ans answer) error {
	var evs []event
	add := func(typ string, rest ...member) {
		evs = append(evs, event{name: typ, data: append(object{{"type", typ}}, rest...)})
	}

	// message_start carries the message without content or stop reason and
	// with output_tokens 1, like the real API.
	start := msg
	start.StopReason = nil
	if msg.Usage != nil {
		u := *msg.Usage
		u.OutputTokens = 1
		start.Usage = &u
	}
	add("message_start", member{"message", start})

	var deltas []any
	if ans.toolName != "" {
		// The block starts with empty input; the JSON arrives in fragments,
		// the first of which is empty as on the real API.
		empty := final.(toolUseBlock)
		empty.Input = json.RawMessage("{}")
		add("content_block_start", member{"index", 0}, member{"content_block", empty})
		for _, frag := range append([]string{""}, toolArgFragments...) {
			deltas = append(deltas, object{{"type", "input_json_delta"}, {"partial_json", frag}})
		}
	} else {
		add("content_block_start", member{"index", 0}, member{"content_block", textBlock{Type: "text", Text: ""}})
		for _, p := range ans.pieces {
			deltas = append(deltas, object{{"type", "text_delta"}, {"text", p}})
		}
	}
	add("ping")
	for _, d := range deltas {
		add("content_block_delta", member{"index", 0}, member{"delta", d})
	}
	add("content_block_stop", member{"index", 0})

	delta := []member{{"delta", object{{"stop_reason", *msg.StopReason}, {"stop_sequence", nil}}}}
	if msg.Usage != nil {
		delta = append(delta, member{"usage", object{{"output_tokens", msg.Usage.OutputTokens}}})
	}
	add("message_delta", delta...)
	add("message_stop")
	return c.startStream().sendAll(evs)
}
