package gentrace

import (
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// OperationName is the gen_ai.operation.name of an endpoint.
func OperationName(k usage.Endpoint) string {
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

// ProviderName is the gen_ai.provider.name of a provider: the semconv's
// name for the built-in ones (their ids match it but Google's), a custom
// provider's id otherwise.
func ProviderName(p *registry.Provider) string {
	if p.BuiltIn && p.ID == "google" {
		return "gcp.gemini"
	}
	return p.ID
}
