package translate

import (
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// messagesWriter writes an Anthropic Messages stream: message_start, then
// content blocks one after the other (content_block_start, deltas,
// content_block_stop, indexes counting from 0 in order, as the SDKs'
// accumulators expect), then message_delta and message_stop. Argument
// fragments for a tool call whose block was closed (a server interleaving
// parallel calls) still go to that block's index, where the SDKs'
// accumulators put them.
type messagesWriter struct {
	emitter
	model string
	id    string

	started, done bool
	next          int // index of the next block
	openIdx       int // the open block, -1 if none
	openKind      blockKind
	blocks        map[int]blockRef // upstream key → block, for this upstream
	carry         bool             // resumed inside a text block: the next text continues it
	hasTools      bool
	stop, stopSeq string
	deltaSent     bool // a passing-through stream gave the client its message_delta
}

type blockRef struct {
	idx  int // -1: a block left out
	kind blockKind
}

func (w *messagesWriter) begin(id, model string, _ int64, u usage.Usage) {
	w.u = u
	if w.started {
		return // a continuation: the client has its message_start
	}
	w.started = true
	w.id = id
	if w.id == "" {
		w.id = ids.New("msg")
	}
	if w.model == "" {
		w.model = model
	}
	b := append(w.buf[:0], `{"type":"message_start","message":{"id":`...)
	b = appendString(b, w.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, w.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = w.appendUsage(b, w.total())
	b = append(b, "}}"...)
	w.buf = b
	w.emit("message_start", b)
}

func (w *messagesWriter) appendUsage(b []byte, u usage.Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, u.InputTokens)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, u.CacheWriteTokens)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, u.CacheReadTokens)
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	return append(b, '}')
}

func (w *messagesWriter) ensureStarted() {
	if !w.started {
		w.begin("", "", 0, w.u)
	}
}

func (w *messagesWriter) open(key int, kind blockKind, id, name string) {
	w.ensureStarted()
	if w.blocks == nil {
		w.blocks = make(map[int]blockRef)
	}
	if kind == kindOther && !w.observe {
		w.blocks[key] = blockRef{idx: -1, kind: kind}
		return
	}
	if kind == kindText && w.carry && w.openKind == kindText && w.openIdx >= 0 {
		w.carry = false
		w.blocks[key] = blockRef{idx: w.openIdx, kind: kind}
		return
	}
	w.carry = false
	w.closeOpen()
	idx := w.next
	w.next++
	w.blocks[key] = blockRef{idx: idx, kind: kind}
	w.openIdx, w.openKind = idx, kind

	b := append(w.buf[:0], `{"type":"content_block_start","index":`...)
	b = appendInt(b, int64(idx))
	switch kind {
	case kindText:
		b = append(b, `,"content_block":{"type":"text","text":""}}`...)
	case kindThinking:
		b = append(b, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	case kindTool:
		w.hasTools = true
		if id == "" {
			id = ids.New("toolu")
		}
		b = append(b, `,"content_block":{"type":"tool_use","id":`...)
		b = appendString(b, id)
		b = append(b, `,"name":`...)
		b = appendString(b, name)
		b = append(b, `,"input":{}}}`...)
	default:
		return // observed only
	}
	w.buf = b
	w.emit("content_block_start", b)
}

func (w *messagesWriter) delta(key int, kind blockKind, s string) {
	if s == "" {
		return
	}
	blockKind := kind
	if kind == kindSignature {
		blockKind = kindThinking
	}
	ref, ok := w.blocks[key]
	if !ok || blockKind != kindTool && ref.idx != w.openIdx {
		// No block yet (OpenAI deltas open none), or the text (thinking)
		// block was closed by a block of another kind: a new one.
		if kind == kindSignature {
			return // a signature alone makes no block
		}
		w.open(key, blockKind, "", "")
		ref = w.blocks[key]
	}
	if ref.idx < 0 || ref.kind != blockKind {
		return
	}
	if kind == kindText {
		w.answer = append(w.answer, s...)
	}
	b := append(w.buf[:0], `{"type":"content_block_delta","index":`...)
	b = appendInt(b, int64(ref.idx))
	switch kind {
	case kindText:
		b = append(b, `,"delta":{"type":"text_delta","text":`...)
	case kindThinking:
		b = append(b, `,"delta":{"type":"thinking_delta","thinking":`...)
	case kindSignature:
		b = append(b, `,"delta":{"type":"signature_delta","signature":`...)
	case kindTool:
		b = append(b, `,"delta":{"type":"input_json_delta","partial_json":`...)
	}
	b = appendString(b, s)
	b = append(b, "}}"...)
	w.buf = b
	w.emit("content_block_delta", b)
}

func (w *messagesWriter) close(key int) {
	if ref, ok := w.blocks[key]; ok && ref.idx >= 0 && ref.idx == w.openIdx {
		w.closeOpen()
	}
}

func (w *messagesWriter) closeOpen() {
	if w.openIdx < 0 {
		return
	}
	b := append(w.buf[:0], `{"type":"content_block_stop","index":`...)
	b = appendInt(b, int64(w.openIdx))
	b = append(b, '}')
	w.buf = b
	w.openIdx = -1
	w.carry = false
	w.emit("content_block_stop", b)
}

func (w *messagesWriter) finish(stop, sequence string) {
	w.stop, w.stopSeq = stop, sequence
	w.deltaSent = w.deltaSent || w.observe
}

func (w *messagesWriter) usage(u usage.Usage) { w.u = u }

func (w *messagesWriter) end() {
	if w.done {
		return
	}
	w.ensureStarted()
	w.closeOpen()
	w.done = true
	if w.deltaSent {
		w.emit("message_stop", []byte(`{"type":"message_stop"}`))
		return
	}
	stop := w.stop
	if stop == "" || stop == "end_turn" && w.hasTools {
		stop = "end_turn"
		if w.hasTools {
			stop = "tool_use"
		}
	}
	b := append(w.buf[:0], `{"type":"message_delta","delta":{"stop_reason":`...)
	b = appendString(b, stop)
	b = append(b, `,"stop_sequence":`...)
	if w.stopSeq != "" && stop == "stop_sequence" {
		b = appendString(b, w.stopSeq)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `},"usage":`...)
	b = w.appendUsage(b, w.total())
	b = append(b, '}')
	w.buf = b
	w.emit("message_delta", b)
	w.emit("message_stop", []byte(`{"type":"message_stop"}`))
}

func (w *messagesWriter) fail(typ, msg string) {
	if w.done {
		return
	}
	w.done = true
	b := append(w.buf[:0], `{"type":"error","error":{"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	b = append(b, "}}"...)
	w.buf = b
	w.emit("error", b)
}

func (w *messagesWriter) resume() {
	w.nextUpstream()
	w.blocks = nil
	w.carry = w.openIdx >= 0 && w.openKind == kindText
	w.stop, w.stopSeq = "", ""
}
