// attempt.go: one try of one target with one key (the upstream request
// is built by upstream.Prepare): try, send (the upstream request and its
// refusals), failed (why no answer came) and serveBody (a complete answer).

package caddyaigateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/gentrace"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// maxShortRetryAfter is the longest Retry-After the gateway waits out to
// retry the same key once.
const maxShortRetryAfter = 2 * time.Second

// Limits on what the gateway buffers from a provider.
const (
	maxErrorBody    = 1 << 20
	maxResponseBody = 256 << 20
)

// Why an attempt's context was cancelled.
var (
	errAttemptTimeout = errors.New("no answer within per_request_timeout")
	errFirstToken     = errors.New("no first token within first_token_timeout")
	errStalled        = errors.New("stream stalled (stream_idle_timeout)")
	errTotalDeadline  = errors.New("no answer within total_timeout")
)

// attempt is one upstream try.
type attempt struct {
	n       int
	target  registry.Target
	key     string
	source  string
	keyID   string
	start   time.Time
	ttft    time.Duration
	status  int
	outcome outcome
	errText string
	// for a failFast/last failure, what to pass back
	errBody   []byte
	errHeader http.Header
	usage     usage.Usage
	estimated bool
	stop      string
	streaming bool
	metered   bool
	cost      money.Nano // provider cost at catalog prices
	fee       money.Nano // processing or BYOK fee charged
	// retryAfter is a 429's Retry-After, when short enough to wait for.
	retryAfter time.Duration
	// up is how the attempt reached its provider.
	up *upstream.Call
	// recorded: its usage event is written (each attempt once).
	recorded bool
	// span is the attempt's trace span while it is open (tracing.go).
	span trace.Span
}

// try makes one attempt and, when the provider answers, serves it. next
// is the index of the target after this one (for stream continuation).
func (g *Gateway) try(c *call, t registry.Target, kc routing.Key, up *upstream.Call, next int) *attempt {
	a := g.newAttempt(c, t, kc, up)
	defer endAttemptSpans(c, time.Time{}) // this attempt's and its stream's continuations'
	ctx, cancel := context.WithCancelCause(c.ctx)
	defer cancel(nil)
	d, cause := c.limitBy(c.perRequest, errAttemptTimeout)
	timer := time.AfterFunc(d, func() { cancel(cause) })
	defer timer.Stop()

	resp, ok := g.send(ctx, c, a)
	if !ok {
		return a
	}
	defer resp.Body.Close()
	if c.req.Stream && upstream.IsEventStream(resp.Header) {
		g.serveStream(ctx, c, a, cancel, timer, resp, next)
	} else {
		g.serveBody(ctx, c, a, resp)
	}
	return a
}

func (g *Gateway) newAttempt(c *call, t registry.Target, kc routing.Key, up *upstream.Call) *attempt {
	c.attempts++
	a := new(attempt)
	if c.attempts == 1 {
		a = &c.first // most requests make one attempt
	}
	*a = attempt{n: c.attempts, target: t, key: kc.Value, source: kc.Source, keyID: kc.ID, start: time.Now(), streaming: c.req.Stream, up: up}
	if c.all == nil {
		c.all = c.allBuf[:0]
	}
	c.all = append(c.all, a)
	traceAttempt(c, a)
	if kc.ID != "" {
		g.app.shared.Manage.Touch(kc.ID, a.start)
	}
	return a
}

