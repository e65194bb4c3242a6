package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Complete Gemini answers (GenerateContentResponse) to and from OpenAI
// chat completions, and Gemini's error bodies.
//
// Usage: Gemini's promptTokenCount includes cached tokens, as OpenAI's
// prompt_tokens does; candidatesTokenCount excludes the thoughts, which
// OpenAI counts inside completion_tokens (and shows in
// completion_tokens_details.reasoning_tokens).

// geminiResponse is a GenerateContentResponse (or one chunk of a stream).
type geminiResponse struct {
	Candidates []struct {
		Content      *geminiContent `json:"content"`
		FinishReason string         `json:"finishReason"`
		Index        int            `json:"index"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata json.RawMessage `json:"usageMetadata"`
	ModelVersion  string          `json:"modelVersion"`
	ResponseID    string          `json:"responseId"`
	Error         json.RawMessage `json:"error"`
}

// geminiStop maps a Gemini finishReason to an Anthropic stop_reason (the
// words the stream writers speak).
func geminiStop(finish string) string {
	switch finish {
	case "MAX_TOKENS":
		return "max_tokens"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE":
		return "refusal"
	}
	return "end_turn" // STOP, MALFORMED_FUNCTION_CALL, OTHER, …
}

// geminiFinish maps an Anthropic stop_reason to a Gemini finishReason.
// Gemini ends a function-calling turn with STOP.
func geminiFinish(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "MAX_TOKENS"
	case "refusal":
		return "SAFETY"
	}
	return "STOP"
}

// GeminiResponseToChat translates a GenerateContentResponse into an OpenAI
// chat.completion: every candidate a choice, thought parts as
// reasoning_content, functionCall parts as tool_calls (Gemini's id, or a
// new one). A prompt blocked before any candidate becomes an empty
// content_filter choice. model names the model in the answer; empty keeps
// the response's modelVersion.
func GeminiResponseToChat(body []byte, model string) ([]byte, error) {
	var r geminiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding generateContent response: %w", err)
	}
	if !isNull(r.Error) {
		return nil, errors.New("decoding generateContent response: it is an error")
	}
	if model == "" {
		model = r.ModelVersion
	}
	id := r.ResponseID
	if id == "" {
		id = ids.New("chatcmpl")
	}
	choices := make([]obj, 0, len(r.Candidates))
	for _, cand := range r.Candidates {
		var text, thinking strings.Builder
		var calls []obj
		if cand.Content != nil {
			for i := range cand.Content.Parts {
				p := &cand.Content.Parts[i]
				switch {
				case p.Text != nil && p.Thought:
					thinking.WriteString(*p.Text)
				case p.Text != nil:
					text.WriteString(*p.Text)
				case p.FunctionCall != nil:
					cid := p.FunctionCall.ID
					if cid == "" {
						cid = ids.New("call")
					}
					calls = append(calls, obj{{"id", cid}, {"type", "function"},
						{"function", obj{{"name", p.FunctionCall.Name}, {"arguments", toolArguments(p.FunctionCall.Args)}}}})
				}
			}
		}
		msg := chatAnswerMessage(text.String(), "", thinking.String(), calls)
		choices = append(choices, obj{{"index", cand.Index}, {"message", msg}, {"logprobs", nil},
			{"finish_reason", finishReason(geminiStop(cand.FinishReason), len(calls) > 0)}})
	}
	if len(choices) == 0 {
		msg := obj{{"role", "assistant"}, {"content", ""}, {"refusal", nil}}
		choices = append(choices, obj{{"index", 0}, {"message", msg}, {"logprobs", nil}, {"finish_reason", "content_filter"}})
	}
	c := obj{{"id", id}, {"object", "chat.completion"}, {"created", now().Unix()}, {"model", model}, {"choices", choices}}
	if u, _, ok := usage.FromBody(usage.GenerateContent, body); ok {
		c.set("usage", chatUsageWithReasoning(u))
	}
	return marshal(c)
}

// chatUsageWithReasoning is chatUsage with the reasoning tokens shown.
func chatUsageWithReasoning(u usage.Usage) obj {
	o := chatUsage(u)
	if u.ReasoningTokens > 0 {
		o.set("completion_tokens_details", obj{{"reasoning_tokens", u.ReasoningTokens}})
	}
	return o
}

// ChatResponseToGemini translates an OpenAI chat.completion into a
// GenerateContentResponse: every choice a candidate, reasoning_content as
// a thought part, tool_calls as functionCall parts (with the call's id,
// which Google's SDKs hand back in the functionResponse). model names
// the model (modelVersion); empty keeps the completion's own.
func ChatResponseToGemini(body []byte, model string) ([]byte, error) {
	c, err := decodeChatCompletion(body)
	if err != nil {
		return nil, err
	}
	if model == "" {
		model = c.Model
	}
	candidates := make([]obj, 0, len(c.Choices))
	for _, ch := range c.Choices {
		parts := []obj{}
		if r := reasoningText(ch.Message.ReasoningContent, ch.Message.Reasoning); r != "" {
			parts = append(parts, obj{{"text", r}, {"thought", true}})
		}
		content, err := chatContent(ch.Message.Content)
		if err != nil {
			return nil, fmt.Errorf("decoding chat completion: content: %w", err)
		}
		var text strings.Builder
		for _, p := range content {
			text.WriteString(p.Text)
			text.WriteString(p.Refusal)
		}
		finish := ch.FinishReason
		if ch.Message.Refusal != "" {
			text.WriteString(ch.Message.Refusal)
			finish = "content_filter"
		}
		if text.Len() > 0 {
			parts = append(parts, obj{{"text", text.String()}})
		}
		for _, tc := range ch.Message.ToolCalls {
			fc := obj{}
			if tc.ID != "" {
				fc.set("id", tc.ID)
			}
			fc.set("name", tc.Function.Name)
			fc.set("args", toolInput(tc.arguments()))
			parts = append(parts, obj{{"functionCall", fc}})
		}
		if len(parts) == 0 {
			parts = append(parts, obj{{"text", ""}})
		}
		candidates = append(candidates, obj{
			{"content", obj{{"parts", parts}, {"role", "model"}}},
			{"finishReason", geminiFinish(stopReason(finish, len(ch.Message.ToolCalls) > 0))},
			{"index", ch.Index},
		})
	}
	g := obj{{"candidates", candidates}}
	if u, _, ok := usage.FromBody(usage.ChatCompletions, body); ok {
		g.set("usageMetadata", geminiUsage(u))
	}
	g.set("modelVersion", model)
	if c.ID != "" {
		g.set("responseId", c.ID)
	}
	return marshal(g)
}

// geminiUsage renders usage as Gemini's usageMetadata.
func geminiUsage(u usage.Usage) obj {
	prompt := u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens
	reasoning := min(u.ReasoningTokens, u.OutputTokens)
	m := obj{{"promptTokenCount", prompt}, {"candidatesTokenCount", u.OutputTokens - reasoning}, {"totalTokenCount", prompt + u.OutputTokens}}
	if u.CacheReadTokens > 0 {
		m.set("cachedContentTokenCount", u.CacheReadTokens)
	}
	if reasoning > 0 {
		m.set("thoughtsTokenCount", reasoning)
	}
	return m
}

// ErrorToGemini translates an OpenAI or Anthropic error body (or a body of
// no known shape) into Google's {"error":{"code","message","status"}}
// with the status's google.rpc name.
func ErrorToGemini(status int, body []byte) []byte {
	_, msg := chatError(status, body)
	out, _ := marshal(obj{{"error", obj{{"code", status}, {"message", msg}, {"status", apierr.GeminiStatus(status)}}}})
	return out
}

// geminiErrorEvent renders an error inside a stream (Anthropic error type
// and message) as a Gemini error chunk.
func geminiErrorEvent(typ, msg string) []byte {
	status := 500
	switch typ {
	case "invalid_request_error":
		status = 400
	case "authentication_error":
		status = 401
	case "permission_error":
		status = 403
	case "not_found_error":
		status = 404
	case "rate_limit_error":
		status = 429
	case "overloaded_error":
		status = 503
	case "timeout_error":
		status = 504
	}
	out, _ := marshal(obj{{"error", obj{{"code", status}, {"message", msg}, {"status", apierr.GeminiStatus(status)}}}})
	return out
}
