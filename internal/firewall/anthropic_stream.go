package firewall

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// AnthropicGate gates an Anthropic Messages stream.
//
// A tool_use block is held from its content_block_start, through its
// input_json_delta events, to its content_block_stop; then it is decided
// and released as it came, or replaced by a text block (start, one
// text_delta with Decision.CallText, stop) in the same place. Every other
// block passes at once. Blocks are numbered in the order the client gets
// them, so the indexes stay 0, 1, 2… even if a server interleaves blocks;
// in the usual stream (blocks one after another) they never change. When
// every tool_use was removed, message_delta's stop_reason "tool_use"
// becomes "end_turn". A tool_use still open at message_delta,
// message_stop or Close is completed there (with its stop); one open at
// an error event is dropped. Server tools (server_tool_use, run by
// Anthropic) pass as other blocks. In dryRun the stream passes unchanged
// and the calls are only decided.
type AnthropicGate struct {
	ctx context.Context
	p   *Policy
	env *Env

	blocks    map[int]*anthGateBlock // by the upstream's index
	order     []int                  // held blocks, by start
	nextOut   int
	renumber  bool // some block's client index differs from the upstream's
	released  int
	removed   int
	decisions []Decision
}

type anthGateBlock struct {
	out    int // the client's index; -1 while held
	held   bool
	done   bool // a held block that was decided: later events are dropped
	id     string
	name   string
	input  string // content_block_start's input
	args   []byte
	gotArg bool
	events []heldEvent // the start, the deltas
	stop   []byte
}

// NewAnthropicGate returns a gate checking a messages stream against p's
// response rules; ctx bounds decision rules' judges.
func NewAnthropicGate(ctx context.Context, p *Policy, env *Env) *AnthropicGate {
	return &AnthropicGate{ctx: ctx, p: p, env: env}
}

func (g *AnthropicGate) Decisions() []Decision { return g.decisions }

func (g *AnthropicGate) Event(name string, data []byte, emit func(string, []byte) error) error {
	if g.p.Mode == DryRun {
		_ = g.event(name, data, discardEvent)
		return emit(name, data)
	}
	return g.event(name, data, emit)
}

func (g *AnthropicGate) Close(emit func(string, []byte) error) error {
	if g.p.Mode == DryRun {
		emit = discardEvent
	}
	return g.completeAll(emit)
}

type heldEvent struct {
	name string
	data []byte
}

