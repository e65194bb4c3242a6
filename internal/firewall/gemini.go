package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// The Gemini generateContent adapter: an answer's functionCall parts, and
// the answer with the blocked ones replaced by text. A stream chunk is a
// GenerateContentResponse too, so the gate (gemini_stream.go) rewrites
// chunks with the same code.

type geminiAnswer struct {
	Candidates []struct {
		Content struct {
			Parts []struct {
				FunctionCall *struct {
					ID   string          `json:"id"`
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
			} `json:"parts"`
		} `json:"content"`
	} `json:"candidates"`
}

var functionCallKey = []byte(`"functionCall"`)

// GeminiResponseCalls lists the functionCall parts of a
// GenerateContentResponse (Choice the candidate's place, Position the
// part's place in its content). Arguments are the args object's compact
// JSON.
func GeminiResponseCalls(body []byte) ([]ResponseCall, error) {
	var a geminiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("reading the generateContent answer: %w", err)
	}
	var calls []ResponseCall
	for ci := range a.Candidates {
		for j, p := range a.Candidates[ci].Content.Parts {
			if fc := p.FunctionCall; fc != nil {
				calls = append(calls, ResponseCall{Choice: ci, Position: j, Call: Call{ID: fc.ID, Name: fc.Name, Arguments: compactJSON(fc.Args)}})
			}
		}
	}
	return calls, nil
}

// CheckGeminiResponse runs the response phase on a generateContent
// answer's functionCall parts and returns the answer with the blocked
// ones replaced by a text part saying why (body itself when none is) and
// the decisions. finishReason is left as it is: Gemini finishes a turn
// with function calls with STOP, as one with text.
func CheckGeminiResponse(ctx context.Context, p *Policy, env *Env, body []byte) ([]byte, []Decision, error) {
	return checkAnswer(ctx, p, env, body, func(b []byte) bool { return bytes.Contains(b, functionCallKey) }, answerFormat{GeminiResponseCalls, RewriteGeminiResponse})
}

// RewriteGeminiResponse replaces each functionCall part whose block is
// set (blocks[i] for calls[i]) by a text part with Decision.CallText.
// Everything else keeps its bytes.
func RewriteGeminiResponse(body []byte, calls []ResponseCall, blocks []*Decision) ([]byte, error) {
	raw, ok, err := jsonobj.Get(body, "candidates")
	if err != nil || !ok {
		return nil, fmt.Errorf("rewriting the generateContent answer: no candidates")
	}
	cands, err := splitArray(raw)
	if err != nil {
		return nil, fmt.Errorf("rewriting the generateContent answer: %w", err)
	}
	for ci := range cands {
		removed := map[int]string{}
		for i := range calls {
			if calls[i].Choice == ci && blocks[i] != nil {
				removed[calls[i].Position] = blocks[i].CallText()
			}
		}
		if len(removed) == 0 {
			continue
		}
		c, _, err := rewriteGeminiCandidate(cands[ci], removed, false)
		if err != nil {
			return nil, fmt.Errorf("rewriting the generateContent candidate %d: %w", ci, err)
		}
		cands[ci] = c
	}
	return jsonobj.Set(body, "candidates", joinArray(cands))
}

// rewriteGeminiCandidate replaces the parts at the given places by text
// parts, after a blank line when text comes before them (sawText: in
// earlier chunks of a stream); it reports whether the candidate's text is
// not empty after it.
func rewriteGeminiCandidate(cand []byte, texts map[int]string, sawText bool) ([]byte, bool, error) {
	content, ok, err := jsonobj.Get(cand, "content")
	if err != nil || !ok {
		return nil, false, fmt.Errorf("no content")
	}
	raw, ok, err := jsonobj.Get(content, "parts")
	if err != nil || !ok {
		return nil, false, fmt.Errorf("no parts")
	}
	parts, err := splitArray(raw)
	if err != nil {
		return nil, false, err
	}
	for j := range parts {
		text, ok := texts[j]
		if !ok {
			var p struct {
				Text    string `json:"text"`
				Thought bool   `json:"thought"`
			}
			if json.Unmarshal(parts[j], &p) == nil && p.Text != "" && !p.Thought {
				sawText = true
			}
			continue
		}
		if sawText {
			text = "\n\n" + text
		}
		parts[j], sawText = geminiTextPart(text), true
	}
	if content, err = jsonobj.Set(content, "parts", joinArray(parts)); err != nil {
		return nil, false, err
	}
	cand, err = jsonobj.Set(cand, "content", content)
	return cand, sawText, err
}

func geminiTextPart(text string) []byte {
	return append(append([]byte(`{"text":`), quote(text)...), '}')
}
