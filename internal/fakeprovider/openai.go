package fakeprovider

import (
	"encoding/json"
	"net/http"
	"time"
)

// OpenAI Chat Completions: POST .../v1/chat/completions.

type chatRequest struct {
	Model         string           `json:"model"`
	Messages      []map[string]any `json:"messages"`
	Stream        bool             `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int `json:"max_tokens"`
	MaxCompletionTokens int `json:"max_completion_tokens"`
	Tools               []struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"` // "chat.completion"
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             *chatUsage   `json:"usage,omitempty"`
	ServiceTier       string       `json:"service_tier"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int         `json:"index"`
	Message      chatMessage `json:"message"`
	Logprobs     any         `json:"logprobs"` // always null
	FinishReason string      `json:"finish_reason"`
}

type chatMessage struct {
	Role        string         `json:"role"`
	Content     *string        `json:"content"` // null for tool calls
	Refusal     *string        `json:"refusal"` // always null
	ToolCalls   []chatToolCall `json:"tool_calls,omitempty"`
	Annotations []any          `json:"annotations"`
}

// chatToolCall serves both the JSON message and stream deltas; in deltas
// only the first fragment carries id, type and name.
type chatToolCall struct {
	Index    *int             `json:"index,omitempty"` // streams only
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function chatFunctionCall `json:"function"`
}

type chatFunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// chatUsage: prompt_tokens includes the cached tokens and completion_tokens
// includes the reasoning tokens, as in the real API.
type chatUsage struct {
	PromptTokens            int                   `json:"prompt_tokens"`
	CompletionTokens        int                   `json:"completion_tokens"`
	TotalTokens             int                   `json:"total_tokens"`
	PromptTokensDetails     chatPromptDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails chatCompletionDetails `json:"completion_tokens_details"`
}

type chatPromptDetails struct {
	CachedTokens int `json:"cached_tokens"`
	AudioTokens  int `json:"audio_tokens"`
}

type chatCompletionDetails struct {
	ReasoningTokens          int `json:"reasoning_tokens"`
	AudioTokens              int `json:"audio_tokens"`
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

type chatChunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"` // "chat.completion.chunk"
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	ServiceTier       string          `json:"service_tier"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []chunkChoice   `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"` // absent, null or the usage object
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	Logprobs     any        `json:"logprobs"` // always null
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	Refusal   json.RawMessage `json:"refusal,omitempty"` // null in the first chunk only
	ToolCalls []chatToolCall  `json:"tool_calls,omitempty"`
}

const systemFingerprint = "fp_fake"

func (c *call) chatCompletions() error {
	var req chatRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.badJSON(err)
		return nil
	}
	if req.Model == "" {
		c.badRequest("you must provide a model parameter")
		return nil
	}
	if len(req.Messages) == 0 {
		c.missingParam("messages")
		return nil
	}

	promptBytes, lastRole := 0, ""
	for _, m := range req.Messages {
		promptBytes += textLen(m["content"])
		lastRole, _ = m["role"].(string)
	}
	var tools []string
	for _, t := range req.Tools {
		if t.Function.Name != "" {
			tools = append(tools, t.Function.Name)
		}
	}
	maxTokens := req.MaxCompletionTokens
	if maxTokens == 0 {
		maxTokens = req.MaxTokens
	}
	ans := planAnswer(c.cfg.Reply, maxTokens,
		pickTool(tools, req.ToolChoice, lastRole == "tool" || lastRole == "function"))
	usage := c.chatUsage(tokensFor(promptBytes), ans.outputTokens)

	finish := "stop"
	switch {
	case ans.toolName != "":
		finish = "tool_calls"
	case ans.truncated:
		finish = "length"
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()

	if req.Stream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		return c.chatStream(req.Model, id, created, ans, finish, usage, includeUsage)
	}

	msg := chatMessage{Role: "assistant", Annotations: []any{}}
	if ans.toolName != "" {
		msg.ToolCalls = []chatToolCall{{
			ID:       newID("call_"),
			Type:     "function",
			Function: chatFunctionCall{Name: ans.toolName, Arguments: ans.toolArgs},
		}}
	} else {
		msg.Content = &ans.text
	}
	writeJSON(c.w, http.StatusOK, chatCompletion{
		ID:                id,
		Object:            "chat.completion",
		Created:           created,
		Model:             req.Model,
		Choices:           []chatChoice{{Index: 0, Message: msg, FinishReason: finish}},
		Usage:             usage,
		ServiceTier:       "default",
		SystemFingerprint: systemFingerprint,
	})
	return nil
}

// chatUsage returns the usage for a completion, or nil when usage is omitted.
func (c *call) chatUsage(inputTokens, outputTokens int) *chatUsage {
	if c.cfg.OmitUsage {
		return nil
	}
	prompt := inputTokens + c.cfg.CacheReadTokens
	completion := outputTokens + c.cfg.ReasoningTokens
	return &chatUsage{
		PromptTokens:            prompt,
		CompletionTokens:        completion,
		TotalTokens:             prompt + completion,
		PromptTokensDetails:     chatPromptDetails{CachedTokens: c.cfg.CacheReadTokens},
		CompletionTokensDetails: chatCompletionDetails{ReasoningTokens: c.cfg.ReasoningTokens},
	}
}

// chatStream sends the answer as chat.completion.chunk events: a role
// chunk, the content (or tool-call) deltas, a finish chunk, the usage chunk
// when stream_options.include_usage is set, and "[DONE]".
func (c *call) chatStream(model, id string, created int64, ans answer, finish string, usage *chatUsage, includeUsage bool) error {
	// With include_usage the real API puts "usage":null on every chunk but
	// the last one; without it the field is absent.
	var usageNull json.RawMessage
	if includeUsage && usage != nil {
		usageNull = json.RawMessage("null")
	}
	chunk := func(delta chunkDelta, finishReason *string) event {
		return event{data: chatChunk{
			ID:                id,
			Object:            "chat.completion.chunk",
			Created:           created,
			Model:             model,
			ServiceTier:       "default",
			SystemFingerprint: systemFingerprint,
			Choices:           []chunkChoice{{Index: 0, Delta: delta, FinishReason: finishReason}},
			Usage:             usageNull,
		}}
	}

	empty := ""
	evs := []event{chunk(chunkDelta{Role: "assistant", Content: &empty, Refusal: json.RawMessage("null")}, nil)}
	if ans.toolName != "" {
		index := 0
		evs = append(evs, chunk(chunkDelta{ToolCalls: []chatToolCall{{
			Index:    &index,
			ID:       newID("call_"),
			Type:     "function",
			Function: chatFunctionCall{Name: ans.toolName, Arguments: ""},
		}}}, nil))
		for _, frag := range toolArgFragments {
			evs = append(evs, chunk(chunkDelta{ToolCalls: []chatToolCall{{
				Index:    &index,
				Function: chatFunctionCall{Arguments: frag},
			}}}, nil))
		}
	} else {
		for _, p := range ans.pieces {
			evs = append(evs, chunk(chunkDelta{Content: &p}, nil))
		}
	}
	evs = append(evs, chunk(chunkDelta{}, &finish))
	if includeUsage && usage != nil {
		evs = append(evs, event{data: chatChunk{
			ID:                id,
			Object:            "chat.completion.chunk",
			Created:           created,
			Model:             model,
			ServiceTier:       "default",
			SystemFingerprint: systemFingerprint,
			Choices:           []chunkChoice{},
			Usage:             marshal(usage),
		}})
	}
	evs = append(evs, event{data: rawData("[DONE]")})
	return c.startStream().sendAll(evs)
}
