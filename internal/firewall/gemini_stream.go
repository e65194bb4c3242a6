package firewall

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// GeminiGate gates a Gemini streamGenerateContent stream (SSE of
// GenerateContentResponse chunks, data only, no closing event).
//
// Gemini sends a functionCall part whole, in one chunk, so nothing has to
// be held across chunks: a chunk without a functionCall passes at once,
// unread; a chunk with some is decided when it arrives and passes
// unchanged, or with each blocked functionCall part replaced in place by
// a text part with Decision.CallText (after a blank line when text came
// before). finishReason stays as it is (STOP: Gemini ends a turn with
// calls as one with text). A chunk with functionCall parts that cannot be
// read is dropped in enforce mode. In dryRun the stream passes unchanged
// and the calls are only decided.
//
// Function call arguments streamed in pieces (Vertex AI's partialArgs
// with willContinue) are not assembled: each piece is checked as a call
// of its own with the arguments it carries.
type GeminiGate struct {
	ctx       context.Context
	p         *Policy
	env       *Env
	sawText   bool
	decisions []Decision
}

// NewGeminiGate returns a gate checking a Gemini stream against p's
// response rules; ctx bounds decision rules' judges.
func NewGeminiGate(ctx context.Context, p *Policy, env *Env) *GeminiGate {
	return &GeminiGate{ctx: ctx, p: p, env: env}
}

func (g *GeminiGate) Decisions() []Decision { return g.decisions }

// Close has nothing to release: no call is held between chunks.
func (g *GeminiGate) Close(func(string, []byte) error) error { return nil }

var geminiTextPrefix = []byte(`"text":"`)

func (g *GeminiGate) Event(name string, data []byte, emit func(string, []byte) error) error {
	if !bytes.Contains(data, functionCallKey) {
		g.noteText(data)
		return emit(name, data)
	}
	calls, err := GeminiResponseCalls(bytes.TrimSpace(data))
	if err != nil {
		if g.p.Mode == Enforce {
			return nil // unreadable calls never reach the client
		}
		return emit(name, data)
	}
	if len(calls) == 0 {
		return emit(name, data) // "functionCall" in a text
	}
	ds, blocks := checkCalls(g.ctx, g.p, g.env, calls)
	g.decisions = append(g.decisions, ds...)
	if blocks == nil || g.p.Mode == DryRun {
		g.noteText(data)
		return emit(name, data)
	}
	out, err := g.rewrite(bytes.TrimSpace(data), calls, blocks)
	if err != nil {
		return nil // valid JSON with calls, but not where a rewrite finds them: dropped
	}
	return emit(name, out)
}

// noteText remembers that the client got text (a "text" member that is
// not empty; a thought's text counts too, which only adds a blank line).
func (g *GeminiGate) noteText(data []byte) {
	if !g.sawText {
		i := bytes.Index(data, geminiTextPrefix)
		g.sawText = i >= 0 && i+len(geminiTextPrefix) < len(data) && data[i+len(geminiTextPrefix)] != '"'
	}
}

// rewrite is RewriteGeminiResponse within a stream: a replacement comes
// after a blank line when text came before, in this chunk or earlier.
func (g *GeminiGate) rewrite(data []byte, calls []ResponseCall, blocks []*Decision) ([]byte, error) {
	cands, err := geminiCandidates(data)
	if err != nil {
		return nil, err
	}
	saw := g.sawText
	for ci := range cands {
		texts := map[int]string{}
		for i := range calls {
			if calls[i].Choice == ci && blocks[i] != nil {
				texts[calls[i].Position] = blocks[i].CallText()
			}
		}
		if len(texts) == 0 {
			continue
		}
		var s bool
		if cands[ci], s, err = rewriteGeminiCandidate(cands[ci], texts, g.sawText); err != nil {
			return nil, err
		}
		saw = saw || s
	}
	g.sawText = saw
	return jsonobj.Set(data, "candidates", joinArray(cands))
}

func geminiCandidates(data []byte) ([]json.RawMessage, error) {
	var c struct {
		Candidates []json.RawMessage `json:"candidates"`
	}
	err := json.Unmarshal(data, &c)
	return c.Candidates, err
}

var _ Gate = (*GeminiGate)(nil)
