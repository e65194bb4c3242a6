package relay

import (
	"io"
	"net/http"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
)

// Finisher is told just before the event that ends the stream is written:
// the gateway meters and settles the request there, so the client's last
// event comes after its charge.
type Finisher interface{ Finish() }

// Writer writes a stream's client events: through the firewall's gate
// when there is one, flushed once per burst, its Finisher told before the
// last.
type Writer struct {
	w      io.Writer
	rc     *http.ResponseController
	finish Finisher
	// Hold, when set, keeps events instead of writing them (before the
	// first content, nothing reaches the client).
	Hold func(name string, data, raw []byte)
	// Gate, when set, is the firewall's: client events pass it, a tool
	// call held until whole.
	Gate     firewall.Gate
	gateDone bool // its decisions were handed out
	ended    bool // the client got the stream's last event
	broken   bool // writing to the client failed
	dirty    bool // written but not flushed
}

// NewWriter returns a Writer of client events to w, telling f before the
// last.
func NewWriter(w http.ResponseWriter, f Finisher) Writer {
	return Writer{w: w, rc: http.NewResponseController(w), finish: f}
}

// Ended reports whether the client got the stream's last event.
func (sw *Writer) Ended() bool { return sw.ended }

// Broken reports whether writing to the client failed.
func (sw *Writer) Broken() bool { return sw.broken }

// Emit sends one new client event.
func (sw *Writer) Emit(name string, data []byte) error { return sw.Write(name, data, nil) }

// Write sends one client event: raw when the provider's bytes go out as
// they are, else name and data as a new event.
func (sw *Writer) Write(name string, data, raw []byte) error {
	if sw.Hold != nil {
		sw.Hold(name, data, raw)
		return nil
	}
	if sw.Gate != nil {
		return sw.Gate.Event(name, data, func(n string, d []byte) error {
			if raw != nil && len(d) > 0 && len(data) > 0 && &d[0] == &data[0] && len(d) == len(data) {
				return sw.out(n, d, raw) // passed unchanged: the provider's bytes
			}
			return sw.out(n, d, nil)
		})
	}
	return sw.out(name, data, raw)
}

// CloseGate lets the firewall's gate decide what it still holds, at the
// stream's end.
func (sw *Writer) CloseGate() {
	if sw.Gate != nil && !sw.broken {
		_ = sw.Gate.Close(func(n string, d []byte) error { return sw.out(n, d, nil) })
	}
}

// GateDecisions returns the gate's decisions the first time it is
// called; nil after, or without a gate.
func (sw *Writer) GateDecisions() []firewall.Decision {
	if sw.Gate == nil || sw.gateDone {
		return nil
	}
	sw.gateDone = true
	return sw.Gate.Decisions()
}

// out writes one client event past the gate.
func (sw *Writer) out(name string, data, raw []byte) error {
	if IsTerminal(name, data) {
		sw.ended = true
		if sw.finish != nil {
			sw.finish.Finish()
		}
	}
	var err error
	if raw != nil {
		_, err = sw.w.Write(raw)
	} else {
		err = sse.Write(sw.w, name, data)
	}
	if err != nil {
		sw.broken = true
		return err
	}
	sw.dirty = true
	if sw.ended {
		return sw.Flush()
	}
	return nil
}

// Flush sends what was written. Events are flushed once per burst: when
// no further complete event is already buffered from the provider, so
// nothing waits on input while held back.
func (sw *Writer) Flush() error {
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

// ErrorEvent ends a stream that cannot be completed with an error event
// (a format's StreamError), flushed.
func (sw *Writer) ErrorEvent(name string, data []byte) {
	_ = sw.Emit(name, data)
	_ = sw.Flush()
}
