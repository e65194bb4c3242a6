package translate

import (
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// chatWriter writes an OpenAI chat-completions stream: chunks of one
// choice, the role in the first, a tool call's index, id, type and name in
// its first fragment and argument text after, finish_reason in the last
// choice chunk, then the usage chunk (choices: []) when asked, and
// "[DONE]". That is what the SDKs' stream helpers accumulate.
type chatWriter struct {
	emitter
	model        string
	includeUsage bool

	id            string
	created       int64
	started, done bool
	prefix        []byte      // a chunk up to the delta
	tools         map[int]int // upstream key → tool-call index (-1: left out), for this upstream
	nextTool      int
	stop          string
	// What a passing-through stream already gave the client, so Close
	// does not repeat it.
	finishSent, usageSent bool
}

func (w *chatWriter) begin(id, model string, created int64, u usage.Usage) {
	w.u = u
	if w.started {
		return // a continuation: the client has its role chunk
	}
	w.started = true
	w.id = id
	if w.id == "" {
		w.id = ids.New("chatcmpl")
	}
	w.created = created
	if w.created == 0 {
		w.created = now().Unix()
	}
	if w.model == "" {
		w.model = model
	}
	b := append([]byte(nil), `{"id":`...)
	b = appendString(b, w.id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = appendInt(b, w.created)
	b = append(b, `,"model":`...)
	b = appendString(b, w.model)
	w.prefix = append(b, `,"choices":[{"index":0,"delta":`...)
	w.chunk(`{"role":"assistant","content":""}`, "")
}

func (w *chatWriter) ensureStarted() {
	if !w.started {
		w.begin("", "", 0, w.u)
	}
}

// chunk emits a chunk whose delta is the JSON text delta and whose
// finish_reason is finish ("": null).
func (w *chatWriter) chunk(delta string, finish string) {
	b := append(w.buf[:0], w.prefix...)
	b = append(b, delta...)
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, finish)
	}
	b = append(b, "}]}"...)
	w.buf = b
	w.emit("", b)
}

// deltaChunk emits a chunk whose delta is built by fn.
func (w *chatWriter) deltaChunk(fn func(b []byte) []byte) {
	b := append(w.buf[:0], w.prefix...)
	b = fn(b)
	b = append(b, `,"logprobs":null,"finish_reason":null}]}`...)
	w.buf = b
	w.emit("", b)
}

func (w *chatWriter) open(key int, kind blockKind, id, name string) {
	w.ensureStarted()
	if kind != kindTool && kind != kindOther {
		return
	}
	if w.tools == nil {
		w.tools = make(map[int]int)
	}
	if kind == kindOther {
		w.tools[key] = -1 // its deltas (a server tool's input) are left out
		return
	}
	idx := w.nextTool
	w.nextTool++
	w.tools[key] = idx
	if id == "" {
		id = ids.New("call")
	}
	w.deltaChunk(func(b []byte) []byte {
		b = append(b, `{"tool_calls":[{"index":`...)
		b = appendInt(b, int64(idx))
		b = append(b, `,"id":`...)
		b = appendString(b, id)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendString(b, name)
		return append(b, `,"arguments":""}}]}`...)
	})
}

func (w *chatWriter) delta(key int, kind blockKind, s string) {
	if s == "" {
		return
	}
	w.ensureStarted()
	switch kind {
	case kindText:
		w.answer = append(w.answer, s...)
		w.deltaChunk(func(b []byte) []byte {
			b = append(b, `{"content":`...)
			b = appendString(b, s)
			return append(b, '}')
		})
	case kindThinking:
		w.deltaChunk(func(b []byte) []byte {
			b = append(b, `{"reasoning_content":`...)
			b = appendString(b, s)
			return append(b, '}')
		})
	case kindTool:
		idx, ok := w.tools[key]
		if !ok {
			w.open(key, kindTool, "", "")
			idx = w.tools[key]
		}
		if idx < 0 {
			return
		}
		w.deltaChunk(func(b []byte) []byte {
			b = append(b, `{"tool_calls":[{"index":`...)
			b = appendInt(b, int64(idx))
			b = append(b, `,"function":{"arguments":`...)
			b = appendString(b, s)
			return append(b, "}}]}"...)
		})
	}
	// Signatures and left-out blocks have no OpenAI form.
}

func (w *chatWriter) close(int) {}

func (w *chatWriter) finish(stop, _ string) {
	w.stop = stop
	w.finishSent = w.finishSent || w.observe
}

func (w *chatWriter) usage(u usage.Usage) {
	w.u = u
	w.usageSent = w.usageSent || w.observe
}

func (w *chatWriter) end() {
	if w.done {
		return
	}
	w.ensureStarted()
	w.done = true
	if !w.finishSent {
		w.chunk("{}", finishReason(w.stop, w.nextTool > 0))
	}
	if w.includeUsage && !w.usageSent {
		b := append(w.buf[:0], `{"id":`...)
		b = appendString(b, w.id)
		b = append(b, `,"object":"chat.completion.chunk","created":`...)
		b = appendInt(b, w.created)
		b = append(b, `,"model":`...)
		b = appendString(b, w.model)
		b = append(b, `,"choices":[],"usage":`...)
		u, _ := marshal(chatUsage(w.total()))
		b = append(b, u...)
		b = append(b, '}')
		w.buf = b
		w.emit("", b)
	}
	w.emit("", doneData)
}

func (w *chatWriter) fail(typ, msg string) {
	if w.done {
		return
	}
	w.done = true
	b, _ := marshal(obj{{"error", openAIError(typ, msg, 0)}})
	w.emit("", b)
}

func (w *chatWriter) resume() {
	w.nextUpstream()
	w.tools = nil
	w.stop = ""
}