// send makes the upstream request. It returns the response when the
// provider accepted the request (2xx); otherwise the attempt says why not
// and what to do next.
func (g *Gateway) send(ctx context.Context, c *call, a *attempt) (*http.Response, bool) {
	t, up, key := a.target, a.up, a.key
	base := t.Provider.BaseURL
	if up.BaseURL != "" {
		base = up.BaseURL
	}
	req, err := upstream.NewRequest(ctx, base, up.Path, up.Query, up.Body, c.r.Header)
	if err != nil {
		a.outcome, a.errText = nextTarget, "building request: "+err.Error()
		return nil, false
	}
	up.Format.Authenticate(req.Header, key, up.Translated)
	gentrace.Inject(ctx, req.Header, a.span)
	if ce := g.logger.Check(zap.DebugLevel, "upstream attempt"); ce != nil {
		ce.Write(zap.String("request_id", c.id), zap.Int("attempt", a.n), zap.String("provider", t.Provider.ID),
			zap.String("model", t.Name), zap.Bool("translated", up.Translated))
	}
	resp, err := g.app.transport.RoundTrip(req)
	if err != nil {
		g.failed(ctx, c, a, err)
		return nil, false
	}
	a.status = resp.StatusCode
	if resp.StatusCode < 300 {
		return resp, true
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	a.errBody = upstream.Scrub(b, key)
	a.errHeader = resp.Header
	a.errText = upstream.ErrorMessage(a.errBody)
	if upstream.KeyRejected(a.status, a.errBody) {
		a.status = http.StatusUnauthorized // Google's 400 for a bad key
	}
	kh := g.app.shared.Health
	switch {
	case a.status == http.StatusUnauthorized:
		a.outcome = nextKey
		kh.Failed(t.Provider.ID, key, a.status, 0)
	case resp.StatusCode == http.StatusTooManyRequests:
		a.outcome = nextKey
		ra := upstream.RetryAfter(resp.Header)
		if ra > 0 && ra <= maxShortRetryAfter {
			a.retryAfter = ra
		}
		kh.Failed(t.Provider.ID, key, resp.StatusCode, ra)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		a.outcome = nextKey
		kh.Failed(t.Provider.ID, key, resp.StatusCode, 0)
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		a.outcome = nextTarget
	default:
		a.outcome = failFast // 400, 404, 422…: it would fail everywhere
	}
	return nil, false
}

// failed classifies an error that left no answer to serve.
func (g *Gateway) failed(ctx context.Context, c *call, a *attempt, err error) {
	cause := context.Cause(ctx)
	switch {
	case shuttingDown(c.ctx):
		a.outcome, a.errText = clientGone, errShutdown.Error()
	case c.ctx.Err() != nil:
		a.outcome, a.errText = clientGone, "client closed the connection"
	case errors.Is(cause, errAttemptTimeout), errors.Is(cause, errFirstToken), errors.Is(cause, errStalled), errors.Is(cause, errTotalDeadline):
		a.outcome, a.errText = nextTarget, cause.Error()
	default:
		a.outcome, a.errText = nextTarget, "connection failed: "+upstream.RedactError(err, a.key)
	}
}

// bodyBuffers hold complete answers while they are metered and written:
// the body is done with once the client's writer has it.
var bodyBuffers = sync.Pool{New: func() any { return new(bodyBuffer) }}

type bodyBuffer struct {
	bytes.Buffer
	lr io.LimitedReader
}

// maxPooledBody: a buffer that grew past it is left to the collector, so
// one huge answer does not stay pinned in the pool.
const maxPooledBody = 256 << 10

func getBodyBuffer() *bodyBuffer { return bodyBuffers.Get().(*bodyBuffer) }

func putBodyBuffer(b *bodyBuffer) {
	b.lr = io.LimitedReader{}
	if b.Cap() <= maxPooledBody {
		b.Reset()
		bodyBuffers.Put(b)
	}
}

// serveBody serves a complete (non-streaming) answer.
func (g *Gateway) serveBody(ctx context.Context, c *call, a *attempt, resp *http.Response) {
	buf := getBodyBuffer()
	defer putBodyBuffer(buf)
	buf.lr = io.LimitedReader{R: resp.Body, N: maxResponseBody}
	if _, err := buf.ReadFrom(&buf.lr); err != nil {
		g.failed(ctx, c, a, err)
		return
	}
	body := buf.Bytes()
	var err error
	u, stop, ok := usage.FromBody(a.up.Kind, body)
	a.usage, a.stop = u, stop
	if !ok {
		// Estimate the generated text, not the JSON envelope around it.
		a.usage = usage.Usage{InputTokens: usage.EstimateTokens(len(c.req.Body)), OutputTokens: usage.EstimateTokens(usage.OutputText(body))}
		a.estimated = c.req.Endpoint.Kind != usage.CountTokens
	}
	if a.up.Translated {
		if body, err = a.up.Format.TranslateResponse(c.req.Endpoint.Client(), body, a.target.Name); err != nil {
			a.status, a.outcome, a.errText = http.StatusBadGateway, nextTarget, "translating the provider's answer: "+err.Error()
			return
		}
	}
	// The firewall reads the answer's tool calls in the client's format,
	// after translation (firewall.go).
	if gd := c.req.guard; gd.ChecksAnswers(c.req.Endpoint.Kind) {
		body = g.checkBody(ctx, gd, c.req.Endpoint.Format, body)
	}
	g.price(c, a)
	// The debit is durable before the client has the answer: a response
	// that reached the client is never left unpaid by a crash.
	c.bill.settle(c)

	h := c.w.Header()
	upstream.CopyResponseHeaders(h, resp.Header, a.key)
	h.Del("Content-Encoding") // the transport decoded it
	g.successHeaders(c, a, hdrCost, c.charged().String(), "Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(resp.StatusCode)
	_, _ = c.w.Write(body)
	a.outcome = served
}
