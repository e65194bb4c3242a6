package translate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Responses API streams: written from OpenAI chat chunks or Anthropic
// events (responsesWriter), and read into either (responsesParser).

// NewResponsesStream returns a Stream translating upstream's stream (OpenAI
// chat chunks, Anthropic events or Gemini chunks) into Responses API events, as the API
// streams them: response.created and response.in_progress, then each
// output item in turn (response.output_item.added, its content or summary
// part, deltas, the .done events, response.output_item.done), then
// response.completed, or response.incomplete (max_output_tokens,
// content_filter), with the whole response and its usage; an upstream
// error event ends it with response.failed. Every event has its
// sequence_number (from 0), output_index, item_id and content_index (or
// summary_index) as the API's. Reasoning becomes a reasoning item with one
// summary part. model names the model (empty keeps the upstream's);
// request is the client's Responses request, whose members the response
// objects repeat (nil: the API's defaults; NewStream(upstream, Responses,
// ...) gives those). Resume takes a continuation in any format.
func NewResponsesStream(upstream Format, model string, request []byte) Stream {
	s := &stream{p: newParser(upstream), w: &responsesWriter{model: model, echo: newResponseEcho(request)}, passthrough: upstream == Responses}
	s.w.setObserve(s.passthrough)
	return s
}

// NewStreamFromResponses returns a Stream translating a Responses API
// stream into the client's format (OpenAI chat chunks, Anthropic events or
// Gemini chunks); it is NewStream(Responses, client, ...). Message text becomes
// content (text blocks), reasoning summaries and reasoning text become
// reasoning_content (thinking blocks), function calls tool calls, and the
// final response event the stop reason and usage; built-in tool items are
// left out, and response.failed or an error event becomes the client's
// error event. includeUsage adds the usage chunk to OpenAI streams.
func NewStreamFromResponses(client Format, model string, includeUsage bool) Stream {
	return NewStream(Responses, client, model, includeUsage)
}

// IsResponsesErrorEvent reports whether an event of a Responses stream
// reports an error: an "error" event or response.failed.
func IsResponsesErrorEvent(name string, data []byte) bool {
	switch name {
	case "error", "response.failed":
		return true
	case "":
		t, ok, _ := jsonobj.Get(bytes.TrimSpace(data), "type")
		return ok && (string(t) == `"error"` || string(t) == `"response.failed"`)
	}
	return false
}

// responsesWriter writes a Responses API stream. Output items are written
// one after the other, each closed before the next opens, as the API does;
// argument fragments for a function call already closed (a chat server
// interleaving parallel calls) still go to its output_index, where the
// SDKs' accumulators put them, and the final response has them all.
type responsesWriter struct {
	emitter
	model string
	echo  *responseEcho

	seq           int64
	base          string
	resp          responseObject
	started, done bool
	items         []*responsesOut
	current       *responsesOut
	keys          map[int]*responsesOut // upstream key → item, for this upstream
	carry         bool                  // resumed inside a message: the next text continues it
	stop          string
	nextIndex     int // output_index of the next item

	// Observing a Responses stream that passes through, the writer
	// mirrors its sequence numbers, output indexes and item ids (see
	// mirror), so that after a Resume its events continue the client's.
	upIndex  int
	upItemID string
}

// responsesOut is an output item being written.
type responsesOut struct {
	index        int
	kind         blockKind // kindText: a message, kindThinking: reasoning, kindTool: a function call
	id           string
	callID, name string
	text         strings.Builder // the text, summary or arguments
	done         bool
	left         bool // a block the translation leaves out
}

// item renders the item as output_item.added (in progress) or .done and
// the final response show it.
func (it *responsesOut) item() obj {
	switch it.kind {
	case kindThinking:
		return reasoningItem(it.id, it.text.String(), it.done)
	case kindTool:
		status, args := "in_progress", it.text.String()
		if it.done {
			status = "completed"
			if args == "" {
				args = "{}"
			}
		}
		return functionCallItem(it.id, status, it.callID, it.name, args)
	}
	if !it.done {
		return messageItem(it.id, "in_progress", "", false)
	}
	return messageItem(it.id, "completed", it.text.String(), false)
}

