// Package relay writes a streamed answer to the client: Relay turns the
// provider's events into the client's (translating, or passing the
// provider's bytes through with a copy kept for a continuation) and Writer
// writes them (through the firewall's gate, flushed per burst, the
// gateway told before the last).
package relay

import (
	"bytes"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
)

// maxReplay bounds the raw copy a passed-through stream keeps for its
// continuation. Past it, the copy becomes a shadow translator fed every
// later event, which keeps only what a continuation needs (the text
// delivered, the open blocks), so a long answer can still be continued
// and an open stream holds at most maxReplay of copy.
const maxReplay = 64 << 10

// Relay turns upstream events into client events: a translator when
// provider and client speak different formats; otherwise a pass-through
// that writes the provider's bytes as they are and keeps a copy, from
// which a translator is rebuilt only if the stream must be continued (so
// the common case parses each event once, for metering).
type Relay struct {
	ts           translate.Stream // translating: client events come from it
	shadow       translate.Stream // passing through past maxReplay: fed, its output dropped
	replay       []byte
	upstream     provider.Format
	client       provider.Format
	includeUsage bool
}

// New returns the relay of a stream in format upstream to a client of
// format client, passing it through until Translate or Translator.
func New(upstream, client provider.Format, includeUsage bool) *Relay {
	return &Relay{upstream: upstream, client: client, includeUsage: includeUsage}
}

// Translate makes client events come from a translator from the first,
// naming model.
func (rl *Relay) Translate(model string) {
	rl.ts = rl.upstream.TranslateStream(rl.client, model, rl.includeUsage)
}

func discardEvent(string, []byte) error { return nil }

// Event relays one upstream event to w.
func (rl *Relay) Event(ev sse.Event, w *Writer) error {
	if rl.ts != nil {
		return rl.ts.Event(ev.Name, ev.Data, w.Emit)
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
	return w.Write(ev.Name, ev.Data, ev.Raw)
}

// Translator returns the stream's translator, built from the events
// passed through when there is none yet; from then on client events come
// from it.
func (rl *Relay) Translator() translate.Stream {
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
func (rl *Relay) rebuild() translate.Stream {
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
