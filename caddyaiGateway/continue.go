// continue.go: continuing a stalled stream on the next candidate
// (continueStream), each upstream stream feeding the response being a
// segment.

package caddyaigateway

import (
	"context"
	"net/http"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/health"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

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

// continueStream asks the next candidates, in order, to continue the
// answer from the text already delivered. It returns the first that
// accepts, with the translator resumed on it (text the continuation
// repeats from the delivered answer's start is skipped), or nil and why
// not. Each
// continuation extends the request's hold by what it can cost before it
// starts; when the balance cannot cover that, the stream is not continued.
func (g *Gateway) continueStream(c *call, ts translate.Stream, from int) (*segment, string) {
	const nobody = "no other provider could continue it"
	delivered := []byte(ts.Text())
	for ti := from; ti < len(c.targets); ti++ {
		t := c.targets[ti]
		keys := health.Order(g.app.shared.Health, t.Provider.ID, c.bill.usable(t, c.req.keys(t)), routing.Key.Secret)
		if len(keys) == 0 {
			continue
		}
		up, err := upstream.Prepare(c.req.Request, t, delivered)
		if err != nil {
			continue
		}
		for ki, kc := range keys {
			if c.ctx.Err() != nil {
				return nil, nobody
			}
			if err := c.bill.extend(c, t, kc, len(up.Body)); err != nil {
				return nil, "the account's credits cannot cover continuing it (" + err.Error() + ")"
			}
			a := g.newAttempt(c, t, kc, up)
			ctx, cancel := context.WithCancelCause(c.ctx)
			// per_request_timeout alone: a long stream may continue past
			// total_timeout, which bounds the time to its first content.
			timer := time.AfterFunc(c.perRequest, func() { cancel(errAttemptTimeout) })
			resp, ok := g.send(ctx, c, a)
			timer.Stop()
			if ok && !upstream.IsEventStream(resp.Header) {
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
			ts.Resume(up.Format.Wire())
			// A continuation that starts the answer over instead of
			// continuing it would repeat what the client has.
			translate.SkipRepeat(ts, string(delivered))
			c.bill.streaming()
			return &segment{a: a, ctx: ctx, cancel: cancel, resp: resp, rd: sse.NewReader(resp.Body), meter: usage.NewMeter(up.Kind), next: ti + 1}, ""
		}
	}
	return nil, nobody
}