// event starts an event's data: its type and sequence number.
func (w *responsesWriter) event(typ string) []byte {
	b := append(w.buf[:0], `{"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"sequence_number":`...)
	b = appendInt(b, w.seq)
	return b
}

// send finishes an event started by event and emits it.
func (w *responsesWriter) send(typ string, b []byte) {
	b = append(b, '}')
	w.buf = b
	if !w.observe {
		w.seq++
	}
	w.emit(typ, b)
}

// sendValue emits an event whose other member is key: v.
func (w *responsesWriter) sendValue(typ, key string, v any) {
	b := w.event(typ)
	b = append(b, ',')
	b = appendString(b, key)
	b = append(b, ':')
	enc, _ := marshal(v)
	b = append(b, enc...)
	w.send(typ, b)
}

// appendItemRef appends the item_id and output_index members.
func appendItemRef(b []byte, it *responsesOut) []byte {
	b = append(b, `,"item_id":`...)
	b = appendString(b, it.id)
	b = append(b, `,"output_index":`...)
	return appendInt(b, int64(it.index))
}

func (w *responsesWriter) begin(id, model string, created int64, u usage.Usage) {
	w.u = u
	if w.started {
		return // a continuation: the client has its response.created
	}
	w.started = true
	w.base = responsesBase(id)
	if w.model == "" {
		w.model = model
	}
	w.resp = responseObject{id: "resp_" + w.base, model: w.model, createdAt: created, status: "in_progress"}
	if w.resp.createdAt == 0 {
		w.resp.createdAt = now().Unix()
	}
	r := w.resp.encode(w.echo)
	w.sendValue("response.created", "response", r)
	w.sendValue("response.in_progress", "response", r)
}

func (w *responsesWriter) ensureStarted() {
	if !w.started {
		w.begin("", "", 0, w.u)
	}
}