type anthGateEvent struct {
	Type         string `json:"type"`
	Index        *int   `json:"index"`
	ContentBlock *struct {
		Type  string          `json:"type"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content_block"`
	Delta *struct {
		Type        string `json:"type"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
}

func (g *AnthropicGate) event(name string, data []byte, emit func(string, []byte) error) error {
	held := len(g.order) > 0
	switch name {
	case "content_block_delta", "content_block_stop":
		// Text tokens: a block that passes, at its upstream index.
		if up, ok := eventIndex(data); ok {
			if b := g.blocks[up]; b != nil && !b.held && !b.done && b.out == up {
				return emit(name, data)
			}
		}
	case "ping", "message_start":
		return emit(name, data)
	}
	var ev anthGateEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		if g.p.Mode == Enforce && held {
			return nil // unreadable while a call is held: it may belong to it
		}
		return emit(name, data)
	}
	typ := ev.Type
	if typ == "" {
		typ = name
	}
	switch typ {
	case "content_block_start":
		if ev.Index == nil || ev.ContentBlock == nil {
			return emit(name, data)
		}
		up := *ev.Index
		if b := g.blocks[up]; b != nil && b.held {
			if err := g.complete(up, emit); err != nil { // a repeated index: the first one ends
				return err
			}
		}
		cb := ev.ContentBlock
		if cb.Type == "tool_use" {
			g.setBlock(up, &anthGateBlock{
				out: -1, held: true, id: cb.ID, name: cb.Name, input: compactJSON(cb.Input),
				events: []heldEvent{{name, slices.Clone(data)}},
			})
			g.order = append(g.order, up)
			return nil
		}
		out := g.nextOut
		g.nextOut++
		g.setBlock(up, &anthGateBlock{out: out})
		return g.emitAt(name, data, up, out, emit)

	case "content_block_delta", "content_block_stop":
		if ev.Index == nil {
			return emit(name, data)
		}
		up := *ev.Index
		b := g.blocks[up]
		switch {
		case b == nil:
			if typ == "content_block_stop" {
				return nil // nothing started there
			}
			// A delta without a start: the block opens here.
			b = &anthGateBlock{out: g.nextOut}
			g.nextOut++
			g.setBlock(up, b)
		case b.done:
			return nil // the call was decided: nothing may change it now
		case b.held:
			if typ == "content_block_stop" {
				b.stop = slices.Clone(data)
				return g.complete(up, emit)
			}
			if ev.Delta != nil && ev.Delta.Type == "input_json_delta" {
				b.args = append(b.args, ev.Delta.PartialJSON...)
				b.gotArg = true
			}
			b.events = append(b.events, heldEvent{name, slices.Clone(data)})
			return nil
		}
		return g.emitAt(name, data, up, b.out, emit)

	case "message_delta":
		if err := g.completeAll(emit); err != nil {
			return err
		}
		if ev.Delta != nil && ev.Delta.StopReason == "tool_use" && g.removed > 0 && g.released == 0 {
			if d, ok, _ := jsonobj.Get(data, "delta"); ok {
				if d, err := jsonobj.Set(d, "stop_reason", []byte(`"end_turn"`)); err == nil {
					if out, err := jsonobj.Set(data, "delta", d); err == nil {
						return emit(name, out)
					}
				}
			}
		}
		return emit(name, data)

	case "message_stop":
		if err := g.completeAll(emit); err != nil {
			return err
		}
		return emit(name, data)

	case "error":
		for _, up := range g.order {
			g.blocks[up].held = false
			g.blocks[up].done = true
		}
		g.order = g.order[:0]
		return emit(name, data)
	}
	return emit(name, data)
}

func (g *AnthropicGate) setBlock(up int, b *anthGateBlock) {
	if g.blocks == nil {
		g.blocks = make(map[int]*anthGateBlock)
	}
	g.blocks[up] = b
}

// emitAt emits an event of block up at the client's index out.
func (g *AnthropicGate) emitAt(name string, data []byte, up, out int, emit func(string, []byte) error) error {
	if up == out {
		return emit(name, data)
	}
	g.renumber = true
	d, err := jsonobj.Set(data, "index", strconv.AppendInt(nil, int64(out), 10))
	if err != nil {
		return nil
	}
	return emit(name, d)
}

// completeAll decides every held block, in the order they started.
func (g *AnthropicGate) completeAll(emit func(string, []byte) error) error {
	for len(g.order) > 0 {
		if err := g.complete(g.order[0], emit); err != nil {
			return err
		}
	}
	return nil
}

// complete decides held block up and emits it or its replacement.
func (g *AnthropicGate) complete(up int, emit func(string, []byte) error) error {
	b := g.blocks[up]
	if i := slices.Index(g.order, up); i >= 0 {
		g.order = slices.Delete(g.order, i, i+1)
	}
	b.held, b.done = false, true
	call := Call{ID: b.id, Name: b.name, Arguments: b.input}
	if b.gotArg {
		call.Arguments = string(b.args)
	}
	v := g.p.CheckCall(g.ctx, g.env, &call)
	g.decisions = append(g.decisions, v.Decisions...)
	b.out = g.nextOut
	g.nextOut++
	if b.out != up {
		g.renumber = true
	}
	if v.Blocked {
		g.removed++
		return emitTextBlock(b.out, v.Block.CallText(), emit)
	}
	g.released++
	for _, e := range b.events {
		if err := g.emitAt(e.name, e.data, up, b.out, emit); err != nil {
			return err
		}
	}
	if b.stop != nil {
		return g.emitAt("content_block_stop", b.stop, up, b.out, emit)
	}
	return emit("content_block_stop", blockStop(b.out))
}

// eventIndex reads an event's top-level index without decoding it.
func eventIndex(data []byte) (int, bool) {
	raw, ok, err := jsonobj.Get(data, "index")
	if err != nil || !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(raw))
	return n, err == nil
}

func blockStop(index int) []byte {
	b := []byte(`{"type":"content_block_stop","index":`)
	return append(strconv.AppendInt(b, int64(index), 10), '}')
}

// emitTextBlock emits a whole text block.
func emitTextBlock(index int, text string, emit func(string, []byte) error) error {
	idx := strconv.Itoa(index)
	if err := emit("content_block_start", []byte(`{"type":"content_block_start","index":`+idx+`,"content_block":{"type":"text","text":""}}`)); err != nil {
		return err
	}
	d := []byte(`{"type":"content_block_delta","index":` + idx + `,"delta":{"type":"text_delta","text":`)
	d = append(append(d, quote(text)...), "}}"...)
	if err := emit("content_block_delta", d); err != nil {
		return err
	}
	return emit("content_block_stop", blockStop(index))
}

var _ Gate = (*AnthropicGate)(nil)
