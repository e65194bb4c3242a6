package gentrace

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// StartGateway starts the ai_gateway span under the span in ctx when that
// one records, and returns ctx carrying it; else ctx and nil.
func StartGateway(ctx context.Context) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(TracerName).Start(ctx, GatewaySpanName, trace.WithSpanKind(trace.SpanKindInternal))
}

// End ends a span StartGateway started, if any.
func End(span trace.Span) {
	if span != nil {
		span.End()
	}
}

// Call is what a request came to, set on its ai_gateway span by SetCall.
type Call struct {
	Endpoint    usage.Endpoint
	RequestID   string
	Attempts    int
	Stream      bool
	Model       string // the model asked for, when the request named one
	AccessKeyID string // the caller's access key, when it has one
	// The attempt that served the answer, when one did.
	Provider      *registry.Provider
	ResponseModel string
	Stop          string
	Usage         usage.Usage // the tokens of all its attempts (Add)
	// Served: an answer reached the client; else Reason says why not.
	Served bool
	Reason string
}

// Add adds an attempt's tokens to the call's.
func (c *Call) Add(u usage.Usage) {
	c.Usage.InputTokens += u.InputTokens
	c.Usage.CacheReadTokens += u.CacheReadTokens
	c.Usage.CacheWriteTokens += u.CacheWriteTokens
	c.Usage.OutputTokens += u.OutputTokens
}

// SetCall sets what the request came to on its ai_gateway span: the model
// asked for, the provider and model that answered, the tokens and, when
// no answer was served, why.
func SetCall(span trace.Span, c Call) {
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs,
		semconv.GenAIOperationNameKey.String(OperationName(c.Endpoint)),
		AttrRequestID.String(c.RequestID),
		AttrAttempts.Int(c.Attempts),
		AttrStream.Bool(c.Stream))
	if c.Model != "" {
		attrs = append(attrs, semconv.GenAIRequestModel(c.Model))
	}
	if c.AccessKeyID != "" {
		attrs = append(attrs, AttrAccessKeyID.String(c.AccessKeyID))
	}
	if c.Provider != nil {
		attrs = append(attrs,
			semconv.GenAIProviderNameKey.String(ProviderName(c.Provider)),
			semconv.GenAIResponseModel(c.ResponseModel))
		if c.Stop != "" {
			attrs = append(attrs, semconv.GenAIResponseFinishReasons(c.Stop))
		}
	}
	attrs = appendUsage(attrs, c.Usage)
	span.SetAttributes(attrs...)
	if c.Served {
		return
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(c.Reason))
	span.SetStatus(codes.Error, c.Reason)
}

// Attempt is what an attempt's span starts with.
type Attempt struct {
	Endpoint  usage.Endpoint
	Provider  *registry.Provider
	Model     string // the model asked of the provider
	N         int    // the attempt's number in its request, from 1
	KeySource string
	Start     time.Time
}

// StartAttempt starts the span of an attempt under the span in ctx (the
// ai_gateway span) when that one records; else it returns nil.
func StartAttempt(ctx context.Context, a Attempt) trace.Span {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return nil
	}
	op := OperationName(a.Endpoint)
	_, span := parent.TracerProvider().Tracer(TracerName).Start(ctx, op+" "+a.Model,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(a.Start),
		trace.WithAttributes(
			semconv.GenAIOperationNameKey.String(op),
			semconv.GenAIProviderNameKey.String(ProviderName(a.Provider)),
			semconv.GenAIRequestModel(a.Model),
			AttrProviderID.String(a.Provider.ID),
			AttrAttempt.Int(a.N),
			AttrKeySource.String(a.KeySource)))
	return span
}

// Result is how an attempt ended, set on its span by EndAttempt.
type Result struct {
	Status    int  // the provider's HTTP status; 0 when it never answered
	Served    bool // its answer reached the client, whole or in part
	Model     string
	Usage     usage.Usage
	Estimated bool // the usage is the gateway's estimate
	Stop      string
	Reason    string    // its failover reason (FailoverReason), "" for none
	End       time.Time // when it ended; zero for now
}

// EndAttempt sets how an attempt ended on its span and ends it.
func EndAttempt(span trace.Span, r Result) {
	attrs := make([]attribute.KeyValue, 0, 10)
	if r.Status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(r.Status))
	}
	if r.Served || r.Usage != (usage.Usage{}) {
		attrs = append(attrs, semconv.GenAIResponseModel(r.Model))
		attrs = appendUsage(attrs, r.Usage)
		if r.Estimated {
			attrs = append(attrs, AttrUsageEstimated.Bool(true))
		}
	}
	if r.Stop != "" {
		attrs = append(attrs, semconv.GenAIResponseFinishReasons(r.Stop))
	}
	if r.Reason != "" {
		attrs = append(attrs, AttrFailoverReason.String(r.Reason), semconv.ErrorTypeKey.String(r.Reason))
		span.SetStatus(codes.Error, r.Reason)
	}
	span.SetAttributes(attrs...)
	if r.End.IsZero() {
		span.End()
		return
	}
	span.End(trace.WithTimestamp(r.End))
}

// Inject makes an upstream request's traceparent (which Caddy's tracing
// set on the client's request, naming its server span) name the attempt's
// span instead, so a provider that joins traces sees the right parent.
// Without an attempt span (nil) the headers stay as they came.
func Inject(ctx context.Context, h http.Header, span trace.Span) {
	if span == nil {
		return
	}
	propagation.TraceContext{}.Inject(trace.ContextWithSpan(ctx, span), propagation.HeaderCarrier(h))
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
