package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
)

// What the wire-format adapters share. An adapter (openai.go,
// anthropic.go, gemini.go, responses.go) only has to fill a Request
// from a body, list an answer's tool calls, and rewrite an answer without
// the blocked ones; a stream gate holds a streamed call until it is whole.

// ResponseCall is one tool call of a JSON answer, located so a rewrite can
// remove it: Choice is the OpenAI choice (0 for formats with one answer),
// Position the call's place among that choice's tool calls (OpenAI) or
// content blocks (Anthropic).
type ResponseCall struct {
	Choice, Position int
	Call
}

// answerFormat is how one wire format's JSON answer carries tool calls:
// read finds them, rewrite replaces the blocked ones.
type answerFormat struct {
	read    func(body []byte) ([]ResponseCall, error)
	rewrite func(body []byte, calls []ResponseCall, blocks []*Decision) ([]byte, error)
}

// checkAnswer runs the response phase on a JSON answer in format f (a
// body that mentions no call, by has, is not read) and returns the answer
// with the blocked calls replaced (body itself when none is) and the
// decisions.
func checkAnswer(ctx context.Context, p *Policy, env *Env, body []byte, has func([]byte) bool, f answerFormat) ([]byte, []Decision, error) {
	if !p.HasResponseRules() || !has(body) {
		return body, nil, nil
	}
	calls, err := f.read(body)
	if err != nil || len(calls) == 0 {
		return body, nil, err
	}
	decisions, blocks := checkCalls(ctx, p, env, calls)
	if blocks == nil {
		return body, decisions, nil
	}
	out, err := f.rewrite(body, calls, blocks)
	return out, decisions, err
}

// checkCalls runs the response phase on an answer's calls and returns the
// decisions and, per call, the enforced block (nil: keep it).
func checkCalls(ctx context.Context, p *Policy, env *Env, calls []ResponseCall) (decisions []Decision, blocks []*Decision) {
	blocks = make([]*Decision, len(calls))
	any := false
	for i := range calls {
		v := p.CheckCall(ctx, env, &calls[i].Call)
		decisions = append(decisions, v.Decisions...)
		if v.Blocked {
			d := v.Block
			blocks[i] = &d
			any = true
		}
	}
	if !any {
		blocks = nil
	}
	return decisions, blocks
}

// argumentsText is a call's arguments as the model wrote them: a JSON
// string's value, or (from a lenient server) the compact JSON of an object.
type argumentsText string

func (a *argumentsText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*a = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = argumentsText(s)
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return err
		}
		*a = argumentsText(buf.String())
	}
	return nil
}

// compactJSON is a raw value's compact text ("" for none).
func compactJSON(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

// joinArray writes a JSON array of raw elements, keeping their bytes.
func joinArray(elems []json.RawMessage) []byte {
	n := 2
	for _, e := range elems {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, ']')
}

// splitArray reads a JSON array into its raw elements (sub-slices of b).
func splitArray(b []byte) ([]json.RawMessage, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return nil, err
	}
	return elems, nil
}

// quote is s as a JSON string.
func quote(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// joinTexts joins the replacement texts of one answer.
func joinTexts(texts []string) string { return strings.Join(texts, "\n") }
