// stream.go: serving a streaming answer (serveStream): hold events back
// until the first content, commit the response, then pump events to the
// client, continuing a stalled stream on the next candidate. Client events
// are internal/relay's (the request's writer: streamwrite.go), continuation
// in continue.go.

package caddyaigateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/relay"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

const defaultStreamIdleTimeout = 30 * time.Second

func (g *Gateway) failoverConfig() (firstToken, idle time.Duration, continueStalled bool) {
	firstToken, idle, continueStalled = 0, defaultStreamIdleTimeout, true
	if f := g.Failover; f != nil {
		firstToken = time.Duration(f.FirstTokenTimeout)
		if f.StreamIdleTimeout > 0 {
			idle = time.Duration(f.StreamIdleTimeout)
		}
		if f.ContinueStalledStreams != nil {
			continueStalled = *f.ContinueStalledStreams
		}
	}
	return
}

// serveStream relays a streaming answer event by event, translated into
// the client's format when the provider speaks the other one. Events
// before the first generated content are held back: a provider that
// accepts the request and then says nothing within first_token_timeout is
// failed over with nothing sent. Once content flows, a stream that stalls
// (stream_idle_timeout), breaks or reports an error is continued on the
// next candidate from the text already delivered, in the same response.
func (g *Gateway) serveStream(ctx context.Context, c *call, a *attempt, cancel context.CancelCauseFunc, timer *time.Timer, resp *http.Response, next int) {
	firstToken, idle, continueStalled := g.failoverConfig()
	seg := &segment{a: a, ctx: ctx, cancel: cancel, resp: resp, rd: sse.NewReader(resp.Body), meter: usage.NewMeter(a.up.Kind), next: next}
	rl := relay.New(a.up.Format, c.req.Endpoint.Client(), c.req.ClientUsage)
	if a.up.Translated {
		rl.Translate(a.target.Name)
	}
	sw := newStreamWriter(g, c, seg)
	// A continuation's response is this function's to close (try closes
	// the first segment's).
	defer func() {
		if sw.seg != seg {
			sw.seg.cancel(nil)
			sw.seg.resp.Body.Close()
		}
	}()

	held, ok := g.holdBack(c, seg, rl, timer, firstToken)
	if !ok {
		return
	}
	g.commit(c, sw, held)

	for {
		why := g.pump(c, sw, rl, idle)
		cur := sw.seg.a
		switch why {
		case pumpDone:
			sw.CloseGate()
			sw.gateDecisions()
			g.finishUsage(c, cur, sw.seg.meter)
			if cur != a {
				g.record(c, cur, actionSucceeded)
			}
			return
		case pumpClientGone:
			sw.gateDecisions()
			g.finishUsage(c, cur, sw.seg.meter)
			cur.outcome, cur.errText = clientGone, "client closed the connection"
			if cur != a {
				g.record(c, cur, actionAbandoned)
			} else {
				a.outcome = clientGone
			}
			return
		}
		// stalled, cut or an upstream error after content reached the client
		g.finishUsage(c, cur, sw.seg.meter)
		sw.seg.cancel(nil)
		if sw.seg != seg {
			sw.seg.resp.Body.Close()
		}
		var cont *segment
		reason := "no other provider could continue it"
		if continueStalled && !shuttingDown(c.ctx) {
			if ts := rl.Translator(); ts != nil && ts.Text() != "" {
				cont, reason = g.continueStream(c, ts, sw.seg.next)
			}
		}
		if cont == nil {
			sw.gateDecisions()
			cur.errText = firstNonEmpty(cur.errText, "stream interrupted")
			g.record(c, cur, actionExhausted)
			if !sw.Broken() {
				msg := "the provider's stream was interrupted and " + reason + ": " + cur.errText
				if shuttingDown(c.ctx) {
					msg = errShutdown.Error() + "; the answer is cut here and only what was delivered is charged"
				}
				sw.errorEvent(msg)
			}
			return
		}
		g.record(c, cur, actionNextBack)
		sw.seg = cont
	}
}

