// Package gentrace makes the gateway's OpenTelemetry spans: their names and
// their attributes, the GenAI semantic conventions' and the gateway's own.
// A request is one span (ai_gateway, under Caddy's server span) and each
// upstream attempt a span under it. Spans start only under a span that
// records, so without tracing nothing here allocates. No span carries a
// key or prompt text: a failure is named by a fixed reason
// (FailoverReason), not the provider's message.
package gentrace

import "go.opentelemetry.io/otel/attribute"

const (
	// TracerName names the tracer of the gateway's spans.
	TracerName = "github.com/caddy-ai-gateway/caddy-ai-gateway"
	// GatewaySpanName is the name of a request's span.
	GatewaySpanName = "ai_gateway"
)

// The gateway's own span attributes.
const (
	AttrAttempt        = attribute.Key("ai_gateway.attempt")
	AttrAttempts       = attribute.Key("ai_gateway.attempts")
	AttrFailoverReason = attribute.Key("ai_gateway.failover.reason")
	AttrKeySource      = attribute.Key("ai_gateway.key.source")
	AttrProviderID     = attribute.Key("ai_gateway.provider.id")
	AttrRequestID      = attribute.Key("ai_gateway.request_id")
	AttrStream         = attribute.Key("ai_gateway.stream")
	AttrUsageEstimated = attribute.Key("ai_gateway.usage.estimated")
	AttrAccessKeyID    = attribute.Key("ai_gateway.access_key.id")
)
