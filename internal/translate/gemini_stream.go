package translate

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Gemini streams (streamGenerateContent?alt=sse): data-only events, each a
// GenerateContentResponse with the new parts of the candidates. A function
// call arrives whole in one part. The chunk with a finishReason is the
// last; usageMetadata rides on the chunks, cumulatively. There is no
// closing event.

// geminiParser reads a Gemini stream. Only the first candidate is read
// (translated requests never ask for more).
type geminiParser struct {
	begun    bool
	nextTool int
}

func (p *geminiParser) parse(_ string, data []byte, w writer) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	var r geminiResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading generateContent chunk: %w", err)
	}
	if !isNull(r.Error) {
		typ, msg := chatError(0, data)
		w.fail(typ, msg)
		return nil
	}
	if !p.begun {
		p.begun = true
		w.begin(r.ResponseID, r.ModelVersion, 0, usage.Usage{})
	}
	finish := ""
	for _, cand := range r.Candidates {
		if cand.Index != 0 {
			continue
		}
		if cand.Content != nil {
			for i := range cand.Content.Parts {
				part := &cand.Content.Parts[i]
				switch {
				case part.Text != nil && part.Thought:
					w.delta(keyThinking, kindThinking, *part.Text)
				case part.Text != nil:
					w.delta(keyText, kindText, *part.Text)
				case part.FunctionCall != nil:
					key := p.nextTool
					p.nextTool++
					w.open(key, kindTool, part.FunctionCall.ID, part.FunctionCall.Name)
					w.delta(key, kindTool, toolArguments(part.FunctionCall.Args))
					w.close(key)
				}
			}
		}
		if cand.FinishReason != "" {
			finish = cand.FinishReason
		}
	}
	if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" && len(r.Candidates) == 0 {
		finish = "SAFETY"
	}
	if len(r.UsageMetadata) > 0 && r.UsageMetadata[0] == '{' {
		if u, _, ok := usage.FromBody(usage.GenerateContent, data); ok {
			w.usage(u)
		}
	}
	if finish != "" {
		w.finish(geminiStop(finish), "")
		w.end()
	}
	return nil
}

// geminiWriter writes a Gemini stream: a chunk per text or thought delta,
// a function call in one chunk once its arguments are complete, and a last
// chunk with the finishReason and usageMetadata (which is what ends the
// stream for Google's SDKs and for the gateway).
type geminiWriter struct {
	emitter
	model string
	id    string

	started, done bool
	tools         map[int]*geminiPendingCall // upstream key → call being assembled, for this upstream
	order         []int                      // keys of tools in the order they opened
	called        bool                       // a function call was written
	stop          string
	// What a passing-through stream already gave the client.
	finishSent bool
}

type geminiPendingCall struct {
	id, name string
	args     []byte
	skip     bool
	sent     bool
}

func (w *geminiWriter) begin(id, model string, _ int64, u usage.Usage) {
	w.u = u
	if w.started {
		return
	}
	w.started = true
	w.id = id
	if w.id == "" {
		w.id = ids.New("resp")
	}
	if w.model == "" {
		w.model = model
	}
}

func (w *geminiWriter) ensureStarted() {
	if !w.started {
		w.begin("", "", 0, w.u)
	}
}

// chunk emits a chunk with parts (JSON array text) and, when final, the
// finishReason and usageMetadata.
func (w *geminiWriter) chunk(parts []byte, final bool) {
	b := append(w.buf[:0], `{"candidates":[{"content":{"parts":`...)
	b = append(b, parts...)
	b = append(b, `,"role":"model"}`...)
	if final {
		b = append(b, `,"finishReason":`...)
		b = appendString(b, geminiFinish(w.stop))
	}
	b = append(b, `,"index":0}]`...)
	if final {
		u, _ := marshal(geminiUsage(w.total()))
		b = append(b, `,"usageMetadata":`...)
		b = append(b, u...)
	}
	b = append(b, `,"modelVersion":`...)
	b = appendString(b, w.model)
	b = append(b, `,"responseId":`...)
	b = appendString(b, w.id)
	b = append(b, '}')
	w.buf = b
	w.emit("", b)
}

func (w *geminiWriter) open(key int, kind blockKind, id, name string) {
	w.ensureStarted()
	if kind != kindTool && kind != kindOther {
		return
	}
	if w.tools == nil {
		w.tools = make(map[int]*geminiPendingCall)
	}
	w.tools[key] = &geminiPendingCall{id: id, name: name, skip: kind == kindOther}
	w.order = append(w.order, key)
}

func (w *geminiWriter) delta(key int, kind blockKind, s string) {
	if s == "" {
		return
	}
	w.ensureStarted()
	switch kind {
	case kindText:
		w.answer = append(w.answer, s...)
		part := appendString(append([]byte(nil), `[{"text":`...), s)
		w.chunk(append(part, "}]"...), false)
	case kindThinking:
		part := appendString(append([]byte(nil), `[{"text":`...), s)
		w.chunk(append(part, `,"thought":true}]`...), false)
	case kindTool:
		c := w.tools[key]
		if c == nil {
			w.open(key, kindTool, "", "")
			c = w.tools[key]
		}
		c.args = append(c.args, s...)
	}
}

func (w *geminiWriter) close(key int) {
	if c := w.tools[key]; c != nil {
		w.sendCall(c)
	}
}

// sendCall writes a complete function call.
func (w *geminiWriter) sendCall(c *geminiPendingCall) {
	if c.sent || c.skip {
		return
	}
	c.sent = true
	w.called = true
	fc := obj{}
	if c.id != "" {
		fc.set("id", c.id)
	}
	fc.set("name", c.name)
	fc.set("args", toolInput(string(c.args)))
	part, _ := marshal([]obj{{{"functionCall", fc}}})
	w.chunk(part, false)
}

func (w *geminiWriter) finish(stop, _ string) {
	w.stop = stop
	w.finishSent = w.finishSent || w.observe
}

func (w *geminiWriter) usage(u usage.Usage) { w.u = u }

func (w *geminiWriter) end() {
	if w.done {
		return
	}
	w.ensureStarted()
	w.done = true
	for _, k := range w.order {
		w.sendCall(w.tools[k])
	}
	if !w.finishSent {
		w.chunk([]byte(`[{"text":""}]`), true)
	}
}

func (w *geminiWriter) fail(typ, msg string) {
	if w.done {
		return
	}
	w.done = true
	w.emit("", geminiErrorEvent(typ, msg))
}

func (w *geminiWriter) resume() {
	w.nextUpstream()
	w.tools, w.order = nil, nil
	w.stop = ""
}
