package gentrace

import (
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

func TestOperationName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		k    usage.Endpoint
		want string
	}{
		{usage.ChatCompletions, "chat"},
		{usage.Messages, "chat"},
		{usage.Responses, "chat"},
		{usage.GenerateContent, "chat"},
		{usage.Embeddings, "embeddings"},
		{usage.CountTokens, "count_tokens"},
		{usage.Endpoint(99), "unknown"},
	} {
		if got := OperationName(tc.k); got != tc.want {
			t.Errorf("OperationName(%v) = %q, want %q", tc.k, got, tc.want)
		}
	}
}

func TestProviderName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    catalog.Provider
		want string
	}{
		{catalog.Provider{ID: "openai", BuiltIn: true}, "openai"},
		{catalog.Provider{ID: "anthropic", BuiltIn: true}, "anthropic"},
		{catalog.Provider{ID: "google", BuiltIn: true}, "gcp.gemini"},
		{catalog.Provider{ID: "deepseek", BuiltIn: true}, "deepseek"},
		{catalog.Provider{ID: "google"}, "google"}, // a custom provider: its id
		{catalog.Provider{ID: "ollama"}, "ollama"},
	} {
		if got := ProviderName(&registry.Provider{Provider: &tc.p}); got != tc.want {
			t.Errorf("ProviderName(%s, built-in %v) = %q, want %q", tc.p.ID, tc.p.BuiltIn, got, tc.want)
		}
	}
}
