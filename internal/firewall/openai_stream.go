package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// Gate checks the tool calls of a stream in the client's format as its
// events go by. Text passes at once; a tool call is held until its name
// and arguments are complete, then released or replaced by text saying
// why. The gateway puts it between the stream translator's output and the
// client: each client event goes through Event, and at the end of the
// stream (after the translator's own Close output went through Event)
// Close releases what is still held.
//
// The data passed to emit is valid only until emit returns. An event that
// passes unchanged is emitted with the very slice given to Event, so a
// caller forwarding a provider's raw bytes can recognise it and write
// them as they came. A Gate is not safe for concurrent use.
type Gate interface {
	Event(name string, data []byte, emit func(name string, data []byte) error) error
	Close(emit func(name string, data []byte) error) error
	// Decisions lists what the response phase decided so far.
	Decisions() []Decision
}

// OpenAIGate gates an OpenAI chat completions stream (data-only chunks,
// "[DONE]" last).
//
// A tool call's fragments (tool_calls deltas of one index) are held from
// the first; the call is complete when a fragment of another index of the
// same choice arrives, at the choice's finish_reason, at "[DONE]" or at
// Close. An allowed call is released as it came: each held chunk as it
// was when it carried only that fragment, otherwise a chunk of its own
// with the fragment unchanged; its index is renumbered when earlier calls
// of the choice were removed, so the client's indexes stay 0, 1, 2…. A
// call whose name came in several fragments is released as one fragment
// with the name that was checked, whatever the client's SDK would have
// made of the pieces. A blocked call becomes a content delta with
// Decision.CallText; when every call of a choice was removed,
// finish_reason "tool_calls" becomes "stop". Everything else in a chunk
// (role, content, reasoning, usage) passes at once.
//
// A fragment for a call that was already decided (a server interleaving
// calls) is dropped: the client never gets arguments that were not
// checked. So is a chunk with tool calls that cannot be read, in enforce
// mode. In dryRun the stream passes unchanged and the calls are only
// decided.
type OpenAIGate struct {
	ctx context.Context
	p   *Policy
	env *Env

	choices   map[int]*chatGateChoice
	pending   int  // choices with a call held
	removed   bool // some call was removed: finish reasons may need fixing
	sawText   bool // content reached the client
	decisions []Decision
	queue     [][]byte
}

type chatGateChoice struct {
	index     int
	held      *heldChatCall
	decided   map[int]int // upstream index → client index, -1 removed
	nextOut   int
	lastKey   int
	released  int
	removed   int
	seenCalls int // calls started, for fragments without an index
}

type heldChatCall struct {
	key       int
	id, name  string
	typ       string // "function" or "custom"
	args      []byte
	canonical bool // the name came in the first fragment only, arguments as strings
	frags     []heldFragment
}

type heldFragment struct {
	chunk []byte // a copy of the chunk the fragment came in
	frag  []byte // the tool_calls element, inside chunk
	pure  bool   // the chunk carried this fragment and nothing else
}

// NewOpenAIGate returns a gate checking a chat completions stream against
// p's response rules; ctx bounds decision rules' judges.
func NewOpenAIGate(ctx context.Context, p *Policy, env *Env) *OpenAIGate {
	return &OpenAIGate{ctx: ctx, p: p, env: env}
}

func (g *OpenAIGate) Decisions() []Decision { return g.decisions }

var (
	doneData      = []byte("[DONE]")
	toolCallsKey  = []byte(`"tool_calls"`)
	finishKey     = []byte(`"finish_reason"`)
	errorKey      = []byte(`"error"`)
	contentPrefix = []byte(`"content":"`)
)

func (g *OpenAIGate) Event(name string, data []byte, emit func(string, []byte) error) error {
	if g.p.Mode == DryRun { // decide, but change nothing
		_ = g.event(name, data, discardEvent)
		return emit(name, data)
	}
	return g.event(name, data, emit)
}

func (g *OpenAIGate) Close(emit func(string, []byte) error) error {
	if g.p.Mode == DryRun {
		return g.flushAll(discardEvent)
	}
	return g.flushAll(emit)
}

func discardEvent(string, []byte) error { return nil }

func (g *OpenAIGate) event(name string, data []byte, emit func(string, []byte) error) error {
	trimmed := bytes.TrimSpace(data)
	if bytes.Equal(trimmed, doneData) {
		if err := g.flushAll(emit); err != nil {
			return err
		}
		return emit(name, data)
	}
	// Text tokens pass unread, unless a finish reason may release what is
	// held or need fixing, or an error drop what is held.
	slow := bytes.Contains(data, toolCallsKey)
	if !slow && (g.pending > 0 || g.removed) {
		slow = hasFinish(data)
	}
	if !slow && g.pending > 0 {
		slow = bytes.Contains(data, errorKey)
	}
	if !slow {
		if !g.sawText && hasText(data) {
			g.sawText = true
		}
		return emit(name, data)
	}
	return g.chunk(name, data, emit)
}

