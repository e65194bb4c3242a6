// streamwrite.go: writing a stream to the client: streamWriter (events,
// settling credits before the last one, flushing per burst, the error
// event) and relay (translating, or passing the provider's bytes through
// with a copy kept for a continuation).

package caddyaigateway

import (
	"bytes"
	"net/http"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
)

// streamWriter writes client events and settles credits before the event
// that ends the stream.
type streamWriter struct {
	g        *Gateway
	c        *call
	rc       *http.ResponseController
	seg      *segment
	terminal bool // the client got the stream's last event
	broken   bool // writing to the client failed
	dirty    bool // written but not flushed
	// hold, when set, keeps events instead of writing them (before the
	// first content, nothing reaches the client).
	hold func(name string, data, raw []byte)
	// gate, when set, is the firewall's: client events pass it, a tool
	// call held until whole (firewall.go).
	gate     firewall.Gate
	gateDone bool // its decisions were recorded
}

func (sw *streamWriter) emit(name string, data []byte) error { return sw.write(name, data, nil) }

// write sends one client event: raw when the provider's bytes go out as
// they are, else name and data as a new event.
func (sw *streamWriter) write(name string, data, raw []byte) error {
	if sw.hold != nil {
		sw.hold(name, data, raw)
		return nil
	}
	if sw.gate != nil {
		return sw.gate.Event(name, data, func(n string, d []byte) error {
			if raw != nil && len(d) > 0 && len(data) > 0 && &d[0] == &data[0] && len(d) == len(data) {
				return sw.out(n, d, raw) // passed unchanged: the provider's bytes
			}
			return sw.out(n, d, nil)
		})
	}
	return sw.out(name, data, raw)
}

// closeGate lets the firewall's gate decide what it still holds, at the
// stream's end.
func (sw *streamWriter) closeGate() {
	if sw.gate != nil && !sw.broken {
		_ = sw.gate.Close(func(n string, d []byte) error { return sw.out(n, d, nil) })
	}
}

// gateDecisions hands the gate's decisions to the request's guard (for
// the usage event and the metrics), once.
func (sw *streamWriter) gateDecisions() {
	if sw.gate != nil && !sw.gateDone {
		sw.gateDone = true
		sw.c.req.guard.record(sw.gate.Decisions())
	}
}

// out writes one client event past the gate.
func (sw *streamWriter) out(name string, data, raw []byte) error {
	if isTerminalEvent(name, data) {
		sw.terminal = true
		if sw.c.bill != nil {
			sw.g.finishUsage(sw.c, sw.seg.a, sw.seg.meter)
			sw.c.bill.settle(sw.c)
		}
	}
	var err error
	if raw != nil {
		_, err = sw.c.w.Write(raw)
	} else {
		err = sse.Write(sw.c.w, name, data)
	}
	if err != nil {
		sw.broken = true
		return err
	}
	sw.dirty = true
	if sw.terminal {
		return sw.flush()
	}
	return nil
}

// flush sends what was written. Events are flushed once per burst: when
// no further complete event is already buffered from the provider, so
// nothing waits on input while held back.
func (sw *streamWriter) flush() error {
	if !sw.dirty {
		return nil
	}
	sw.dirty = false
	if err := sw.rc.Flush(); err != nil {
		sw.broken = true
		return err
	}
	return nil
}

// errorEvent ends a stream that cannot be completed with a well-formed
// error event in the client's format.
func (sw *streamWriter) errorEvent(msg string) {
	_ = sw.emit(sw.c.req.Endpoint.Client().StreamError(msg))
	_ = sw.flush()
}

// isTerminalEvent reports the event that ends a stream: OpenAI's [DONE],
// Anthropic's message_stop, the Responses API's final response event, and
// Gemini's chunk with a finishReason (its streams have no closing event).
// A member name in JSON data is never escaped, so the match is exact.
func isTerminalEvent(name string, data []byte) bool {
	switch name {
	case "message_stop", "response.completed", "response.incomplete", "response.failed":
		return true
	case "":
		return string(data) == "[DONE]" || (len(data) > 0 && data[0] == '{' && hasFinishReason(data))
	}
	return false
}

var finishReasonName = []byte(`"finishReason"`)

// hasFinishReason reports a member "finishReason" with a string value in
// JSON data. Quotes inside JSON strings are escaped, so "finishReason"
// followed by a colon is a member name.
func hasFinishReason(data []byte) bool {
	for {
		i := bytes.Index(data, finishReasonName)
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(data[i+len(finishReasonName):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			if v := bytes.TrimLeft(rest[1:], " \t\r\n"); len(v) > 0 && v[0] == '"' {
				return true
			}
		}
		data = data[i+len(finishReasonName):]
	}
}

// maxReplay bounds the raw copy a passed-through stream keeps for its
// continuation. Past it, the copy becomes a shadow translator fed every
// later event, which keeps only what a continuation needs (the text
// delivered, the open blocks), so a long answer can still be continued
// and an open stream holds at most maxReplay of copy.
const maxReplay = 64 << 10

// relay turns upstream events into client events: a translator when
// provider and client speak different formats; otherwise a pass-through
// that writes the provider's bytes as they are and keeps a copy, from
// which a translator is rebuilt only if the stream must be continued (so
// the common case parses each event once, for metering).
type relay struct {
	ts           translate.Stream // translating: client events come from it
	shadow       translate.Stream // passing through past maxReplay: fed, its output dropped
	replay       []byte
	upstream     provider.Format
	client       provider.Format
	includeUsage bool
}

func discardEvent(string, []byte) error { return nil }

func (rl *relay) event(ev sse.Event, sw *streamWriter) error {
	if rl.ts != nil {
		return rl.ts.Event(ev.Name, ev.Data, sw.emit)
	}
	switch {
	case rl.shadow != nil:
		_ = rl.shadow.Event(ev.Name, ev.Data, discardEvent)
	case len(rl.replay)+len(ev.Raw) > maxReplay:
		rl.shadow = rl.rebuild()
		_ = rl.shadow.Event(ev.Name, ev.Data, discardEvent)
	default:
		rl.replay = append(rl.replay, ev.Raw...)
	}
	return sw.write(ev.Name, ev.Data, ev.Raw)
}

// translator returns the stream's translator, built from the events
// passed through when there is none yet; from then on client events come
// from it.
func (rl *relay) translator() translate.Stream {
	switch {
	case rl.ts != nil:
	case rl.shadow != nil:
		rl.ts, rl.shadow = rl.shadow, nil
	default:
		rl.ts = rl.rebuild()
	}
	return rl.ts
}

// rebuild returns a translator that has seen the copied events, and
// drops the copy.
func (rl *relay) rebuild() translate.Stream {
	ts := rl.upstream.TranslateStream(rl.client, "", rl.includeUsage)
	rd := sse.NewReader(bytes.NewReader(rl.replay))
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		_ = ts.Event(ev.Name, ev.Data, discardEvent)
	}
	rl.replay = nil
	return ts
}
