package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// ResponsesGate gates an OpenAI Responses API stream.
//
// A function_call or custom_tool_call output item is held from its
// response.output_item.added, through its arguments (or input) delta and
// done events, to its response.output_item.done; then it is decided on
// the done item's name and arguments and released as it came, or replaced
// in the same place by an assistant message item (output_item.added,
// content_part.added, output_text.delta with Decision.CallText,
// output_text.done, content_part.done, output_item.done) whose id is
// "msg_fw_" and the call's call_id. Every other event passes at once.
//
// Output items are numbered in the order the client gets them, so
// output_index stays 0, 1, 2… even if a server interleaves items (in the
// usual stream it never changes), and sequence_number counts the events
// the client gets, one by one from the first event's: an event keeps its
// number unless the gate removed or added events before it (a call
// replaced by a message has another number of events), then it is
// renumbered. The output of the
// final response event (response.completed, .incomplete, .failed) is
// rewritten to match: a blocked call's item is the message item the
// client got, items are in the client's order, and a call item the
// stream never showed is decided there (and replaced when blocked). A
// call still held at the final event or at Close is completed there; one
// held at an error event is dropped. In dryRun the stream passes
// unchanged and the calls are only decided.
type ResponsesGate struct {
	ctx context.Context
	p   *Policy
	env *Env

	items    map[int]*respGateItem // by the upstream's output_index
	order    []int                 // held items, by start
	nextOut  int
	renumber bool // some item's client index differs from the upstream's
	// replaced is the message item that replaced each blocked call, by
	// the call's id; allowed calls map to nil.
	replaced map[string][]byte
	// allowed is each allowed call as it was checked, by its id.
	allowed   map[string]Call
	lastSeq   int64
	seqSeen   bool
	decisions []Decision
}

type respGateItem struct {
	out    int // the client's index; -1 while held
	held   bool
	done   bool // a held item that was decided: later events are dropped
	typ    string
	id     string
	callID string
	name   string
	args   []byte // from the deltas
	final  *responsesItem
	argsOK bool // args holds the whole arguments (a .done event)
	events []heldEvent
}

// NewResponsesGate returns a gate checking a Responses stream against p's
// response rules; ctx bounds decision rules' judges.
func NewResponsesGate(ctx context.Context, p *Policy, env *Env) *ResponsesGate {
	return &ResponsesGate{ctx: ctx, p: p, env: env}
}

func (g *ResponsesGate) Decisions() []Decision { return g.decisions }

func (g *ResponsesGate) Event(name string, data []byte, emit func(string, []byte) error) error {
	if g.p.Mode == DryRun {
		_ = g.event(name, data, discardEvent)
		return emit(name, data)
	}
	return g.event(name, data, emit)
}

func (g *ResponsesGate) Close(emit func(string, []byte) error) error {
	if g.p.Mode == DryRun {
		emit = discardEvent
	}
	return g.completeAll(emit)
}

// respHead is what the gate reads of every event: its top-level members
// type, output_index and sequence_number.
type respHead struct {
	typ           []byte
	index, seq    int64
	hasIdx, hasSq bool
}

func readHead(data []byte) (h respHead, ok bool) {
	err := jsonobj.EachMember(data, func(k, v []byte) bool {
		switch string(k) {
		case "type":
			h.typ = v
		case "output_index":
			n, err := strconv.ParseInt(string(v), 10, 64)
			h.index, h.hasIdx = n, err == nil && n >= 0 && n < 1<<31
		case "sequence_number":
			n, err := strconv.ParseInt(string(v), 10, 64)
			h.seq, h.hasSq = n, err == nil
		}
		return true
	})
	return h, err == nil
}

// respEvent is an event the gate decodes: the start and end of items,
// the deltas of held calls.
type respEvent struct {
	Item      *responsesItem `json:"item"`
	Delta     *string        `json:"delta"`
	Arguments *string        `json:"arguments"`
	Input     *string        `json:"input"`
}

// Text deltas: flat events whose only nested values (logprobs) have no
// member of the names the fast path looks for.
var respTextDeltas = map[string]bool{
	"response.output_text.delta": true, "response.reasoning_summary_text.delta": true,
	"response.reasoning_text.delta": true, "response.refusal.delta": true,
}

var (
	outputIndexKey = []byte(`"output_index":`)
	seqKey         = []byte(`"sequence_number":`)
)

