// tracing.go: OpenTelemetry spans under Caddy's `tracing` directive. The
// gateway's handling of a request is one span (ai_gateway, a child of
// Caddy's server span) and each upstream attempt a span under it, with the
// GenAI semantic-convention attributes, the attempt's number, key source
// and, when it failed, why. The tracer comes from the server span's
// provider, so spans go wherever Caddy's tracing exports them. Without
// `tracing` (or for a request its sampler left out) the server span does
// not record and nothing here allocates. Never a key or prompt text: a
// failure is named by a fixed reason, not the provider's message.

package caddyaigateway

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

const (
	tracerName      = "github.com/caddy-ai-gateway/caddy-ai-gateway"
	gatewaySpanName = "ai_gateway"
)

// The gateway's own span attributes.
const (
	attrAttempt        = attribute.Key("ai_gateway.attempt")
	attrAttempts       = attribute.Key("ai_gateway.attempts")
	attrFailoverReason = attribute.Key("ai_gateway.failover.reason")
	attrKeySource      = attribute.Key("ai_gateway.key.source")
	attrProviderID     = attribute.Key("ai_gateway.provider.id")
	attrRequestID      = attribute.Key("ai_gateway.request_id")
	attrStream         = attribute.Key("ai_gateway.stream")
	attrUsageEstimated = attribute.Key("ai_gateway.usage.estimated")
	attrAccessKeyID    = attribute.Key("ai_gateway.access_key.id")
)

// Failover reasons: why an attempt gave no answer, or stopped giving one.
const (
	reasonRateLimited     = "rate_limited"      // 429
	reasonKeyRefused      = "key_refused"       // 401/403: the provider key was refused
	reasonProviderError   = "provider_error"    // 408 or 5xx from the provider
	reasonRequestRejected = "request_rejected"  // another 4xx: the request would fail everywhere
	reasonConnection      = "connection_failed" // no answer at all
	reasonTimeout         = "timeout"           // per_request_timeout
	reasonFirstToken      = "first_token_timeout"
	reasonStalled         = "stream_stalled"
	reasonTotalTimeout    = "total_timeout"
	reasonStreamError     = "provider_stream_error" // an error event in the stream
	reasonInterrupted     = "stream_interrupted"    // cut after content reached the client
	reasonBadResponse     = "bad_response"          // a 2xx the gateway could not serve
	reasonClientClosed    = "client_closed"
	reasonShutdown        = "shutdown"
	reasonNoCandidate     = "no_candidate" // no provider key for any candidate
)

// startGatewaySpan starts the ai_gateway span under the span in ctx when
// that one records, and returns ctx carrying it; else ctx and nil.
func startGatewaySpan(ctx context.Context) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(tracerName).Start(ctx, gatewaySpanName, trace.WithSpanKind(trace.SpanKindInternal))
}

// endSpan ends a span startGatewaySpan started, if any.
func endSpan(span trace.Span) {
	if span != nil {
		span.End()
	}
}

// traceCall sets what the request came to on its ai_gateway span: the
// model asked for, the provider and model that answered, the tokens of
// all its attempts and, when no answer was served, why.
func traceCall(c *call) {
	endAttemptSpans(c)
	span := trace.SpanFromContext(c.ctx)
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs,
		semconv.GenAIOperationNameKey.String(operationName(c.req.Endpoint.Kind)),
		attrRequestID.String(c.id),
		attrAttempts.Int(c.attempts),
		attrStream.Bool(c.req.Stream))
	if c.req.Model != "" {
		attrs = append(attrs, semconv.GenAIRequestModel(c.req.Model))
	}
	if c.caller != nil && c.caller.AccessKey != nil {
		attrs = append(attrs, attrAccessKeyID.String(c.caller.AccessKey.ID))
	}
	var u usage.Usage
	var last, answered *attempt
	for _, a := range c.all {
		u.InputTokens += a.usage.InputTokens
		u.CacheReadTokens += a.usage.CacheReadTokens
		u.CacheWriteTokens += a.usage.CacheWriteTokens
		u.OutputTokens += a.usage.OutputTokens
		if a.outcome == served {
			answered = a
		}
		last = a
	}
	if answered != nil {
		attrs = append(attrs,
			semconv.GenAIProviderNameKey.String(providerName(answered.target.Provider)),
			semconv.GenAIResponseModel(answered.target.Name))
		if answered.stop != "" {
			attrs = append(attrs, semconv.GenAIResponseFinishReasons(answered.stop))
		}
	}
	attrs = appendUsage(attrs, u)
	span.SetAttributes(attrs...)
	if c.committed {
		return
	}
	reason := reasonNoCandidate
	if last != nil {
		reason = failoverReason(last)
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(reason))
	span.SetStatus(codes.Error, reason)
}

