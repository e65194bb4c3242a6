package clientreq

import (
	"net/http"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
)

// paths: what EndpointName and ErrorFormat make of a request path.
var paths = []struct {
	path   string
	name   string
	format apierr.Format
}{
	{"/v1/chat/completions", "chat.completions", apierr.OpenAI},
	{"/llm/v1/chat/completions/", "chat.completions", apierr.OpenAI},
	{"/v1/messages", "messages", apierr.Anthropic},
	{"/llm/v1/messages/count_tokens", "messages.count_tokens", apierr.Anthropic},
	{"/v1/responses", "responses", apierr.OpenAI},
	{"/v1/embeddings", "embeddings", apierr.OpenAI},
	{"/v1/models", "models", apierr.OpenAI},
	{"/v1/models/openai:gpt-4o", "models", apierr.OpenAI},
	{"/v1/anything-a-client-invents", "other", apierr.OpenAI},
	{"/", "other", apierr.OpenAI},
}

func TestEndpointNameAndErrorFormat(t *testing.T) {
	for _, tc := range paths {
		if got := EndpointName(tc.path); got != tc.name {
			t.Errorf("EndpointName(%q) = %q, want %q", tc.path, got, tc.name)
		}
		if got := ErrorFormat(tc.path); got != tc.format {
			t.Errorf("ErrorFormat(%q) = %v, want %v", tc.path, got, tc.format)
		}
	}
}

func TestAccessToken(t *testing.T) {
	for _, tc := range []struct {
		name      string
		h         http.Header
		token     string
		ambiguous bool
	}{
		{"none", http.Header{}, "", false},
		{"bearer", http.Header{"Authorization": {"Bearer sk-1 "}}, "sk-1", false},
		{"bearer in any case", http.Header{"Authorization": {"bEARER sk-1"}}, "sk-1", false},
		{"another scheme", http.Header{"Authorization": {"Basic abc"}}, "", false},
		{"bearer without a key", http.Header{"Authorization": {"Bearer "}}, "", false},
		{"x-api-key", http.Header{"X-Api-Key": {" sk-2"}}, "sk-2", false},
		{"x-api-key wins", http.Header{"X-Api-Key": {"sk-2"}, "Authorization": {"Bearer sk-1"}}, "sk-2", false},
		{"x-api-key twice", http.Header{"X-Api-Key": {"sk-2", "sk-3"}}, "sk-2", true},
		{"authorization twice", http.Header{"Authorization": {"Bearer sk-1", "Bearer sk-4"}}, "sk-1", true},
	} {
		token, ambiguous := AccessToken(tc.h)
		if token != tc.token || ambiguous != tc.ambiguous {
			t.Errorf("%s: %q %v, want %q %v", tc.name, token, ambiguous, tc.token, tc.ambiguous)
		}
	}
}
