package caddyaigateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

const defaultStreamIdleTimeout = 30 * time.Second

// segment is one upstream stream feeding the client's response; a
// stalled stream is continued by another segment.
type segment struct {
	a      *attempt
	ctx    context.Context
	cancel context.CancelCauseFunc
	resp   *http.Response
	rd     *sse.Reader
	meter  *usage.Meter
	next   int // the target after this segment's, for the next continuation
}

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
	_ = sw.emit(sw.c.req.ep.client().StreamError(msg))
	_ = sw.flush()
}

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

// hides reports whether an upstream event is the usage-only chunk the
// gateway asked an OpenAI provider for and the OpenAI client did not. Only
// an OpenAI chat stream has usage-only chunks (usage.Meter.Observe); a
// translated one's translator consumes them itself.
func (c *call) hides(seg *segment, usageOnly bool) bool {
	return usageOnly && !c.req.clientUsage && !seg.a.up.translated
}

// serveStream relays a streaming answer event by event, translated into
// the client's format when the provider speaks the other one. Events
// before the first generated content are held back: a provider that
// accepts the request and then says nothing within first_token_timeout is
// failed over with nothing sent. Once content flows, a stream that stalls
// (stream_idle_timeout), breaks or reports an error is continued on the
// next candidate from the text already delivered, in the same response.
func (g *Gateway) serveStream(c *call, a *attempt, ctx context.Context, cancel context.CancelCauseFunc, timer *time.Timer, resp *http.Response, next int) {
	firstToken, idle, continueStalled := g.failoverConfig()
	seg := &segment{a: a, ctx: ctx, cancel: cancel, resp: resp, rd: sse.NewReader(resp.Body), meter: usage.NewMeter(a.up.kind), next: next}
	rl := &relay{upstream: a.up.format, client: c.req.ep.client(), includeUsage: c.req.clientUsage}
	if a.up.translated {
		rl.ts = rl.upstream.TranslateStream(rl.client, a.target.Name, c.req.clientUsage)
	}
	sw := &streamWriter{g: g, c: c, seg: seg, rc: http.NewResponseController(c.w)}
	// A continuation's response is this function's to close (try closes
	// the first segment's).
	defer func() {
		if sw.seg != seg {
			sw.seg.cancel(nil)
			sw.seg.resp.Body.Close()
		}
	}()

	// Until the first content: hold events back.
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
	holder := &streamWriter{g: g, c: c, seg: seg}
	holder.hold = func(name string, data, raw []byte) {
		held = append(held, heldEvent{name: name, data: bytes.Clone(data), raw: bytes.Clone(raw)})
	}
	for !seg.meter.FirstContent() {
		ev, err := seg.rd.Next()
		if err != nil {
			if err == io.EOF && len(held) > 0 && isTerminalEvent(lastName(held), lastData(held)) {
				break // a complete answer without content (e.g. max_tokens 0)
			}
			if err == io.EOF {
				err = errors.New("stream ended before any content")
			}
			g.failed(c, a, ctx, err)
			if a.outcome != clientGone {
				// The provider accepted the request but gave no answer: a
				// failure of the attempt, not the 200 it started with.
				a.status = http.StatusBadGateway
			}
			return
		}
		usageOnly := seg.meter.Observe(ev.Name, ev.Data)
		if a.up.format.IsStreamError(ev.Name, ev.Data) {
			a.status, a.outcome, a.errText = http.StatusBadGateway, nextTarget, "provider stream error: "+truncate(string(scrubSecret(ev.Data, a.key)), 300)
			return
		}
		if c.hides(seg, usageOnly) {
			continue
		}
		if err := rl.event(ev, holder); err != nil {
			a.status, a.outcome, a.errText = http.StatusBadGateway, nextTarget, "reading the provider's stream: "+err.Error()
			return
		}
		if isTerminalEvent(ev.Name, ev.Data) {
			break
		}
	}
	timer.Stop()
	a.ttft = time.Since(a.start)

	// Commit: headers, then what was held back.
	h := c.w.Header()
	copyResponseHeaders(h, resp.Header, a.key)
	h.Del("Content-Encoding")
	if a.up.translated {
		h.Set("Content-Type", "text/event-stream")
		h.Del("Request-Id")
	}
	g.successHeaders(c, a)
	c.w.WriteHeader(resp.StatusCode)
	a.outcome = served
	for _, ev := range held {
		if sw.write(ev.name, ev.data, ev.raw) != nil {
			break
		}
	}
	if !seg.rd.Ready() {
		_ = sw.flush()
	}

	for {
		why := g.pump(c, sw, rl, idle)
		cur := sw.seg.a
		switch why {
		case pumpDone:
			g.finishUsage(c, cur, sw.seg.meter)
			if cur != a {
				g.record(c, cur, actionSucceeded)
			}
			return
		case pumpClientGone:
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
		if continueStalled && !shuttingDown(c.r.Context()) {
			if ts := rl.translator(); ts != nil && ts.Text() != "" {
				cont, reason = g.continueStream(c, ts, sw.seg.next)
			}
		}
		if cont == nil {
			cur.errText = firstNonEmpty(cur.errText, "stream interrupted")
			g.record(c, cur, actionExhausted)
			if !sw.broken {
				msg := "the provider's stream was interrupted and " + reason + ": " + cur.errText
				if shuttingDown(c.r.Context()) {
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
func (g *Gateway) pump(c *call, sw *streamWriter, rl *relay, idle time.Duration) pumpResult {
	seg := sw.seg
	a := seg.a
	stall := time.AfterFunc(idle, func() { seg.cancel(errStalled) })
	defer stall.Stop()
	for {
		if sw.terminal {
			return pumpDone
		}
		ev, err := seg.rd.Next()
		if err != nil {
			switch {
			case shuttingDown(c.r.Context()):
				a.errText = errShutdown.Error()
				return pumpInterrupted
			case c.r.Context().Err() != nil:
				return pumpClientGone
			case err == io.EOF && sw.terminal:
				return pumpDone
			case errors.Is(context.Cause(seg.ctx), errStalled):
				a.errText = errStalled.Error()
			case err == io.EOF:
				a.errText = "the provider ended the stream before its end"
			default:
				a.errText = "stream broken: " + redactURLError(err, a.key)
			}
			return pumpInterrupted
		}
		stall.Reset(idle)
		usageOnly := seg.meter.Observe(ev.Name, ev.Data)
		if a.up.format.IsStreamError(ev.Name, ev.Data) {
			a.errText = "provider stream error: " + truncate(string(scrubSecret(ev.Data, a.key)), 300)
			return pumpInterrupted
		}
		if c.hides(seg, usageOnly) {
			if !seg.rd.Ready() {
				_ = sw.flush()
			}
			continue
		}
		if err := rl.event(ev, sw); err != nil {
			if sw.broken {
				return pumpClientGone
			}
			a.errText = "reading the provider's stream: " + err.Error()
			return pumpInterrupted
		}
		if !seg.rd.Ready() {
			_ = sw.flush()
		}
		if sw.broken {
			return pumpClientGone
		}
	}
}

// continueStream asks the next candidates, in order, to continue the
// answer from the text already delivered. It returns the first that
// accepts, with the translator resumed on it, or nil and why not. Each
// continuation extends the request's hold by what it can cost before it
// starts; when the balance cannot cover that, the stream is not continued.
func (g *Gateway) continueStream(c *call, ts translate.Stream, from int) (*segment, string) {
	const nobody = "no other provider could continue it"
	delivered := []byte(ts.Text())
	for ti := from; ti < len(c.targets); ti++ {
		t := c.targets[ti]
		keys := g.app.shared.health.order(t.Provider.ID, c.bill.usable(t, c.req.keys(t)))
		if len(keys) == 0 {
			continue
		}
		up, err := g.prepare(c.req, t, delivered)
		if err != nil {
			continue
		}
		for ki, kc := range keys {
			if c.r.Context().Err() != nil {
				return nil, nobody
			}
			if err := c.bill.extend(c, t, kc, len(up.body)); err != nil {
				return nil, "the account's credits cannot cover continuing it (" + err.Error() + ")"
			}
			a := g.newAttempt(c, t, kc, up)
			ctx, cancel := context.WithCancelCause(c.r.Context())
			// per_request_timeout alone: a long stream may continue past
			// total_timeout, which bounds the time to its first content.
			timer := time.AfterFunc(c.perRequest, func() { cancel(errAttemptTimeout) })
			resp, ok := g.send(c, a, ctx)
			timer.Stop()
			if ok && !isEventStream(resp.Header) {
				resp.Body.Close()
				ok, a.outcome, a.errText = false, nextTarget, "the provider did not answer with a stream"
			}
			if !ok {
				cancel(nil)
				action := actionNextBack
				if a.outcome == nextKey && ki < len(keys)-1 {
					action = actionNextKey
				}
				g.record(c, a, action)
				if a.outcome == nextKey {
					continue
				}
				break
			}
			a.outcome = served
			a.ttft = time.Since(a.start)
			ts.Resume(up.format.Wire())
			c.bill.streaming()
			return &segment{a: a, ctx: ctx, cancel: cancel, resp: resp, rd: sse.NewReader(resp.Body), meter: usage.NewMeter(up.kind), next: ti + 1}, ""
		}
	}
	return nil, nobody
}