// traceAttempt starts the span of attempt a (just made) under the
// ai_gateway span. Attempts run one after another, so one still open has
// ended: a stream segment a continuation replaces, or a continuation the
// provider refused.
func traceAttempt(c *call, a *attempt) {
	if n := len(c.all); n > 1 && c.all[n-2].span != nil {
		endAttemptSpan(c.all[n-2], trace.WithTimestamp(a.start))
	}
	parent := trace.SpanFromContext(c.ctx)
	if !parent.IsRecording() {
		return
	}
	op := operationName(c.req.Endpoint.Kind)
	_, a.span = parent.TracerProvider().Tracer(tracerName).Start(c.ctx, op+" "+a.target.Name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(a.start),
		trace.WithAttributes(
			semconv.GenAIOperationNameKey.String(op),
			semconv.GenAIProviderNameKey.String(providerName(a.target.Provider)),
			semconv.GenAIRequestModel(a.target.Name),
			attrProviderID.String(a.target.Provider.ID),
			attrAttempt.Int(a.n),
			attrKeySource.String(a.source)))
}

// traceHeaders makes the upstream request's traceparent (which Caddy's
// tracing set on the client's request, naming its server span) name the
// attempt's span instead, so a provider that joins traces sees the right
// parent. Without an attempt span the headers stay as they came.
func traceHeaders(ctx context.Context, h http.Header, a *attempt) {
	if a.span == nil {
		return
	}
	propagation.TraceContext{}.Inject(trace.ContextWithSpan(ctx, a.span), propagation.HeaderCarrier(h))
}

// endAttemptSpans ends the spans of c's attempts still open.
func endAttemptSpans(c *call) {
	for _, a := range c.all {
		endAttemptSpan(a)
	}
}

// endAttemptSpan sets how attempt a ended on its span and ends it (once).
func endAttemptSpan(a *attempt, opts ...trace.SpanEndOption) {
	span := a.span
	if span == nil {
		return
	}
	a.span = nil
	attrs := make([]attribute.KeyValue, 0, 10)
	if a.status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(a.status))
	}
	if a.outcome == served || a.usage != (usage.Usage{}) {
		attrs = append(attrs, semconv.GenAIResponseModel(a.target.Name))
		attrs = appendUsage(attrs, a.usage)
		if a.estimated {
			attrs = append(attrs, attrUsageEstimated.Bool(true))
		}
	}
	if a.stop != "" {
		attrs = append(attrs, semconv.GenAIResponseFinishReasons(a.stop))
	}
	if reason := failoverReason(a); reason != "" {
		attrs = append(attrs, attrFailoverReason.String(reason), semconv.ErrorTypeKey.String(reason))
		span.SetStatus(codes.Error, reason)
	}
	span.SetAttributes(attrs...)
	span.End(opts...)
}

// appendUsage appends u's token counts. gen_ai.usage.input_tokens counts
// all input tokens, cached ones included (the semconv's definition); the
// cache reads and writes are also given on their own when there are any.
func appendUsage(attrs []attribute.KeyValue, u usage.Usage) []attribute.KeyValue {
	attrs = append(attrs,
		semconv.GenAIUsageInputTokensKey.Int64(u.InputTokens+u.CacheReadTokens+u.CacheWriteTokens),
		semconv.GenAIUsageOutputTokensKey.Int64(u.OutputTokens))
	if u.CacheReadTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokensKey.Int64(u.CacheReadTokens))
	}
	if u.CacheWriteTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheCreationInputTokensKey.Int64(u.CacheWriteTokens))
	}
	return attrs
}

// failoverReason names why attempt a gave no answer, or stopped giving
// one, in a few stable words; "" when it served a whole answer. The
// provider's own message is left out: it can quote the request.
func failoverReason(a *attempt) string {
	if a.outcome == served && a.errText == "" {
		return ""
	}
	switch a.errText {
	case errShutdown.Error():
		return reasonShutdown
	case errAttemptTimeout.Error():
		return reasonTimeout
	case errFirstToken.Error():
		return reasonFirstToken
	case errStalled.Error():
		return reasonStalled
	case errTotalDeadline.Error():
		return reasonTotalTimeout
	}
	switch {
	case a.outcome == clientGone:
		return reasonClientClosed
	case a.errBody != nil: // the provider answered with an error status
		switch s := a.status; {
		case s == http.StatusTooManyRequests:
			return reasonRateLimited
		case s == http.StatusUnauthorized, s == http.StatusForbidden:
			return reasonKeyRefused
		case s == http.StatusRequestTimeout, s >= 500:
			return reasonProviderError
		}
		return reasonRequestRejected
	case a.status == 0:
		return reasonConnection
	case strings.HasPrefix(a.errText, "provider stream error"):
		return reasonStreamError
	case a.outcome == served:
		return reasonInterrupted
	}
	return reasonBadResponse
}

// operationName is the gen_ai.operation.name of an endpoint.
func operationName(k usage.Endpoint) string {
	switch k {
	case usage.ChatCompletions, usage.Messages, usage.Responses, usage.GenerateContent:
		return "chat"
	case usage.Embeddings:
		return "embeddings"
	case usage.CountTokens:
		return "count_tokens" // no semconv operation: a custom value
	}
	return "unknown"
}

// providerName is the gen_ai.provider.name of a provider: the semconv's
// name for the built-in ones (their ids match it but Google's), a custom
// provider's id otherwise.
func providerName(p *registry.Provider) string {
	if p.BuiltIn && p.ID == "google" {
		return "gcp.gemini"
	}
	return p.ID
}
