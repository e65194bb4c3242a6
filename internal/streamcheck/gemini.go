package streamcheck

import (
	"encoding/json"
	"fmt"
)

// geminiChunk is a GenerateContentResponse: the whole answer, or one
// chunk of a stream.
type geminiChunk struct {
	Candidates []struct {
		Content *struct {
			Role  string `json:"role"`
			Parts []struct {
				Text         *string `json:"text"`
				Thought      bool    `json:"thought"`
				FunctionCall *struct {
					ID   string          `json:"id"`
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
			} `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
		Index        int    `json:"index"`
	} `json:"candidates"`
	UsageMetadata *struct {
		PromptTokenCount        int64 `json:"promptTokenCount"`
		CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
		CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
		TotalTokenCount         int64 `json:"totalTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string          `json:"modelVersion"`
	Error        json.RawMessage `json:"error"`
}

// add reads c into a; finished says whether a finishReason came before
// it, after which no content may come.
func (c *geminiChunk) add(a *Answer, finished bool) error {
	if len(c.Error) > 0 {
		return fmt.Errorf("error chunk %s", c.Error)
	}
	if len(c.Candidates) > 1 {
		return fmt.Errorf("%d candidates", len(c.Candidates))
	}
	for _, cand := range c.Candidates {
		if cand.Index != 0 {
			return fmt.Errorf("candidate index %d", cand.Index)
		}
		if cand.Content != nil {
			if cand.Content.Role != "model" {
				return fmt.Errorf("content role %q", cand.Content.Role)
			}
			for _, p := range cand.Content.Parts {
				if finished && (p.Text != nil && *p.Text != "" || p.FunctionCall != nil) {
					return fmt.Errorf("content after finishReason")
				}
				switch {
				case p.Text != nil && p.Thought:
					a.Thinking += *p.Text
				case p.Text != nil:
					a.Text += *p.Text
				}
				if fc := p.FunctionCall; fc != nil {
					if fc.Name == "" || !jsonObject(string(fc.Args)) {
						return fmt.Errorf("functionCall without a name or an args object")
					}
					a.Calls = append(a.Calls, Call{fc.ID, fc.Name, string(fc.Args)})
				}
			}
		}
		if cand.FinishReason != "" {
			if finished {
				return fmt.Errorf("a second finishReason")
			}
			a.Stop = cand.FinishReason
		}
	}
	if u := c.UsageMetadata; u != nil {
		if u.TotalTokenCount < u.PromptTokenCount+u.CandidatesTokenCount {
			return fmt.Errorf("totalTokenCount below prompt + candidates")
		}
		a.CacheRead = u.CachedContentTokenCount
		a.Input, a.Output = u.PromptTokenCount-u.CachedContentTokenCount, u.CandidatesTokenCount
	}
	return nil
}

// ReadGeminiJSON reads a generateContent answer: one candidate from the
// model, functionCalls with a name and an args object, a finishReason,
// usageMetadata that adds up. Gemini's function calls may have no id.
func ReadGeminiJSON(b []byte) (Answer, error) {
	var a Answer
	var c geminiChunk
	if err := json.Unmarshal(b, &c); err != nil {
		return a, err
	}
	if len(c.Candidates) != 1 || c.UsageMetadata == nil {
		return a, fmt.Errorf("want one candidate and usageMetadata")
	}
	err := c.add(&a, false)
	if err == nil && a.Stop == "" {
		err = fmt.Errorf("no finishReason")
	}
	return a, err
}

// ReadGeminiStream reads streamGenerateContent?alt=sse as @google/genai
// does, and stricter: data-only events, each a GenerateContentResponse,
// no [DONE], content only up to the chunk with the finishReason, which is
// the last, usageMetadata by the end.
//
// Text must come in several chunks; a function call may come whole in one
// (as Gemini itself sends it).
func ReadGeminiStream(evs []Event) (Answer, error) {
	var a Answer
	finishedAt, usage := -1, false
	for i, e := range evs {
		if e.Name != "" {
			return a, fmt.Errorf("event %d has a name %q", i, e.Name)
		}
		var c geminiChunk
		if err := json.Unmarshal([]byte(e.Data), &c); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.Data)
		}
		if err := c.add(&a, finishedAt >= 0); err != nil {
			return a, fmt.Errorf("event %d: %v: %s", i, err, e.Data)
		}
		usage = usage || c.UsageMetadata != nil
		if a.Stop != "" && finishedAt < 0 {
			finishedAt = i
		}
		a.Events++
	}
	if finishedAt < 0 {
		return a, fmt.Errorf("no chunk with a finishReason")
	}
	if finishedAt != len(evs)-1 {
		return a, fmt.Errorf("%d chunks after the finishReason", len(evs)-1-finishedAt)
	}
	if !usage {
		return a, fmt.Errorf("no chunk with usageMetadata")
	}
	if len(a.Calls) == 0 && len(evs) < 3 {
		return a, fmt.Errorf("%d chunks: not streamed event by event", len(evs))
	}
	return a, nil
}