// memberInt reads the integer after the first key in data (a member name
// with its colon; a JSON string cannot hold it unescaped).
func memberInt(data, key []byte) (int64, bool) {
	i := bytes.Index(data, key)
	if i < 0 {
		return 0, false
	}
	j := i + len(key)
	for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
		j++
	}
	k := j
	for k < len(data) && data[k] >= '0' && data[k] <= '9' {
		k++
	}
	if k == j || k-j > 15 || k == len(data) || (data[k] != ',' && data[k] != '}' && data[k] != ' ') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(data[j:k]), 10, 64)
	return n, err == nil
}

func (g *ResponsesGate) event(name string, data []byte, emit func(string, []byte) error) error {
	if respTextDeltas[name] {
		// Text tokens of an item that passes, numbered as the client
		// expects: out as they came, unread.
		up, ok1 := memberInt(data, outputIndexKey)
		seq, ok2 := memberInt(data, seqKey)
		if ok1 && ok2 && up < 1<<31 && (!g.seqSeen || seq == g.lastSeq+1) {
			if b := g.items[int(up)]; b != nil && !b.held && !b.done && b.out == int(up) {
				g.lastSeq, g.seqSeen = seq, true
				return emit(name, data)
			}
		}
	}
	trimmed := bytes.TrimSpace(data)
	h, ok := readHead(trimmed)
	if !ok {
		if g.unreadable(trimmed) {
			return nil
		}
		return emit(name, data)
	}
	typ := name
	if len(h.typ) > 2 && h.typ[0] == '"' {
		if t, err := strconv.Unquote(string(h.typ)); err == nil {
			typ = t
		}
	}
	up := int(h.index)

	switch typ {
	case "response.output_item.added", "response.output_item.done":
		if !h.hasIdx {
			return g.pass(name, data, trimmed, h, -1, -1, emit)
		}
		var e respEvent
		if json.Unmarshal(trimmed, &e) != nil || e.Item == nil {
			if g.unreadable(trimmed) {
				return nil
			}
			return g.pass(name, data, trimmed, h, -1, -1, emit)
		}
		b := g.items[up]
		if typ == "response.output_item.added" {
			if b != nil && b.held {
				if err := g.complete(up, emit); err != nil { // a repeated index: the first one ends
					return err
				}
			}
			if isResponsesCall(e.Item.Type) {
				g.hold(up, e.Item, name, trimmed)
				return nil
			}
			out := g.nextOut
			g.nextOut++
			g.setItem(up, &respGateItem{out: out})
			return g.pass(name, data, trimmed, h, up, out, emit)
		}
		switch {
		case b == nil && isResponsesCall(e.Item.Type):
			// a whole call with no added event before it
			b = g.hold(up, e.Item, "", nil)
			fallthrough
		case b != nil && b.held:
			b.final = e.Item
			b.events = append(b.events, heldEvent{name, slices.Clone(trimmed)})
			return g.complete(up, emit)
		case b == nil:
			b = &respGateItem{out: g.nextOut}
			g.nextOut++
			g.setItem(up, b)
		case b.done:
			return nil // the call was decided: nothing may change it now
		case isResponsesCall(e.Item.Type):
			// A call done at the index of an item of another kind: it
			// is decided here and goes out only if allowed.
			call := e.Item.call()
			v := g.p.CheckCall(g.ctx, g.env, &call)
			g.decisions = append(g.decisions, v.Decisions...)
			if v.Blocked {
				return nil
			}
		}
		return g.pass(name, data, trimmed, h, up, b.out, emit)

	case "response.completed", "response.incomplete", "response.failed":
		if err := g.completeAll(emit); err != nil {
			return err
		}
		out, err := g.rewriteFinal(trimmed)
		if err != nil || out == nil {
			return g.pass(name, data, trimmed, h, -1, -1, emit)
		}
		return g.pass(name, out, out, h, -1, -1, emit)

	case "error":
		for _, i := range g.order {
			g.items[i].held, g.items[i].done = false, true
		}
		g.order = g.order[:0]
		return g.pass(name, data, trimmed, h, -1, -1, emit)
	}

	if !h.hasIdx {
		return g.pass(name, data, trimmed, h, -1, -1, emit)
	}
	b := g.items[up]
	switch {
	case b == nil:
		// An event of an item that was never added: the item opens here.
		b = &respGateItem{out: g.nextOut}
		g.nextOut++
		g.setItem(up, b)
	case b.done:
		return nil
	case b.held:
		var e respEvent
		if json.Unmarshal(trimmed, &e) == nil {
			switch {
			case e.Arguments != nil:
				b.args, b.argsOK = append(b.args[:0], *e.Arguments...), true
			case e.Input != nil:
				b.args, b.argsOK = append(b.args[:0], *e.Input...), true
			case e.Delta != nil && !b.argsOK:
				b.args = append(b.args, *e.Delta...)
			}
		}
		b.events = append(b.events, heldEvent{name, slices.Clone(trimmed)})
		return nil
	}
	return g.pass(name, data, trimmed, h, up, b.out, emit)
}