// flushAll completes every held call, by choice.
func (g *OpenAIGate) flushAll(emit func(string, []byte) error) error {
	if g.pending == 0 {
		return nil
	}
	for _, ci := range slices.Sorted(mapKeys(g.choices)) {
		g.complete(g.choices[ci])
	}
	return g.drain(emit)
}

func mapKeys(m map[int]*chatGateChoice) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (g *OpenAIGate) drain(emit func(string, []byte) error) error {
	q := g.queue
	g.queue = g.queue[:0]
	for _, d := range q {
		if err := emit("", d); err != nil {
			return err
		}
	}
	return nil
}

func (g *OpenAIGate) choice(i int) *chatGateChoice {
	c := g.choices[i]
	if c == nil {
		if g.choices == nil {
			g.choices = make(map[int]*chatGateChoice)
		}
		c = &chatGateChoice{index: i, lastKey: -1}
		g.choices[i] = c
	}
	return c
}

// chunk handles a chunk with tool calls, or with a finish reason while
// calls are held or were removed.
func (g *OpenAIGate) chunk(name string, orig []byte, emit func(string, []byte) error) error {
	data := bytes.TrimSpace(orig)
	if !bytes.Contains(data, errorKey) {
		// no error member: nothing to look up
	} else if e, ok, _ := jsonobj.Get(data, "error"); ok && !isNullJSON(e) {
		g.dropAll()
		return emit(name, orig)
	}
	if !json.Valid(data) {
		if g.p.Mode == Enforce && bytes.Contains(data, toolCallsKey) {
			return nil // unreadable tool calls never reach the client
		}
		return emit(name, orig)
	}
	chunk := bytes.Clone(data) // fragments are kept; data is the caller's
	choicesRaw, _, err := jsonobj.Get(chunk, "choices")
	choices, err2 := elements(choicesRaw)
	if err != nil || err2 != nil {
		return emit(name, orig) // valid JSON, but choices is not an array: no tool calls
	}
	changed := false
	rest := make([]json.RawMessage, 0, len(choices))
	var finals []json.RawMessage
	for _, chRaw := range choices {
		ci := choiceIndex(chRaw)
		gc := g.choice(ci)
		delta, _, _ := jsonobj.Get(chRaw, "delta")
		fin, _, _ := jsonobj.Get(chRaw, "finish_reason")
		finished := len(fin) > 0 && !isNullJSON(fin)
		choiceChanged := false
		if tc, ok, _ := jsonobj.Get(delta, "tool_calls"); ok && !isNullJSON(tc) {
			frags, err := elements(tc)
			if err != nil {
				if g.p.Mode == Enforce {
					return nil // tool_calls that are not an array: no client reads them as calls
				}
				return emit(name, orig)
			}
			if len(frags) > 0 { // some servers send "tool_calls":[] with text
				pure := len(choices) == 1 && len(frags) == 1 && !finished &&
					onlyMembers(delta, "tool_calls") &&
					onlyMembers(chRaw, "index", "delta", "logprobs", "finish_reason") &&
					envelopeOnly(chunk)
				for _, f := range frags {
					g.fragment(gc, chunk, f, pure)
				}
				delta, _ = jsonobj.Delete(delta, "tool_calls")
				choiceChanged = true
			}
		}
		if hasText(delta) {
			g.sawText = true
		}
		if finished {
			queued := len(g.queue)
			g.complete(gc)
			fixed := fin
			if gc.removed > 0 && gc.released == 0 && (string(fin) == `"tool_calls"` || string(fin) == `"function_call"`) {
				fixed = []byte(`"stop"`)
			}
			if len(g.queue) > queued || !bytes.Equal(fixed, fin) {
				// The finish goes after the calls it ends.
				if !emptyObject(delta) {
					ch, _ := jsonobj.Set(chRaw, "delta", delta)
					ch, _ = jsonobj.Set(ch, "finish_reason", []byte("null"))
					rest = append(rest, ch)
				}
				finals = append(finals, finishChoice(ci, fixed))
				changed = true
				continue
			}
		}
		if choiceChanged {
			changed = true
			if emptyObject(delta) && !finished {
				continue // nothing left of this choice
			}
			chRaw, _ = jsonobj.Set(chRaw, "delta", delta)
		}
		rest = append(rest, chRaw)
	}
	if !changed {
		return emit(name, orig)
	}
	usage, hasUsage, _ := jsonobj.Get(chunk, "usage")
	hasUsage = hasUsage && !isNullJSON(usage)
	if len(rest) > 0 || (hasUsage && len(finals) == 0) {
		out, err := jsonobj.Set(chunk, "choices", joinArray(rest))
		if err == nil && hasUsage && len(finals) > 0 {
			out, err = jsonobj.Delete(out, "usage") // it goes with the last chunk
		}
		if err == nil {
			if err := emit("", out); err != nil {
				return err
			}
		}
	}
	if err := g.drain(emit); err != nil {
		return err
	}
	if len(finals) > 0 {
		out, err := jsonobj.Set(chunk, "choices", joinArray(finals))
		if err != nil {
			return nil
		}
		return emit("", out)
	}
	return nil
}