func (w *responsesWriter) open(key int, kind blockKind, id, name string) {
	w.ensureStarted()
	if w.keys == nil {
		w.keys = make(map[int]*responsesOut)
	}
	if kind == kindOther || kind == kindSignature {
		w.keys[key] = &responsesOut{left: true}
		return
	}
	if kind == kindText && w.carry && w.current != nil && w.current.kind == kindText {
		w.carry = false
		w.keys[key] = w.current
		return
	}
	w.closeOpen()
	it := &responsesOut{index: w.nextIndex, kind: kind, callID: id, name: name}
	if w.observe {
		it.index, it.id = w.upIndex, w.upItemID
	}
	w.nextIndex = max(w.nextIndex, it.index+1)
	switch kind {
	case kindText:
		it.id = cmp.Or(it.id, responsesItemID("msg", w.base, it.index))
	case kindThinking:
		it.id = cmp.Or(it.id, responsesItemID("rs", w.base, it.index))
	case kindTool:
		it.id = cmp.Or(it.id, responsesItemID("fc", w.base, it.index))
		if it.callID == "" {
			it.callID = "call_" + w.base + "_" + strconv.Itoa(it.index)
		}
	}
	w.items = append(w.items, it)
	w.current = it
	w.keys[key] = it

	b := w.event("response.output_item.added")
	b = append(b, `,"output_index":`...)
	b = appendInt(b, int64(it.index))
	b = append(b, `,"item":`...)
	enc, _ := marshal(it.item())
	b = append(b, enc...)
	w.send("response.output_item.added", b)

	switch kind {
	case kindText:
		b = w.event("response.content_part.added")
		b = appendItemRef(b, it)
		b = append(b, `,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`...)
		w.send("response.content_part.added", b)
	case kindThinking:
		b = w.event("response.reasoning_summary_part.added")
		b = appendItemRef(b, it)
		b = append(b, `,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
		w.send("response.reasoning_summary_part.added", b)
	}
}

func (w *responsesWriter) delta(key int, kind blockKind, s string) {
	if s == "" || kind == kindSignature {
		return // a signature has no Responses form
	}
	it, ok := w.keys[key]
	if !ok || kind != kindTool && it != w.current {
		// No item yet (OpenAI deltas open none), or the message
		// (reasoning) was closed by an item of another kind: a new one.
		w.open(key, kind, "", "")
		it = w.keys[key]
	}
	if it.left || it.kind != kind {
		return
	}
	it.text.WriteString(s)
	var typ string
	switch kind {
	case kindText:
		w.answer = append(w.answer, s...)
		typ = "response.output_text.delta"
	case kindThinking:
		typ = "response.reasoning_summary_text.delta"
	default:
		typ = "response.function_call_arguments.delta"
	}
	b := w.event(typ)
	b = appendItemRef(b, it)
	switch kind {
	case kindText:
		b = append(b, `,"content_index":0`...)
	case kindThinking:
		b = append(b, `,"summary_index":0`...)
	}
	b = append(b, `,"delta":`...)
	b = appendString(b, s)
	if kind == kindText {
		b = append(b, `,"logprobs":[]`...)
	}
	w.send(typ, b)
}

func (w *responsesWriter) close(key int) {
	if it, ok := w.keys[key]; ok && it == w.current {
		w.closeOpen()
	}
}

// closeOpen writes the .done events of the open item.
func (w *responsesWriter) closeOpen() {
	it := w.current
	if it == nil {
		return
	}
	w.current = nil
	w.carry = false
	it.done = true
	text := it.text.String()
	switch it.kind {
	case kindText:
		b := w.event("response.output_text.done")
		b = appendItemRef(b, it)
		b = append(b, `,"content_index":0,"text":`...)
		b = appendString(b, text)
		b = append(b, `,"logprobs":[]`...)
		w.send("response.output_text.done", b)
		b = w.event("response.content_part.done")
		b = appendItemRef(b, it)
		b = append(b, `,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
		b = appendString(b, text)
		b = append(b, '}')
		w.send("response.content_part.done", b)
	case kindThinking:
		b := w.event("response.reasoning_summary_text.done")
		b = appendItemRef(b, it)
		b = append(b, `,"summary_index":0,"text":`...)
		b = appendString(b, text)
		w.send("response.reasoning_summary_text.done", b)
		b = w.event("response.reasoning_summary_part.done")
		b = appendItemRef(b, it)
		b = append(b, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
		b = appendString(b, text)
		b = append(b, '}')
		w.send("response.reasoning_summary_part.done", b)
	case kindTool:
		if text == "" {
			text = "{}"
		}
		b := w.event("response.function_call_arguments.done")
		b = appendItemRef(b, it)
		b = append(b, `,"arguments":`...)
		b = appendString(b, text)
		w.send("response.function_call_arguments.done", b)
	}
	b := w.event("response.output_item.done")
	b = append(b, `,"output_index":`...)
	b = appendInt(b, int64(it.index))
	b = append(b, `,"item":`...)
	enc, _ := marshal(it.item())
	b = append(b, enc...)
	w.send("response.output_item.done", b)
}

// mirror follows a Responses stream passing through: the sequence number
// of its latest event, and the output_index and item id the event is
// about.
func (w *responsesWriter) mirror(seq int64, outputIndex int, itemID string) {
	if !w.observe {
		return
	}
	w.seq = seq + 1
	w.upIndex, w.upItemID = outputIndex, itemID
	w.nextIndex = max(w.nextIndex, outputIndex+1)
}

func (w *responsesWriter) finish(stop, _ string) { w.stop = stop }

func (w *responsesWriter) usage(u usage.Usage) { w.u = u }

// final fills the response with every item and the usage.
func (w *responsesWriter) final() obj {
	w.resp.output = make([]obj, len(w.items))
	for i, it := range w.items {
		w.resp.output[i] = it.item()
	}
	u := w.total()
	w.resp.usage = &u
	return w.resp.encode(w.echo)
}

func (w *responsesWriter) end() {
	if w.done {
		return
	}
	w.ensureStarted()
	w.closeOpen()
	w.done = true
	w.resp.status, w.resp.incomplete = responseStatus(w.stop)
	typ := "response.completed"
	if w.resp.status == "incomplete" {
		typ = "response.incomplete"
	}
	w.sendValue(typ, "response", w.final())
}

func (w *responsesWriter) fail(typ, msg string) {
	if w.done {
		return
	}
	w.ensureStarted()
	w.closeOpen()
	w.done = true
	w.resp.status = "failed"
	w.resp.errCode = "server_error"
	if typ == "rate_limit_error" {
		w.resp.errCode = "rate_limit_exceeded"
	}
	w.resp.errMessage = msg
	if msg == "" {
		w.resp.errMessage = "upstream error"
	}
	w.sendValue("response.failed", "response", w.final())
}

func (w *responsesWriter) resume() {
	w.nextUpstream()
	w.keys = nil
	w.carry = w.current != nil && w.current.kind == kindText
	w.stop = ""
}

// responsesParser reads a Responses API stream. Output items are keyed by
// their output_index.
type responsesParser struct {
	begun   bool
	refusal bool
	kinds   map[int]blockKind // items whose blocks are open
	seen    map[int]bool      // items that had deltas
}

type responsesStreamEvent struct {
	Type           string          `json:"type"`
	SequenceNumber int64           `json:"sequence_number"`
	ItemID         string          `json:"item_id"`
	Response       json.RawMessage `json:"response"`
	OutputIndex    int             `json:"output_index"`
	SummaryIndex   int             `json:"summary_index"`
	Item           *outputItem     `json:"item"`
	Part           *outputPart     `json:"part"`
	Delta          string          `json:"delta"`
	Code           json.RawMessage `json:"code"`
	Message        string          `json:"message"`
	Error          *struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// responseHeader is what the parser reads of a response object.
type responseHeader struct {
	ID                string `json:"id"`
	Model             string `json:"model"`
	CreatedAt         int64  `json:"created_at"`
	Status            string `json:"status"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (p *responsesParser) parse(name string, data []byte, w writer) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, doneData) {
		return nil
	}
	var ev responsesStreamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("reading %s event: %w", name, err)
	}
	typ := ev.Type
	if typ == "" {
		typ = name
	}
	var head responseHeader
	if !isNull(ev.Response) {
		if err := json.Unmarshal(ev.Response, &head); err != nil {
			return fmt.Errorf("reading %s event: response: %w", typ, err)
		}
	}
	if !p.begun && typ != "error" {
		p.begun = true
		p.kinds = make(map[int]blockKind)
		p.seen = make(map[int]bool)
		w.begin(head.ID, head.Model, head.CreatedAt, usage.Usage{})
	}
	idx := ev.OutputIndex
	if m, ok := w.(interface{ mirror(int64, int, string) }); ok {
		id := ev.ItemID
		if ev.Item != nil {
			id = ev.Item.ID
		}
		m.mirror(ev.SequenceNumber, idx, id)
	}
	switch typ {
	case "response.output_item.added":
		if ev.Item == nil {
			return fmt.Errorf("reading %s event: no item", typ)
		}
		switch ev.Item.Type {
		case "message", "reasoning":
			// Opened by their first part or delta.
		case "function_call":
			p.openBlock(w, idx, kindTool, ev.Item.CallID, ev.Item.Name)
		default: // web_search_call, code_interpreter_call, mcp_call, ...
			p.openBlock(w, idx, kindOther, "", "")
		}
	case "response.content_part.added":
		if ev.Part != nil && (ev.Part.Type == "output_text" || ev.Part.Type == "refusal") {
			p.openBlock(w, idx, kindText, "", "")
		}
	case "response.output_text.delta", "response.refusal.delta":
		if typ == "response.refusal.delta" {
			p.refusal = true
		}
		p.openBlock(w, idx, kindText, "", "")
		p.seen[idx] = p.seen[idx] || ev.Delta != ""
		w.delta(idx, kindText, ev.Delta)
	case "response.reasoning_summary_part.added":
		if p.seen[idx] && ev.SummaryIndex > 0 {
			w.delta(idx, kindThinking, "\n\n")
		}
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		p.openBlock(w, idx, kindThinking, "", "")
		p.seen[idx] = p.seen[idx] || ev.Delta != ""
		w.delta(idx, kindThinking, ev.Delta)
	case "response.function_call_arguments.delta":
		p.openBlock(w, idx, kindTool, "", "")
		p.seen[idx] = p.seen[idx] || ev.Delta != ""
		w.delta(idx, kindTool, ev.Delta)
	case "response.output_item.done":
		if ev.Item != nil && !p.seen[idx] {
			p.wholeItem(w, idx, ev.Item)
		}
		if _, ok := p.kinds[idx]; ok {
			w.close(idx)
			delete(p.kinds, idx)
		}
	case "response.completed", "response.incomplete":
		stop := "end_turn"
		if head.Status == "incomplete" && head.IncompleteDetails != nil {
			switch head.IncompleteDetails.Reason {
			case "max_output_tokens":
				stop = "max_tokens"
			case "content_filter":
				stop = "refusal"
			}
		}
		if p.refusal {
			stop = "refusal"
		}
		w.finish(stop, "")
		if u, _, ok := usage.FromBody(usage.Responses, ev.Response); ok {
			w.usage(u)
		}
		w.end()
	case "response.failed":
		code, msg := "", ""
		if head.Error != nil {
			code, msg = head.Error.Code, head.Error.Message
		}
		w.fail(responsesErrorType(code), msg)
	case "error":
		code, _ := stringValue(ev.Code)
		msg := ev.Message
		if ev.Error != nil {
			if ev.Error.Code != "" {
				code = ev.Error.Code
			} else {
				code = ev.Error.Type
			}
			msg = ev.Error.Message
		}
		w.fail(responsesErrorType(code), msg)
	}
	// response.created, .in_progress, .queued, the other .done events
	// (their text was in the deltas) and built-in tool progress: nothing
	// to translate.
	return nil
}

// openBlock opens an item's block once.
func (p *responsesParser) openBlock(w writer, idx int, kind blockKind, id, name string) {
	if _, ok := p.kinds[idx]; ok {
		return
	}
	p.kinds[idx] = kind
	w.open(idx, kind, id, name)
}

// wholeItem writes an item that came whole in output_item.done, without
// deltas (as some servers send short items).
func (p *responsesParser) wholeItem(w writer, idx int, it *outputItem) {
	switch it.Type {
	case "message":
		var parts []outputPart
		_ = json.Unmarshal(it.Content, &parts)
		for _, part := range parts {
			s := part.Text
			if part.Type == "refusal" {
				s = part.Refusal
				p.refusal = true
			}
			if s != "" {
				p.openBlock(w, idx, kindText, "", "")
				w.delta(idx, kindText, s)
			}
		}
	case "reasoning":
		var parts []outputPart
		_ = json.Unmarshal(it.Summary, &parts)
		for i, part := range parts {
			if part.Text == "" {
				continue
			}
			p.openBlock(w, idx, kindThinking, "", "")
			if i > 0 {
				w.delta(idx, kindThinking, "\n\n")
			}
			w.delta(idx, kindThinking, part.Text)
		}
	case "function_call":
		p.openBlock(w, idx, kindTool, it.CallID, it.Name)
		args, ok := stringValue(it.Arguments)
		if !ok && !isNull(it.Arguments) {
			args = string(it.Arguments)
		}
		w.delta(idx, kindTool, args)
	}
}

// responsesErrorType maps a Responses error code to an Anthropic error
// type, as the writers take it.
func responsesErrorType(code string) string {
	switch code {
	case "rate_limit_exceeded":
		return "rate_limit_error"
	case "invalid_prompt", "invalid_request_error", "context_length_exceeded":
		return "invalid_request_error"
	case "insufficient_quota":
		return "billing_error"
	}
	return "api_error"
}

// Interface guards.
var (
	_ writer = (*responsesWriter)(nil)
	_ parser = (*responsesParser)(nil)
)