func (g *ResponsesGate) setItem(up int, b *respGateItem) {
	if g.items == nil {
		g.items = make(map[int]*respGateItem)
	}
	g.items[up] = b
}

// hold starts holding the call item it at upstream index up.
func (g *ResponsesGate) hold(up int, it *responsesItem, name string, data []byte) *respGateItem {
	b := &respGateItem{out: -1, held: true, typ: it.Type, id: it.ID, callID: it.CallID, name: it.Name}
	if a := it.call().Arguments; a != "" {
		b.args = []byte(a)
	}
	if data != nil {
		b.events = []heldEvent{{name, slices.Clone(data)}}
	}
	g.setItem(up, b)
	g.order = append(g.order, up)
	return b
}

// pass emits an event: data itself when nothing changes, else with
// output_index up renumbered to out and its sequence_number the one after
// the last the client got.
func (g *ResponsesGate) pass(name string, data, trimmed []byte, h respHead, up, out int, emit func(string, []byte) error) error {
	var err error
	changed := false
	if up != out {
		g.renumber = true
		if trimmed, err = jsonobj.Set(trimmed, "output_index", strconv.AppendInt(nil, int64(out), 10)); err != nil {
			return nil
		}
		changed = true
	}
	if h.hasSq {
		seq := h.seq
		if g.seqSeen {
			seq = g.lastSeq + 1
		}
		if seq != h.seq {
			if trimmed, err = jsonobj.Set(trimmed, "sequence_number", strconv.AppendInt(nil, seq, 10)); err != nil {
				return nil
			}
			changed = true
		}
		g.lastSeq, g.seqSeen = seq, true
	}
	if !changed {
		return emit(name, data)
	}
	if !json.Valid(trimmed) {
		return nil // not an event the gate can rewrite
	}
	return emit(name, trimmed)
}

// unreadable reports whether an event the gate cannot read is dropped:
// in enforce mode, while a call is held (it may belong to it) or when it
// may carry a call.
func (g *ResponsesGate) unreadable(data []byte) bool {
	return g.p.Mode == Enforce && (len(g.order) > 0 ||
		bytes.Contains(data, functionCallTypeKey) || bytes.Contains(data, customCallTypeKey))
}

