// tracing.go: OpenTelemetry spans under Caddy's `tracing` directive, made
// by internal/gentrace from the request's call and attempts: ai_gateway
// for the request (gateway.go starts it), one span per attempt.

package caddyaigateway

import (
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/gentrace"
)

// traceCall sets what the request came to on its ai_gateway span.
func traceCall(c *call) {
	endAttemptSpans(c, time.Time{})
	span := trace.SpanFromContext(c.ctx)
	if !span.IsRecording() {
		return
	}
	tc := gentrace.Call{Endpoint: c.req.Endpoint.Kind, RequestID: c.id, Attempts: c.attempts, Stream: c.req.Stream,
		Model: c.req.Model, Served: c.committed, Reason: gentrace.ReasonNoCandidate}
	if c.caller != nil && c.caller.AccessKey != nil {
		tc.AccessKeyID = c.caller.AccessKey.ID
	}
	for _, a := range c.all {
		tc.Add(a.usage)
		if a.outcome == served {
			tc.Provider, tc.ResponseModel, tc.Stop = a.target.Provider, a.target.Name, a.stop
		}
	}
	if n := len(c.all); n > 0 && !c.committed {
		tc.Reason = failoverReason(c.all[n-1])
	}
	gentrace.SetCall(span, tc)
}

// traceAttempt starts the span of attempt a (just made). Attempts run one
// after another, so one still open has ended: a stream segment a
// continuation replaces, or a continuation the provider refused.
func traceAttempt(c *call, a *attempt) {
	endAttemptSpans(c, a.start)
	a.span = gentrace.StartAttempt(c.ctx, gentrace.Attempt{Endpoint: c.req.Endpoint.Kind, Provider: a.target.Provider,
		Model: a.target.Name, N: a.n, KeySource: a.source, Start: a.start})
}

// endAttemptSpans ends the spans of c's attempts still open, at end (zero:
// now).
func endAttemptSpans(c *call, end time.Time) {
	for _, a := range c.all {
		if a.span != nil {
			gentrace.EndAttempt(a.span, gentrace.Result{Status: a.status, Served: a.outcome == served, Model: a.target.Name,
				Usage: a.usage, Estimated: a.estimated, Stop: a.stop, Reason: failoverReason(a), End: end})
			a.span = nil
		}
	}
}

// cutReasons names the failures the gateway causes itself, by their text.
var cutReasons = map[string]string{
	errShutdown.Error(): gentrace.ReasonShutdown, errAttemptTimeout.Error(): gentrace.ReasonTimeout,
	errFirstToken.Error(): gentrace.ReasonFirstToken, errStalled.Error(): gentrace.ReasonStalled,
	errTotalDeadline.Error(): gentrace.ReasonTotalTimeout,
}

// failoverReason names why attempt a failed ("" when it served a whole
// answer); never with the provider's message, which can quote the request.
func failoverReason(a *attempt) string {
	return gentrace.FailoverReason(gentrace.Ending{Served: a.outcome == served, ClientGone: a.outcome == clientGone,
		Failed: a.errText != "", Status: a.status, Refused: a.errBody != nil, Cut: cutReasons[a.errText],
		StreamError: strings.HasPrefix(a.errText, "provider stream error")})
}
