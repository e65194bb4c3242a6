package provider

import (
	"encoding/json"
	"net/http"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Responses is the OpenAI Responses API: the format of /v1/responses
// requests, and the one an OpenAI-format provider that serves the API is
// called in, for Responses requests (passed through untouched) and for
// its Responses-only models (which requests of the other formats reach by
// translation). The other formats translate Responses requests to their
// own (see package translate); what needs state kept by OpenAI
// (previous_response_id, store: true, background, conversations, prompt
// templates, item references) fails there with a *translate.StateError.
var Responses = register(responses{})

type responses struct{}

func (responses) Name() catalog.Format   { return catalog.Responses }
func (responses) Wire() translate.Format { return translate.Responses }
func (responses) BasePath() string       { return "/v1" }

func (responses) Chat(string, bool) (string, string, usage.Endpoint) {
	return "/responses", "", usage.Responses
}

// Authenticate is OpenAI's: a bearer token.
func (responses) Authenticate(h http.Header, key string, translated bool) {
	OpenAI.Authenticate(h, key, translated)
}

// TranslateRequest translates a chat request, an Anthropic messages
// request or a Gemini generateContent request (both through chat) for a
// Responses-only model; of o it uses Model and Stream.
func (f responses) TranslateRequest(from Format, body []byte, o translate.Options) ([]byte, []string, error) {
	switch from {
	case OpenAI:
		return translate.ChatToResponses(body, o)
	case Anthropic:
		return translate.MessagesToResponses(body, o)
	case Gemini:
		chat, removed, err := translate.GeminiToChat(body, translate.Options{Model: o.Model, Stream: o.Stream})
		if err != nil {
			return nil, nil, err
		}
		out, more, err := translate.ChatToResponses(chat, o)
		return out, merge(removed, more), err
	}
	return nil, nil, unsupported(from, f)
}

func (f responses) TranslateResponse(to Format, body []byte, model string) ([]byte, error) {
	switch to {
	case f:
		return body, nil
	case OpenAI:
		return translate.ResponsesResponseToChat(body, model)
	case Anthropic:
		return translate.ResponsesResponseToMessages(body, model)
	case Gemini:
		chat, err := translate.ResponsesResponseToChat(body, model)
		if err != nil {
			return nil, err
		}
		return translate.ChatResponseToGemini(chat, model)
	}
	return nil, unsupported(f, to)
}

func (f responses) TranslateStream(to Format, model string, includeUsage bool) translate.Stream {
	return translate.NewStream(f.Wire(), to.Wire(), model, includeUsage)
}

func (responses) IsStreamError(name string, data []byte) bool {
	return translate.IsResponsesErrorEvent(name, data)
}

// ErrorBody is OpenAI's error shape, which the Responses API shares.
func (responses) ErrorBody(status int, body []byte) []byte {
	return translate.ErrorToChat(status, body)
}

// StreamError is an "error" event: type, code and message as the API's
// error events have them, and an error member, which makes the SDKs' stream
// readers raise it.
func (responses) StreamError(msg string) (string, []byte) {
	b, _ := json.Marshal(map[string]any{
		"type": "error", "code": "stream_interrupted", "message": msg, "param": nil,
		"error": map[string]any{"type": "server_error", "code": "stream_interrupted", "message": msg},
	})
	return "error", b
}

// Continue adds the delivered text as an assistant message and asks the
// model to go on (the Responses API has no prefill).
func (responses) Continue(body []byte, delivered string) ([]byte, error) {
	return translate.ContinueResponses(body, delivered)
}
