package provider

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// OpenAI is the OpenAI format: chat completions, responses and embeddings,
// spoken by OpenAI and by every OpenAI-compatible server.
var OpenAI = register(openAI{})

type openAI struct{}

func (openAI) Name() catalog.Format   { return catalog.OpenAI }
func (openAI) Wire() translate.Format { return translate.OpenAI }
func (openAI) BasePath() string       { return "/v1" }

func (openAI) Chat(string, bool) (string, string, usage.Endpoint) {
	return "/chat/completions", "", usage.ChatCompletions
}

// Authenticate sends key as a bearer token. An Anthropic client's version
// and beta headers mean nothing to an OpenAI server and are dropped.
func (openAI) Authenticate(h http.Header, key string, translated bool) {
	if key != "" {
		h["Authorization"] = bearerValues.get(key)
	}
	if translated {
		h.Del("Anthropic-Version")
		h.Del("Anthropic-Beta")
	}
}

// TranslateRequest translates an Anthropic messages, a Gemini
// generateContent or a Responses request (for a provider without the
// Responses API); of o it uses Model, Stream, IncludeUsage and
// LegacyMaxTokens.
func (f openAI) TranslateRequest(from Format, body []byte, o translate.Options) ([]byte, []string, error) {
	switch from {
	case Anthropic:
		return translate.MessagesToChat(body, o)
	case Gemini:
		return translate.GeminiToChat(body, o)
	case Responses:
		return translate.ResponsesToChat(body, o)
	}
	return nil, nil, unsupported(from, f)
}

func (f openAI) TranslateResponse(to Format, body []byte, model string) ([]byte, error) {
	switch to {
	case f:
		return body, nil
	case Anthropic:
		return translate.ChatResponseToMessages(body, model)
	case Gemini:
		return translate.ChatResponseToGemini(body, model)
	case Responses:
		return translate.ChatResponseToResponses(body, model, nil)
	}
	return nil, unsupported(f, to)
}

func (f openAI) TranslateStream(to Format, model string, includeUsage bool) translate.Stream {
	return translate.NewStream(f.Wire(), to.Wire(), model, includeUsage)
}

func (f openAI) IsStreamError(name string, data []byte) bool {
	return translate.IsErrorEvent(f.Wire(), name, data)
}

func (openAI) ErrorBody(status int, body []byte) []byte { return translate.ErrorToChat(status, body) }

// StreamError is a data-only chunk with an error member, as OpenAI ends a
// stream that failed; the SDKs raise it.
func (openAI) StreamError(msg string) (string, []byte) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "code": "stream_interrupted"}})
	return "", b
}

// Continue adds the delivered text as an assistant message and asks the
// model to go on (OpenAI chat has no prefill).
func (openAI) Continue(body []byte, delivered string) ([]byte, error) {
	return translate.ContinueChat(body, delivered)
}

// unsupported is the error of a translation no format provides.
func unsupported(from, to Format) error {
	return fmt.Errorf("no translation from %s to %s", from.Name(), to.Name())
}
