package translate

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Reading upstream streams: each parser turns its format's events into
// writer calls.

// messagesParser reads an Anthropic Messages stream.
type messagesParser struct {
	u usage.Usage // as reported so far: message_start, then message_delta
}

type messagesEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string          `json:"id"`
		Model string          `json:"model"`
		Usage *anthropicUsage `json:"usage"`
	} `json:"message"`
	Index        int    `json:"index"`
	ContentBlock *block `json:"content_block"`
	Delta        *struct {
		Type         string `json:"type"`
		Text         string `json:"text"`
		PartialJSON  string `json:"partial_json"`
		Thinking     string `json:"thinking"`
		Signature    string `json:"signature"`
		StopReason   string `json:"stop_reason"`
		StopSequence string `json:"stop_sequence"`
	} `json:"delta"`
	Usage *anthropicUsage `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// anthropicUsage is a usage object of a stream event; a member that is
// absent or null is not reported, rather than zero.
type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
}

func (a *anthropicUsage) applyTo(u *usage.Usage) {
	if a == nil {
		return
	}
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = max(*v, 0)
		}
	}
	set(&u.InputTokens, a.InputTokens)
	set(&u.CacheWriteTokens, a.CacheCreationInputTokens)
	set(&u.CacheReadTokens, a.CacheReadInputTokens)
	set(&u.OutputTokens, a.OutputTokens)
}

func (p *messagesParser) parse(name string, data []byte, w writer) error {
	var ev messagesEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("reading %s event: %w", name, err)
	}
	typ := ev.Type
	if typ == "" {
		typ = name
	}
	switch typ {
	case "message_start":
		var id, model string
		if m := ev.Message; m != nil {
			id, model = m.ID, m.Model
			m.Usage.applyTo(&p.u)
		}
		w.begin(id, model, 0, p.u)
	case "content_block_start":
		b := ev.ContentBlock
		if b == nil {
			return fmt.Errorf("reading %s event: no content_block", typ)
		}
		switch b.Type {
		case "text":
			w.open(ev.Index, kindText, "", "")
			w.delta(ev.Index, kindText, b.Text)
		case "thinking":
			w.open(ev.Index, kindThinking, "", "")
			w.delta(ev.Index, kindThinking, b.Thinking)
		case "tool_use":
			w.open(ev.Index, kindTool, b.ID, b.Name)
		default: // redacted_thinking, server_tool_use, web_search_tool_result, ...
			w.open(ev.Index, kindOther, "", "")
		}
	case "content_block_delta":
		d := ev.Delta
		if d == nil {
			return fmt.Errorf("reading %s event: no delta", typ)
		}
		switch d.Type {
		case "text_delta":
			w.delta(ev.Index, kindText, d.Text)
		case "thinking_delta":
			w.delta(ev.Index, kindThinking, d.Thinking)
		case "signature_delta":
			w.delta(ev.Index, kindSignature, d.Signature)
		case "input_json_delta":
			w.delta(ev.Index, kindTool, d.PartialJSON)
		}
		// citations_delta and whatever comes next: nothing to translate.
	case "content_block_stop":
		w.close(ev.Index)
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			w.finish(ev.Delta.StopReason, ev.Delta.StopSequence)
		}
		if ev.Usage != nil {
			ev.Usage.applyTo(&p.u)
			w.usage(p.u)
		}
	case "message_stop":
		w.end()
	case "error":
		var typ, msg string
		if ev.Error != nil {
			typ, msg = ev.Error.Type, ev.Error.Message
		}
		if typ == "" {
			typ = "api_error"
		}
		w.fail(typ, msg)
	}
	// ping and unknown events: nothing to translate.
	return nil
}

// chatParser reads an OpenAI chat-completions stream. Only the first
// choice is read (translated requests never ask for more).
type chatParser struct {
	begun   bool
	tools   map[int]bool // tool-call keys opened
	lastKey int          // the latest tool call, for deltas without index
	refusal bool
}

type chatChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Created int64  `json:"created"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content          json.RawMessage `json:"content"`
			Refusal          json.RawMessage `json:"refusal"`
			ReasoningContent json.RawMessage `json:"reasoning_content"`
			Reasoning        json.RawMessage `json:"reasoning"`
			ToolCalls        []struct {
				Index    *int   `json:"index"`
				ID       string `json:"id"`
				Function struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage json.RawMessage `json:"usage"`
	Error json.RawMessage `json:"error"`
}

var doneData = []byte("[DONE]")

func (p *chatParser) parse(_ string, data []byte, w writer) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, doneData) {
		w.end()
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	var c chatChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("reading chat completion chunk: %w", err)
	}
	if !isNull(c.Error) {
		typ, msg := chatError(0, data)
		w.fail(typ, msg)
		return nil
	}
	if !p.begun {
		p.begun = true
		p.lastKey = -1
		w.begin(c.ID, c.Model, c.Created, usage.Usage{})
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue
		}
		d := &ch.Delta
		if r := reasoningText(d.ReasoningContent, d.Reasoning); r != "" {
			w.delta(keyThinking, kindThinking, r)
		}
		if s, _ := stringValue(d.Content); s != "" {
			w.delta(keyText, kindText, s)
		}
		if s, _ := stringValue(d.Refusal); s != "" {
			p.refusal = true
			w.delta(keyText, kindText, s)
		}
		for _, tc := range d.ToolCalls {
			key := p.lastKey
			switch {
			case tc.Index != nil:
				key = *tc.Index
			case tc.ID != "":
				key = len(p.tools) // a new call from a server that sends no index
			}
			if key < 0 {
				key = 0
			}
			if !p.tools[key] {
				if p.tools == nil {
					p.tools = make(map[int]bool)
				}
				p.tools[key] = true
				w.open(key, kindTool, tc.ID, tc.Function.Name)
			}
			p.lastKey = key
			args, ok := stringValue(tc.Function.Arguments)
			if !ok && !isNull(tc.Function.Arguments) {
				args = string(tc.Function.Arguments) // an object, from a lenient server
			}
			if args != "" {
				w.delta(key, kindTool, args)
			}
		}
		if ch.FinishReason != "" {
			stop := stopReason(ch.FinishReason, false)
			if p.refusal {
				stop = "refusal"
			}
			w.finish(stop, "")
		}
	}
	if len(c.Usage) > 0 && c.Usage[0] == '{' {
		if u, _, ok := usage.FromBody(usage.ChatCompletions, data); ok {
			w.usage(u)
		}
	}
	return nil
}
