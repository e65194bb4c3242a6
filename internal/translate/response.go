package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Complete (non-streaming) responses, back into the client's format.
//
// Usage keeps every token in the bucket the client's format puts it in:
// OpenAI counts cached tokens inside prompt_tokens, Anthropic reports
// input_tokens, cache_read_input_tokens and cache_creation_input_tokens
// apart. Anthropic's cache writes have no OpenAI field; they are counted in
// prompt_tokens and shown as prompt_tokens_details.cache_write_tokens (as
// OpenRouter does), which the gateway's own metering reads.

// MessagesResponseToChat translates an Anthropic message into an OpenAI
// chat.completion. model names the model in the answer; empty keeps the
// message's own. Thinking becomes message.reasoning_content; redacted
// thinking and server tool blocks are left out.
func MessagesResponseToChat(body []byte, model string) ([]byte, error) {
	var m struct {
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		Model      string          `json:"model"`
		Content    json.RawMessage `json:"content"`
		StopReason string          `json:"stop_reason"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decoding messages response: %w", err)
	}
	content, err := anthropicContent(m.Content)
	if err != nil {
		return nil, fmt.Errorf("decoding messages response: content: %w", err)
	}
	if m.Type != "message" {
		return nil, fmt.Errorf("decoding messages response: type %q is not a message", m.Type)
	}
	if model == "" {
		model = m.Model
	}
	var text, thinking strings.Builder
	var calls []obj
	for i := range content {
		b := &content[i]
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			thinking.WriteString(b.Thinking)
		case "tool_use":
			calls = append(calls, obj{
				{"id", b.ID},
				{"type", "function"},
				{"function", obj{{"name", b.Name}, {"arguments", toolArguments(b.Input)}}},
			})
		}
	}
	msg := chatAnswerMessage(text.String(), "", thinking.String(), calls)
	c := obj{
		{"id", m.ID},
		{"object", "chat.completion"},
		{"created", now().Unix()},
		{"model", model},
		{"choices", []obj{{
			{"index", 0},
			{"message", msg},
			{"logprobs", nil},
			{"finish_reason", finishReason(m.StopReason, len(calls) > 0)},
		}}},
	}
	if u, _, ok := usage.FromBody(usage.Messages, body); ok {
		c.set("usage", chatUsage(u))
	}
	return marshal(c)
}

// chatCompletion is a chat completion as the translators read it.
type chatCompletion struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Created int64  `json:"created"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content          json.RawMessage `json:"content"`
			Refusal          string          `json:"refusal"`
			ToolCalls        []chatToolCall  `json:"tool_calls"`
			ReasoningContent json.RawMessage `json:"reasoning_content"`
			Reasoning        json.RawMessage `json:"reasoning"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// decodeChatCompletion reads a chat completion with at least one choice.
func decodeChatCompletion(body []byte) (*chatCompletion, error) {
	c := new(chatCompletion)
	if err := json.Unmarshal(body, c); err != nil {
		return nil, fmt.Errorf("decoding chat completion: %w", err)
	}
	if len(c.Choices) == 0 {
		return nil, errors.New("decoding chat completion: no choices")
	}
	return c, nil
}

// ChatResponseToMessages translates an OpenAI chat.completion into an
// Anthropic message. model names the model in the answer; empty keeps the
// completion's own. reasoning_content (or reasoning) becomes a thinking
// block with an empty signature: Anthropic itself would refuse it back in
// a later request, but another OpenAI-format target does not need it. A
// refusal becomes text with stop_reason "refusal". Only the first choice
// is translated.
func ChatResponseToMessages(body []byte, model string) ([]byte, error) {
	c, err := decodeChatCompletion(body)
	if err != nil {
		return nil, err
	}
	if model == "" {
		model = c.Model
	}
	ch := &c.Choices[0]
	content := []obj{}
	if r := reasoningText(ch.Message.ReasoningContent, ch.Message.Reasoning); r != "" {
		content = append(content, obj{{"type", "thinking"}, {"thinking", r}, {"signature", ""}})
	}
	parts, err := chatContent(ch.Message.Content)
	if err != nil {
		return nil, fmt.Errorf("decoding chat completion: content: %w", err)
	}
	var text strings.Builder
	for _, p := range parts {
		switch p.Type {
		case "text":
			text.WriteString(p.Text)
		case "refusal":
			text.WriteString(p.Refusal)
		}
	}
	finish := ch.FinishReason
	if ch.Message.Refusal != "" {
		text.WriteString(ch.Message.Refusal)
		finish = "content_filter"
	}
	if text.Len() > 0 {
		content = append(content, textBlock(text.String()))
	}
	for _, tc := range ch.Message.ToolCalls {
		content = append(content, obj{
			{"type", "tool_use"},
			{"id", tc.ID},
			{"name", tc.Function.Name},
			{"input", toolInput(tc.arguments())},
		})
	}
	m := obj{
		{"id", c.ID},
		{"type", "message"},
		{"role", "assistant"},
		{"model", model},
		{"content", content},
		{"stop_reason", stopReason(finish, len(ch.Message.ToolCalls) > 0)},
		{"stop_sequence", nil},
	}
	u, _, _ := usage.FromBody(usage.ChatCompletions, body)
	m.set("usage", messagesUsage(u))
	return marshal(m)
}

// reasoningText returns the reasoning of an OpenAI-compatible message or
// delta: reasoning_content (DeepSeek, vLLM) or reasoning (OpenRouter,
// Ollama, newer vLLM), when it is a string.
func reasoningText(content, reasoning json.RawMessage) string {
	if s, ok := stringValue(content); ok && s != "" {
		return s
	}
	s, _ := stringValue(reasoning)
	return s
}

// chatUsage renders usage as an OpenAI usage object.
func chatUsage(u usage.Usage) obj {
	prompt := u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens
	details := obj{{"cached_tokens", u.CacheReadTokens}}
	if u.CacheWriteTokens > 0 {
		details.set("cache_write_tokens", u.CacheWriteTokens)
	}
	return obj{
		{"prompt_tokens", prompt},
		{"completion_tokens", u.OutputTokens},
		{"total_tokens", prompt + u.OutputTokens},
		{"prompt_tokens_details", details},
	}
}

// messagesUsage renders usage as an Anthropic usage object.
func messagesUsage(u usage.Usage) obj {
	return obj{
		{"input_tokens", u.InputTokens},
		{"cache_creation_input_tokens", u.CacheWriteTokens},
		{"cache_read_input_tokens", u.CacheReadTokens},
		{"output_tokens", u.OutputTokens},
	}
}

// chatAnswerMessage is the assistant message of a translated chat
// completion: content is the text, null when there is none and tool calls
// stand instead; refusal the refusal, else null; reasoning_content the
// model's thinking, when there was any; tool_calls the calls, when any.
func chatAnswerMessage(text, refusal, reasoning string, calls []obj) obj {
	msg := obj{{"role", "assistant"}}
	if text != "" || len(calls) == 0 {
		msg.set("content", text)
	} else {
		msg.set("content", nil)
	}
	if refusal != "" {
		msg.set("refusal", refusal)
	} else {
		msg.set("refusal", nil)
	}
	if reasoning != "" {
		msg.set("reasoning_content", reasoning)
	}
	if len(calls) > 0 {
		msg.set("tool_calls", calls)
	}
	return msg
}