// fragment takes one tool_calls element of a choice.
func (g *OpenAIGate) fragment(gc *chatGateChoice, chunk, f []byte, pure bool) {
	var fr struct {
		index          int
		hasIndex       bool
		id, typ        string
		name           string
		args           []byte
		function, cust bool
	}
	r := &reader{b: f}
	bad := !r.is(0, '{')
	r.object(0, func(k []byte, v int) int {
		var end int
		switch string(k) {
		case "index":
			var raw []byte
			raw, end = r.raw(v)
			n, err := strconv.Atoi(string(raw))
			fr.index, fr.hasIndex, bad = n, true, bad || err != nil
		case "id":
			fr.id, end = r.str(v)
		case "type":
			fr.typ, end = r.str(v)
		case "function", "custom":
			if r.null(v) {
				return -1
			}
			if !r.is(v, '{') {
				bad = true
				return -1
			}
			fr.function, fr.cust = string(k) == "function", string(k) == "custom"
			argKey := "arguments"
			if fr.cust {
				argKey = "input"
			}
			fr.name, fr.args = "", nil
			end = r.object(v, func(k []byte, v int) int {
				var end int
				switch string(k) {
				case "name":
					fr.name, end = r.str(v)
				case argKey:
					fr.args, end = r.raw(v)
				default:
					return -1
				}
				return end
			})
		default:
			return -1
		}
		return end
	})
	if bad || r.err != nil {
		return // not a tool call: dropped
	}
	key := gc.lastKey
	switch {
	case fr.hasIndex:
		key = fr.index
	case fr.id != "" || key < 0:
		key = gc.seenCalls // a new call from a server that sends no index
	}
	gc.lastKey = key
	if _, done := gc.decided[key]; done {
		return // the call was decided: nothing may change it now
	}
	if gc.held != nil && gc.held.key != key {
		g.complete(gc)
	}
	h := gc.held
	if h == nil {
		h = &heldChatCall{key: key, typ: "function", canonical: true}
		gc.held = h
		gc.seenCalls++
		g.pending++
	}
	if h.id == "" {
		h.id = fr.id
	}
	name, args := fr.name, fr.args
	if fr.cust {
		h.typ = "custom"
	}
	if name != "" {
		switch {
		case h.name == "":
			h.name = name
			if len(h.frags) > 0 {
				h.canonical = false // an SDK may not take a name after the first fragment
			}
		case name == h.name:
			h.canonical = false // a repeated name: some SDKs would double it
		default:
			h.name += name // a name in pieces: what SDKs concatenate
			h.canonical = false
		}
	}
	if len(args) > 0 && !isNullJSON(args) {
		var s string
		if args[0] == '"' && json.Unmarshal(args, &s) == nil {
			h.args = append(h.args, s...)
		} else {
			h.args = append(h.args, compactJSON(args)...) // an object, from a lenient server
			h.canonical = false
		}
	}
	h.frags = append(h.frags, heldFragment{chunk: chunk, frag: f, pure: pure && fr.hasIndex})
}

// complete decides the choice's held call and queues what the client gets.
func (g *OpenAIGate) complete(gc *chatGateChoice) {
	h := gc.held
	if h == nil {
		return
	}
	gc.held = nil
	g.pending--
	if gc.decided == nil {
		gc.decided = make(map[int]int)
	}
	call := Call{ID: h.id, Name: h.name, Arguments: string(h.args)}
	v := g.p.CheckCall(g.ctx, g.env, &call)
	g.decisions = append(g.decisions, v.Decisions...)
	chunk0 := h.frags[0].chunk
	if v.Blocked {
		gc.decided[h.key] = -1
		gc.removed++
		g.removed = true
		text := v.Block.CallText()
		if g.sawText {
			text = "\n\n" + text
		}
		g.sawText = true
		delta := append(append([]byte(`{"content":`), quote(text)...), '}')
		g.queueChunk(chunk0, gc.index, delta)
		return
	}
	out := gc.nextOut
	gc.nextOut++
	gc.decided[h.key] = out
	gc.released++
	if !h.canonical {
		g.queueChunk(chunk0, gc.index, mergedToolCall(out, h))
		return
	}
	for _, f := range h.frags {
		if f.pure && out == h.key {
			g.queue = append(g.queue, f.chunk)
			continue
		}
		frag, err := jsonobj.Set(f.frag, "index", strconv.AppendInt(nil, int64(out), 10))
		if err != nil {
			continue
		}
		g.queueChunk(f.chunk, gc.index, append(append([]byte(`{"tool_calls":[`), frag...), ']', '}'))
	}
}

