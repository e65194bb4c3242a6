// streamwrite.go: writing a stream to the client: streamWriter (events,
// settling credits before the last one, flushing per burst, the error
// event) and relay (translating, or passing the provider's bytes through
// with a copy kept for a continuation).

package caddyaigateway

import (
	"bytes"
	"net/http"

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
}

func (sw *streamWriter) emit(name string, data []byte) error { return sw.write(name, data, nil) }

// write sends one client event: raw when the provider's bytes go out as
// they are, else name and data as a new event.
func (sw *streamWriter) write(name string, data, raw []byte) error {
	if sw.hold != nil {
		sw.hold(name, data, raw)
		return nil
	}
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
// Anthropic's message_stop, the Responses API's final response event.
func isTerminalEvent(name string, data []byte) bool {
	switch name {
	case "message_stop", "response.completed", "response.incomplete", "response.failed":
		return true
	}
	return string(data) == "[DONE]"
}

// maxReplay bounds what a passed-through stream keeps for its
// continuation; a longer answer is not continued if it stalls.
const maxReplay = 8 << 20

// relay turns upstream events into client events: a translator when
// provider and client speak different formats; otherwise a pass-through
// that writes the provider's bytes as they are and keeps a copy, from
// which a translator is rebuilt only if the stream must be continued (so
// the common case parses each event once, for metering).
type relay struct {
	ts           translate.Stream
	replay       []byte
	tooLong      bool
	upstream     provider.Format
	client       provider.Format
	includeUsage bool
}

func (rl *relay) event(ev sse.Event, sw *streamWriter) error {
	if rl.ts != nil {
		return rl.ts.Event(ev.Name, ev.Data, sw.emit)
	}
	if !rl.tooLong {
		if len(rl.replay)+len(ev.Raw) > maxReplay {
			rl.tooLong, rl.replay = true, nil
		} else {
			rl.replay = append(rl.replay, ev.Raw...)
		}
	}
	return sw.write(ev.Name, ev.Data, ev.Raw)
}

// translator returns the stream's translator, rebuilding it from the
// passed-through events when there is none yet.
func (rl *relay) translator() translate.Stream {
	if rl.ts != nil || rl.tooLong {
		return rl.ts
	}
	rl.ts = rl.upstream.TranslateStream(rl.client, "", rl.includeUsage)
	rd := sse.NewReader(bytes.NewReader(rl.replay))
	discard := func(string, []byte) error { return nil }
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		_ = rl.ts.Event(ev.Name, ev.Data, discard)
	}
	rl.replay = nil
	return rl.ts
}