// emitNew emits an event the gate wrote, numbering it after the last.
func (g *ResponsesGate) emitNew(typ string, body []byte, emit func(string, []byte) error) error {
	seq := int64(0)
	if g.seqSeen {
		seq = g.lastSeq + 1
	}
	g.lastSeq, g.seqSeen = seq, true
	b := make([]byte, 0, len(body)+80)
	b = append(b, `{"type":`...)
	b = append(b, quote(typ)...)
	b = append(b, `,"sequence_number":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, body...)
	return emit(typ, append(b, '}'))
}

// completeAll decides every held item, in the order they started.
func (g *ResponsesGate) completeAll(emit func(string, []byte) error) error {
	for len(g.order) > 0 {
		if err := g.complete(g.order[0], emit); err != nil {
			return err
		}
	}
	return nil
}

// complete decides held item up and emits it or its replacement.
func (g *ResponsesGate) complete(up int, emit func(string, []byte) error) error {
	b := g.items[up]
	if i := slices.Index(g.order, up); i >= 0 {
		g.order = slices.Delete(g.order, i, i+1)
	}
	b.held, b.done = false, true
	call := Call{ID: b.callID, Name: b.name, Arguments: string(b.args)}
	if call.ID == "" {
		call.ID = b.id
	}
	shown := call       // what the added and delta events say
	if b.final != nil { // the done item is what the client keeps
		call = b.final.call()
		if call.Name == "" {
			call.Name = b.name
		}
	}
	v := g.p.CheckCall(g.ctx, g.env, &call)
	g.decisions = append(g.decisions, v.Decisions...)
	if !v.Blocked && b.final != nil && (shown.Name != "" && shown.Name != call.Name ||
		shown.Arguments != "" && shown.Arguments != call.Arguments) {
		// The events the client would get say something else than the
		// done item: both are checked.
		shown.ID = call.ID
		if shown.Name == "" {
			shown.Name = call.Name
		}
		v2 := g.p.CheckCall(g.ctx, g.env, &shown)
		g.decisions = append(g.decisions, v2.Decisions...)
		if v2.Blocked {
			v = v2
		}
	}
	b.out = g.nextOut
	g.nextOut++
	if b.out != up {
		g.renumber = true
	}
	if g.replaced == nil {
		g.replaced = make(map[string][]byte)
	}
	if !v.Blocked {
		g.replaced[call.ID] = nil
		if g.allowed == nil {
			g.allowed = make(map[string]Call)
		}
		g.allowed[call.ID] = call
		for _, e := range b.events {
			h, _ := readHead(e.data)
			if err := g.pass(e.name, e.data, e.data, h, up, b.out, emit); err != nil {
				return err
			}
		}
		return nil
	}
	id := blockedItemID(call.ID)
	text := v.Block.CallText()
	g.replaced[call.ID] = responsesMessageItem(id, text, true)
	return g.emitMessage(b.out, id, text, emit)
}

// emitMessage emits a whole assistant message item with one output_text.
func (g *ResponsesGate) emitMessage(out int, id, text string, emit func(string, []byte) error) error {
	idx := strconv.AppendInt(nil, int64(out), 10)
	ref := append(append(append([]byte(`,"item_id":`), quote(id)...), `,"output_index":`...), idx...)
	ref = append(ref, `,"content_index":0`...)
	qt := quote(text)
	events := []struct {
		typ  string
		body []byte
	}{
		{"response.output_item.added", concat([]byte(`,"output_index":`), idx, []byte(`,"item":`), responsesMessageItem(id, "", false))},
		{"response.content_part.added", concat(ref, []byte(`,"part":`), outputTextPart(""))},
		{"response.output_text.delta", concat(ref, []byte(`,"delta":`), qt, []byte(`,"logprobs":[]`))},
		{"response.output_text.done", concat(ref, []byte(`,"text":`), qt, []byte(`,"logprobs":[]`))},
		{"response.content_part.done", concat(ref, []byte(`,"part":`), outputTextPart(text))},
		{"response.output_item.done", concat([]byte(`,"output_index":`), idx, []byte(`,"item":`), responsesMessageItem(id, text, true))},
	}
	for _, e := range events {
		if err := g.emitNew(e.typ, e.body, emit); err != nil {
			return err
		}
	}
	return nil
}

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// rewriteFinal rewrites the output of a final response event to match the
// stream the client got; nil when nothing changes.
func (g *ResponsesGate) rewriteFinal(data []byte) ([]byte, error) {
	resp, ok, err := jsonobj.Get(data, "response")
	if err != nil || !ok || isNullJSON(resp) {
		return nil, err
	}
	raw, ok, err := jsonobj.Get(resp, "output")
	if err != nil || !ok || isNullJSON(raw) {
		return nil, err
	}
	output, err := splitArray(raw)
	if err != nil {
		return nil, err
	}
	changed := false
	for i, el := range output {
		var it responsesItem
		if json.Unmarshal(el, &it) != nil || !isResponsesCall(it.Type) {
			continue
		}
		call := it.call()
		repl, seen := g.replaced[call.ID]
		if ok := g.allowed[call.ID]; seen && repl == nil && ok != call {
			seen = false // not the call that was allowed: decided again
		}
		if !seen { // a call the stream did not show: decided here
			v := g.p.CheckCall(g.ctx, g.env, &call)
			g.decisions = append(g.decisions, v.Decisions...)
			if v.Blocked {
				repl = responsesMessageItem(blockedItemID(call.ID), v.Block.CallText(), true)
			}
			if g.replaced == nil {
				g.replaced = make(map[string][]byte)
			}
			g.replaced[call.ID] = repl
		}
		if repl != nil {
			output[i] = repl
			changed = true
		}
	}
	if g.renumber {
		pos := func(i int) int {
			if b := g.items[i]; b != nil && b.out >= 0 {
				return b.out
			}
			return i
		}
		idx := make([]int, len(output))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return pos(idx[a]) < pos(idx[b]) })
		sorted := make([]json.RawMessage, len(output))
		for i, j := range idx {
			sorted[i] = output[j]
			changed = changed || i != j
		}
		output = sorted
	}
	if !changed {
		return nil, nil
	}
	if resp, err = jsonobj.Set(resp, "output", joinArray(output)); err != nil {
		return nil, err
	}
	return jsonobj.Set(data, "response", resp)
}

var _ Gate = (*ResponsesGate)(nil)