// holdBack reads the first segment until its first content, holding the
// events back; first_token_timeout (when set) replaces the attempt's
// timer meanwhile. It returns the held events, or false when the attempt
// failed with nothing sent (the attempt says why).
func (g *Gateway) holdBack(c *call, seg *segment, rl *relay.Relay, timer *time.Timer, firstToken time.Duration) ([]heldEvent, bool) {
	a, ctx, cancel := seg.a, seg.ctx, seg.cancel
	if firstToken > 0 {
		timer.Stop()
		d, cause := c.limitBy(firstToken, errFirstToken)
		ft := time.AfterFunc(d, func() { cancel(cause) })
		defer ft.Stop()
		timer = ft
	}
	// Held events are buffered in a writer of their own and written out
	// at commit: the relay and its replay copy see them exactly once.
	var held []heldEvent
	holder := &relay.Writer{Hold: func(name string, data, raw []byte) {
		held = append(held, heldEvent{name: name, data: bytes.Clone(data), raw: bytes.Clone(raw)})
	}}
	for !seg.meter.FirstContent() {
		ev, err := seg.rd.Next()
		if err != nil {
			if err == io.EOF && len(held) > 0 && relay.IsTerminal(lastName(held), lastData(held)) {
				break // a complete answer without content (e.g. max_tokens 0)
			}
			if err == io.EOF {
				err = errors.New("stream ended before any content")
			}
			g.failed(ctx, c, a, err)
			if a.outcome != clientGone {
				// The provider accepted the request but gave no answer: a
				// failure of the attempt, not the 200 it started with.
				a.status = http.StatusBadGateway
			}
			return nil, false
		}
		usageOnly := seg.meter.Observe(ev.Name, ev.Data)
		if a.up.Format.IsStreamError(ev.Name, ev.Data) {
			a.status, a.outcome, a.errText = http.StatusBadGateway, nextTarget, "provider stream error: "+upstream.Truncate(string(upstream.Scrub(ev.Data, a.key)), 300)
			return nil, false
		}
		if c.hides(seg, usageOnly) {
			continue
		}
		if err := rl.Event(ev, holder); err != nil {
			a.status, a.outcome, a.errText = http.StatusBadGateway, nextTarget, "reading the provider's stream: "+err.Error()
			return nil, false
		}
		if relay.IsTerminal(ev.Name, ev.Data) {
			break
		}
	}
	timer.Stop()
	a.ttft = time.Since(a.start)
	return held, true
}

// commit sends the headers, then what was held back: from here on the
// client has a 200 and the attempt is served.
func (g *Gateway) commit(c *call, sw *streamWriter, held []heldEvent) {
	a, resp := sw.seg.a, sw.seg.resp
	h := c.w.Header()
	upstream.CopyResponseHeaders(h, resp.Header, a.key)
	h.Del("Content-Encoding")
	if a.up.Translated {
		h.Set("Content-Type", "text/event-stream")
		h.Del("Request-Id")
	}
	g.successHeaders(c, a)
	c.w.WriteHeader(resp.StatusCode)
	a.outcome = served
	for _, ev := range held {
		if sw.Write(ev.name, ev.data, ev.raw) != nil {
			break
		}
	}
	if !sw.seg.rd.Ready() {
		_ = sw.Flush()
	}
}

type heldEvent struct {
	name      string
	data, raw []byte
}

func lastName(h []heldEvent) string { return h[len(h)-1].name }
func lastData(h []heldEvent) []byte { return h[len(h)-1].data }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type pumpResult int

const (
	pumpDone pumpResult = iota
	pumpClientGone
	pumpInterrupted
)

// pump relays the current segment until it ends.
func (g *Gateway) pump(c *call, sw *streamWriter, rl *relay.Relay, idle time.Duration) pumpResult {
	seg := sw.seg
	a := seg.a
	stall := time.AfterFunc(idle, func() { seg.cancel(errStalled) })
	defer stall.Stop()
	for {
		if sw.Ended() {
			return pumpDone
		}
		ev, err := seg.rd.Next()
		if err != nil {
			switch {
			case shuttingDown(c.ctx):
				a.errText = errShutdown.Error()
				return pumpInterrupted
			case c.ctx.Err() != nil:
				return pumpClientGone
			case err == io.EOF && sw.Ended():
				return pumpDone
			case errors.Is(context.Cause(seg.ctx), errStalled):
				a.errText = errStalled.Error()
			case err == io.EOF:
				a.errText = "the provider ended the stream before its end"
			default:
				a.errText = "stream broken: " + upstream.RedactError(err, a.key)
			}
			return pumpInterrupted
		}
		stall.Reset(idle)
		usageOnly := seg.meter.Observe(ev.Name, ev.Data)
		if a.up.Format.IsStreamError(ev.Name, ev.Data) {
			a.errText = "provider stream error: " + upstream.Truncate(string(upstream.Scrub(ev.Data, a.key)), 300)
			return pumpInterrupted
		}
		if c.hides(seg, usageOnly) {
			if !seg.rd.Ready() {
				_ = sw.Flush()
			}
			continue
		}
		if err := rl.Event(ev, &sw.Writer); err != nil {
			if sw.Broken() {
				return pumpClientGone
			}
			a.errText = "reading the provider's stream: " + err.Error()
			return pumpInterrupted
		}
		if !seg.rd.Ready() {
			_ = sw.Flush()
		}
		if sw.Broken() {
			return pumpClientGone
		}
	}
}

// hides reports whether an upstream event is the usage-only chunk the
// gateway asked an OpenAI provider for and the OpenAI client did not. Only
// an OpenAI chat stream has usage-only chunks (usage.Meter.Observe); a
// translated one's translator consumes them itself.
func (c *call) hides(seg *segment, usageOnly bool) bool {
	return usageOnly && !c.req.ClientUsage && !seg.a.up.Translated
}
