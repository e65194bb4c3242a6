package streamcheck

import (
	"encoding/json"
	"fmt"
)

// chatUsage is a chat completion's usage, in a response or a chunk.
type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
}

// read checks u adds up and sets a's usage from it.
func (u *chatUsage) read(a *Answer) error {
	if u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		return fmt.Errorf("total_tokens %d is not prompt %d + completion %d", u.TotalTokens, u.PromptTokens, u.CompletionTokens)
	}
	a.CacheRead = u.PromptTokensDetails.CachedTokens
	a.CacheWrite = u.PromptTokensDetails.CacheWriteTokens
	a.Input = u.PromptTokens - a.CacheRead - a.CacheWrite
	a.Output = u.CompletionTokens
	return nil
}

// ReadChatJSON reads a chat.completion: one choice, its message from the
// assistant, tool calls with id, type and name, a finish_reason, usage
// that adds up.
func ReadChatJSON(b []byte) (Answer, error) {
	var a Answer
	var c struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role             string  `json:"role"`
				Content          *string `json:"content"`
				ReasoningContent *string `json:"reasoning_content"`
				ToolCalls        []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage *chatUsage `json:"usage"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return a, err
	}
	if c.ID == "" || c.Object != "chat.completion" || c.Created == 0 || c.Model == "" || len(c.Choices) != 1 || c.Choices[0].Index != 0 {
		return a, fmt.Errorf("not a chat.completion with one choice")
	}
	ch := c.Choices[0]
	if ch.Message.Role != "assistant" || ch.FinishReason == "" {
		return a, fmt.Errorf("choice without role or finish_reason")
	}
	if ch.Message.Content != nil {
		a.Text = *ch.Message.Content
	}
	if ch.Message.ReasoningContent != nil {
		a.Thinking = *ch.Message.ReasoningContent
	}
	for _, tc := range ch.Message.ToolCalls {
		if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
			return a, fmt.Errorf("tool call without id, type or name")
		}
		if !jsonObject(tc.Function.Arguments) {
			return a, fmt.Errorf("tool arguments %q: not a JSON object", tc.Function.Arguments)
		}
		a.Calls = append(a.Calls, Call{tc.ID, tc.Function.Name, tc.Function.Arguments})
	}
	a.Stop = ch.FinishReason
	if c.Usage == nil {
		return a, fmt.Errorf("no usage")
	}
	return a, c.Usage.read(&a)
}

// ReadChatStream reads chat.completion.chunk events as the openai SDK's
// ChatCompletionStream does, and stricter: data-only events, one id, a
// role first, tool call fragments by index with id, type and name first
// and the id never changing, arguments that make a JSON object, one
// finish_reason, [DONE] last. includeUsage says the request set
// stream_options.include_usage: then the usage chunk must come after the
// finish_reason, and otherwise it must not come at all. An error chunk
// ends the stream (with no [DONE]) and is returned as Answer.Error.
func ReadChatStream(evs []Event, includeUsage bool) (Answer, error) {
	var a Answer
	var id string
	var calls []*Call
	role, finished, usageSeen, done := "", false, false, false
	for i, e := range evs {
		if e.Name != "" {
			return a, fmt.Errorf("event %d has a name %q", i, e.Name)
		}
		if done {
			return a, fmt.Errorf("event %d after [DONE]", i)
		}
		if e.Data == "[DONE]" {
			done = true
			continue
		}
		var c struct {
			ID      *string `json:"id"`
			Object  string  `json:"object"`
			Created *int64  `json:"created"`
			Model   *string `json:"model"`
			Choices *[]struct {
				Index int `json:"index"`
				Delta struct {
					Role             string  `json:"role"`
					Content          *string `json:"content"`
					ReasoningContent *string `json:"reasoning_content"`
					ToolCalls        []struct {
						Index    *int    `json:"index"`
						ID       *string `json:"id"`
						Type     *string `json:"type"`
						Function struct {
							Name      *string `json:"name"`
							Arguments *string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *chatUsage `json:"usage"`
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(e.Data), &c); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.Data)
		}
		if c.Error != nil {
			a.Error = c.Error.Type
			if i != len(evs)-1 {
				return a, fmt.Errorf("event %d: events after an error", i)
			}
			return a, nil
		}
		if c.ID == nil || c.Object != "chat.completion.chunk" || c.Created == nil || c.Model == nil || c.Choices == nil {
			return a, fmt.Errorf("event %d is not a chunk: %s", i, e.Data)
		}
		if id == "" {
			id = *c.ID
		} else if *c.ID != id {
			return a, fmt.Errorf("event %d: id %s, was %s", i, *c.ID, id)
		}
		if c.Usage != nil {
			if !includeUsage {
				return a, fmt.Errorf("event %d: a usage chunk although include_usage was not set", i)
			}
			if len(*c.Choices) != 0 || !finished || usageSeen {
				return a, fmt.Errorf("event %d: misplaced usage chunk: %s", i, e.Data)
			}
			usageSeen = true
			if err := c.Usage.read(&a); err != nil {
				return a, fmt.Errorf("event %d: %v", i, err)
			}
		}
		for _, ch := range *c.Choices {
			if ch.Index != 0 {
				return a, fmt.Errorf("event %d: choice %d", i, ch.Index)
			}
			if finished {
				return a, fmt.Errorf("event %d: a choice after finish_reason", i)
			}
			d := ch.Delta
			if role == "" {
				if d.Role != "assistant" {
					return a, fmt.Errorf("first delta without role: %s", e.Data)
				}
				role = d.Role
			}
			if d.Content != nil {
				a.Text += *d.Content
			}
			if d.ReasoningContent != nil {
				a.Thinking += *d.ReasoningContent
			}
			for _, tc := range d.ToolCalls {
				if tc.Index == nil {
					return a, fmt.Errorf("tool call delta without index: %s", e.Data)
				}
				switch {
				case *tc.Index == len(calls):
					if tc.ID == nil || *tc.ID == "" || tc.Type == nil || *tc.Type != "function" || tc.Function.Name == nil || *tc.Function.Name == "" {
						return a, fmt.Errorf("first tool call fragment without id, type or name: %s", e.Data)
					}
					calls = append(calls, &Call{ID: *tc.ID, Name: *tc.Function.Name})
				case *tc.Index > len(calls) || *tc.Index < 0:
					return a, fmt.Errorf("tool call index %d skips", *tc.Index)
				case tc.ID != nil && *tc.ID != calls[*tc.Index].ID:
					return a, fmt.Errorf("tool call %d changes its id", *tc.Index)
				}
				if tc.Function.Arguments != nil {
					calls[*tc.Index].Args += *tc.Function.Arguments
				}
			}
			if ch.FinishReason != nil {
				finished = true
				a.Stop = *ch.FinishReason
			}
		}
		a.Events++
	}
	if !finished || !done {
		return a, fmt.Errorf("stream without finish_reason (%v) or [DONE] (%v)", finished, done)
	}
	if includeUsage && !usageSeen {
		return a, fmt.Errorf("no usage chunk although include_usage was set")
	}
	for _, c := range calls {
		if !jsonObject(c.Args) {
			return a, fmt.Errorf("tool arguments %q: not a JSON object", c.Args)
		}
		a.Calls = append(a.Calls, *c)
	}
	return a, nil
}