// dropAll forgets held calls: the stream failed, they will not complete.
func (g *OpenAIGate) dropAll() {
	for _, gc := range g.choices {
		gc.held = nil
	}
	g.pending = 0
}

// queueChunk queues a chunk like tmpl (its id, model, created) with one
// choice of the given delta.
func (g *OpenAIGate) queueChunk(tmpl []byte, choice int, delta []byte) {
	ch := make([]byte, 0, len(delta)+64)
	ch = append(ch, `{"index":`...)
	ch = strconv.AppendInt(ch, int64(choice), 10)
	ch = append(ch, `,"delta":`...)
	ch = append(ch, delta...)
	ch = append(ch, `,"logprobs":null,"finish_reason":null}`...)
	out, err := jsonobj.Set(tmpl, "choices", joinArray([]json.RawMessage{ch}))
	if err != nil {
		return
	}
	if u, ok, _ := jsonobj.Get(out, "usage"); ok && !isNullJSON(u) {
		out, _ = jsonobj.Delete(out, "usage")
	}
	g.queue = append(g.queue, out)
}

// mergedToolCall is a delta with the whole call as one fragment.
func mergedToolCall(index int, h *heldChatCall) []byte {
	b := []byte(`{"tool_calls":[{"index":`)
	b = strconv.AppendInt(b, int64(index), 10)
	if h.id != "" {
		b = append(b, `,"id":`...)
		b = append(b, quote(h.id)...)
	}
	if h.typ == "custom" {
		b = append(b, `,"type":"custom","custom":{"name":`...)
		b = append(b, quote(h.name)...)
		b = append(b, `,"input":`...)
	} else {
		b = append(b, `,"type":"function","function":{"name":`...)
		b = append(b, quote(h.name)...)
		b = append(b, `,"arguments":`...)
	}
	b = append(b, quote(string(h.args))...)
	return append(b, "}}]}"...)
}

func finishChoice(index int, finish []byte) json.RawMessage {
	b := []byte(`{"index":`)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"delta":{},"logprobs":null,"finish_reason":`...)
	b = append(b, finish...)
	return append(b, '}')
}

// elements returns the elements of a JSON array (sub-slices of arr); null
// or nothing is none.
func elements(arr []byte) ([][]byte, error) {
	var out [][]byte
	r := &reader{b: arr}
	i := jsonobj.SkipSpace(arr, 0)
	if i == len(arr) || r.null(i) {
		return nil, nil
	}
	if !r.is(i, '[') {
		return nil, errNotArray
	}
	r.array(i, func(e int) int {
		raw, end := r.raw(e)
		out = append(out, raw)
		return end
	})
	return out, r.err
}

func choiceIndex(ch []byte) int {
	raw, ok, _ := jsonobj.Get(ch, "index")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func isNullJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

func emptyObject(b []byte) bool {
	n := 0
	if jsonobj.EachKey(b, func([]byte) bool { n++; return false }) != nil {
		return true
	}
	return n == 0
}

// onlyMembers reports whether obj is an object with no members but keys.
func onlyMembers(obj []byte, keys ...string) bool {
	ok := true
	err := jsonobj.EachKey(obj, func(k []byte) bool {
		ok = slices.Contains(keys, string(k))
		return ok
	})
	return ok && err == nil
}

// envelopeOnly reports whether a chunk has nothing besides its choices
// but the members every chunk repeats (and a null usage).
func envelopeOnly(chunk []byte) bool {
	if u, ok, _ := jsonobj.Get(chunk, "usage"); ok && !isNullJSON(u) {
		return false
	}
	return onlyMembers(chunk, "choices", "id", "object", "created", "model", "system_fingerprint",
		"service_tier", "obfuscation", "usage")
}

// hasFinish reports whether a chunk may carry a finish reason: a
// "finish_reason" member that is not null.
func hasFinish(data []byte) bool {
	for {
		i := bytes.Index(data, finishKey)
		if i < 0 {
			return false
		}
		data = data[i+len(finishKey):]
		j := 0
		for j < len(data) && (data[j] == ' ' || data[j] == ':' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
			j++
		}
		if j < len(data) && data[j] != 'n' {
			return true
		}
	}
}

// hasText reports whether a chunk or delta carries content text.
func hasText(data []byte) bool {
	i := bytes.Index(data, contentPrefix)
	return i >= 0 && i+len(contentPrefix) < len(data) && data[i+len(contentPrefix)] != '"'
}

var _ Gate = (*OpenAIGate)(nil)
