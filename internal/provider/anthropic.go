package provider

import (
	"encoding/json"
	"net/http"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Anthropic is the Anthropic messages format.
var Anthropic = register(anthropic{})

// anthropicVersion is the API version the gateway asks for when the client
// did not name one (or spoke another format).
const anthropicVersion = "2023-06-01"

type anthropic struct{}

func (anthropic) Name() catalog.Format   { return catalog.Anthropic }
func (anthropic) Wire() translate.Format { return translate.Anthropic }

// BasePath is empty: Anthropic's endpoint paths carry their /v1.
func (anthropic) BasePath() string { return "" }

func (anthropic) Chat(string, bool) (string, string, usage.Endpoint) {
	return "/v1/messages", "", usage.Messages
}

// Authenticate sends key in X-Api-Key. Anthropic requires a version: the
// client's own passes through when it speaks Anthropic, else the one the
// translations are written for.
func (anthropic) Authenticate(h http.Header, key string, translated bool) {
	if key != "" {
		h["X-Api-Key"] = plainValues.get(key)
	}
	if translated || h.Get("Anthropic-Version") == "" {
		h.Set("Anthropic-Version", anthropicVersion)
	}
}

// TranslateRequest translates an OpenAI chat request, or a Gemini
// generateContent or Responses request through chat; of o it uses Model,
// Stream, DefaultMaxTokens and DropSampling.
func (f anthropic) TranslateRequest(from Format, body []byte, o translate.Options) ([]byte, []string, error) {
	switch from {
	case OpenAI:
		return translate.ChatToMessages(body, o)
	case Gemini:
		chat, removed, err := translate.GeminiToChat(body, translate.Options{Model: o.Model, Stream: o.Stream})
		if err != nil {
			return nil, nil, err
		}
		out, more, err := translate.ChatToMessages(chat, o)
		return out, merge(removed, more), err
	case Responses:
		return translate.ResponsesToMessages(body, o)
	}
	return nil, nil, unsupported(from, f)
}

func (f anthropic) TranslateResponse(to Format, body []byte, model string) ([]byte, error) {
	switch to {
	case f:
		return body, nil
	case OpenAI:
		return translate.MessagesResponseToChat(body, model)
	case Gemini:
		chat, err := translate.MessagesResponseToChat(body, model)
		if err != nil {
			return nil, err
		}
		return translate.ChatResponseToGemini(chat, model)
	case Responses:
		return translate.MessagesResponseToResponses(body, model, nil)
	}
	return nil, unsupported(f, to)
}

func (f anthropic) TranslateStream(to Format, model string, includeUsage bool) translate.Stream {
	return translate.NewStream(f.Wire(), to.Wire(), model, includeUsage)
}

func (f anthropic) IsStreamError(name string, data []byte) bool {
	return translate.IsErrorEvent(f.Wire(), name, data)
}

func (anthropic) ErrorBody(status int, body []byte) []byte {
	return translate.ErrorToMessages(status, body)
}

// StreamError is an "error" event, as Anthropic ends a stream that failed
// (overloaded_error and the like); the SDKs raise it.
func (anthropic) StreamError(msg string) (string, []byte) {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": "api_error", "message": msg}})
	return "error", b
}

// Continue prefills the delivered text as the assistant's answer.
func (anthropic) Continue(body []byte, delivered string) ([]byte, error) {
	return translate.ContinueMessages(body, delivered)
}
