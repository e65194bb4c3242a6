// Package clientreq is the client's request as the gateway reads it: the
// endpoints it serves (Lookup, Route, EndpointName), the access key it
// carries (AccessToken) and the body (Parse), checked so that
// the gateway and a provider cannot read it differently, with the members
// the gateway owns (model, fallbacks, stream, output limit, n) collected
// and the bodies every attempt starts from prepared.
package clientreq

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Endpoint is one data-plane route the gateway serves.
type Endpoint struct {
	Name   string         // as recorded in usage events
	Kind   usage.Endpoint // how usage is read from its answers
	Format catalog.Format // the client's wire format
	Method string
	// Upstream is appended to the provider's base URL; for Gemini it is
	// the method, in the path after the model (see UpstreamPath).
	Upstream string
	// Streams: the endpoint can answer with server-sent events.
	Streams bool
	// AlwaysStreams: the path asks for a stream (Gemini's
	// streamGenerateContent), not the body.
	AlwaysStreams bool
}

var endpoints = map[string]*Endpoint{
	"chat/completions":      {Name: "chat.completions", Kind: usage.ChatCompletions, Format: catalog.OpenAI, Method: http.MethodPost, Upstream: "/chat/completions", Streams: true},
	"responses":             {Name: "responses", Kind: usage.Responses, Format: catalog.Responses, Method: http.MethodPost, Upstream: "/responses", Streams: true},
	"embeddings":            {Name: "embeddings", Kind: usage.Embeddings, Format: catalog.OpenAI, Method: http.MethodPost, Upstream: "/embeddings"},
	"messages":              {Name: "messages", Kind: usage.Messages, Format: catalog.Anthropic, Method: http.MethodPost, Upstream: "/v1/messages", Streams: true},
	"messages/count_tokens": {Name: "messages.count_tokens", Kind: usage.CountTokens, Format: catalog.Anthropic, Method: http.MethodPost, Upstream: "/v1/messages/count_tokens"},
}

// Lookup returns the endpoint of a route (the path after /v1/, as Route
// returns it), or nil.
func Lookup(route string) *Endpoint { return endpoints[route] }

// Routes lists the routes of the endpoints, sorted.
func Routes() []string { return slices.Sorted(maps.Keys(endpoints)) }

// UpstreamPath is the endpoint's path on a provider of the client's
// format, for model.
func (ep *Endpoint) UpstreamPath(model string) string {
	if ep.Format == catalog.Gemini {
		return "/v1beta/models/" + url.PathEscape(model) + ":" + ep.Upstream
	}
	return ep.Upstream
}

// Client is the client's wire format.
func (ep *Endpoint) Client() provider.Format { return provider.For(ep.Format) }

// OutputFields are the members that set the output limit of the endpoint,
// in the order the gateway (and the providers) prefer them.
func (ep *Endpoint) OutputFields() []string {
	switch ep.Kind {
	case usage.ChatCompletions:
		return []string{"max_completion_tokens", "max_tokens"}
	case usage.Responses:
		return []string{"max_output_tokens"}
	case usage.Messages:
		return []string{"max_tokens"}
	case usage.GenerateContent:
		return []string{"maxOutputTokens"} // in generationConfig
	}
	return nil
}

// Route splits a request path into the part after the last "/v1/" (so the
// gateway also works under a path prefix such as `handle_path /llm/*`).
func Route(path string) (string, bool) {
	i := strings.LastIndex(path, "/v1/")
	if i < 0 {
		return "", false
	}
	return strings.TrimSuffix(path[i+len("/v1/"):], "/"), true
}

// EndpointName names a request path's endpoint as usage events do
// ("chat.completions", "messages", …), "models" for the model list, and
// "other" for any other path, so a client cannot mint metric labels.
func EndpointName(path string) string {
	if ep, _, ok := Gemini(path); ok {
		if ep != nil {
			return ep.Name
		}
		return "other"
	}
	if _, ok := GeminiModels(path); ok {
		return "models"
	}
	rest, ok := Route(path)
	if !ok {
		return "other"
	}
	if ep := Lookup(rest); ep != nil {
		return ep.Name
	}
	if IsModels(rest) {
		return "models"
	}
	return "other"
}

// ErrorFormat is the error shape of a request path: Gemini's under
// /v1beta/ and for Gemini methods, Anthropic under /v1/messages, OpenAI
// everywhere else.
func ErrorFormat(path string) apierr.Format {
	if IsGeminiPath(path) {
		return apierr.Gemini
	}
	if strings.Contains(path, "/messages") {
		return apierr.Anthropic
	}
	return apierr.OpenAI
}

// IsModels reports whether a route is the model list (models, models/{id}).
func IsModels(route string) bool { return route == "models" || strings.HasPrefix(route, "models/") }
