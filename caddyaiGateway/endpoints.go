package caddyaigateway

import (
	"net/http"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// endpoint is one data-plane route the gateway serves.
type endpoint struct {
	name   string         // as recorded in usage events
	kind   usage.Endpoint // how usage is read from its answers
	format catalog.Format // the client's wire format
	method string
	// upstream is appended to the provider's base URL.
	upstream string
	// streams: the endpoint can answer with server-sent events.
	streams bool
}

var endpoints = map[string]*endpoint{
	"chat/completions":      {name: "chat.completions", kind: usage.ChatCompletions, format: catalog.OpenAI, method: http.MethodPost, upstream: "/chat/completions", streams: true},
	"responses":             {name: "responses", kind: usage.Responses, format: catalog.OpenAI, method: http.MethodPost, upstream: "/responses", streams: true},
	"embeddings":            {name: "embeddings", kind: usage.Embeddings, format: catalog.OpenAI, method: http.MethodPost, upstream: "/embeddings"},
	"messages":              {name: "messages", kind: usage.Messages, format: catalog.Anthropic, method: http.MethodPost, upstream: "/v1/messages", streams: true},
	"messages/count_tokens": {name: "messages.count_tokens", kind: usage.CountTokens, format: catalog.Anthropic, method: http.MethodPost, upstream: "/v1/messages/count_tokens"},
}

// client is the client's wire format.
func (ep *endpoint) client() provider.Format { return provider.For(ep.format) }

// route splits a request path into the part after the last "/v1/" (so the
// gateway also works under a path prefix such as `handle_path /llm/*`).
func route(path string) (string, bool) {
	i := strings.LastIndex(path, "/v1/")
	if i < 0 {
		return "", false
	}
	return strings.TrimSuffix(path[i+len("/v1/"):], "/"), true
}
