// streamwrite.go: the stream's client writer (relay.Writer) for one
// request: it settles the request's credits before the stream's last
// event and hands the firewall's decisions to the request's guard.

package caddyaigateway

import "github.com/caddy-ai-gateway/caddy-ai-gateway/internal/relay"

// streamWriter writes client events and settles credits before the event
// that ends the stream.
type streamWriter struct {
	relay.Writer
	g   *Gateway
	c   *call
	seg *segment // the segment feeding the stream now
}

func newStreamWriter(g *Gateway, c *call, seg *segment) *streamWriter {
	sw := &streamWriter{g: g, c: c, seg: seg}
	sw.Writer = relay.NewWriter(c.w, sw)
	if gd := c.req.guard; gd.ChecksAnswers(c.req.Endpoint.Kind) {
		sw.Gate = gd.Gate(c.ctx, c.req.Endpoint.Format) // the client's events, whatever the provider spoke
	}
	return sw
}

// Finish meters the current segment and settles the request's credits,
// before the stream's last event.
func (sw *streamWriter) Finish() {
	if sw.c.bill != nil {
		sw.g.finishUsage(sw.c, sw.seg.a, sw.seg.meter)
		sw.c.bill.settle(sw.c)
	}
}

// gateDecisions hands the gate's decisions to the request's guard (for
// the usage event and the metrics), once. A stream without a gate has no
// guard (no firewall policy) and nothing to hand.
func (sw *streamWriter) gateDecisions() {
	if sw.Gate != nil {
		sw.c.req.guard.Record(sw.GateDecisions())
	}
}

// errorEvent ends a stream that cannot be completed with a well-formed
// error event in the client's format.
func (sw *streamWriter) errorEvent(msg string) {
	sw.ErrorEvent(sw.c.req.Endpoint.Client().StreamError(msg))
}
