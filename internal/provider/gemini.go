package provider

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Gemini is Google's generateContent format (the Gemini API, as the
// google-genai SDKs speak it). A provider's base URL is the SDKs' own:
// the host, without the API version (https://generativelanguage.googleapis.com);
// the model is part of the path.
var Gemini = register(gemini{})

type gemini struct{}

func (gemini) Name() catalog.Format   { return catalog.Gemini }
func (gemini) Wire() translate.Format { return translate.Gemini }

// BasePath is empty: Gemini's endpoint paths carry their /v1beta.
func (gemini) BasePath() string { return "" }

// Chat is models/{model}:generateContent, or :streamGenerateContent with
// alt=sse (without it Gemini streams a JSON array).
func (gemini) Chat(model string, stream bool) (string, string, usage.Endpoint) {
	if stream {
		return GeminiPath(model, "streamGenerateContent"), "alt=sse", usage.GenerateContent
	}
	return GeminiPath(model, "generateContent"), "", usage.GenerateContent
}

// GeminiPath is the path of a model's method on a Gemini server.
func GeminiPath(model, method string) string {
	return "/v1beta/models/" + url.PathEscape(model) + ":" + method
}

// Authenticate sends key in x-goog-api-key; the other formats' version
// headers are dropped from translated requests.
func (gemini) Authenticate(h http.Header, key string, translated bool) {
	if key != "" {
		h["X-Goog-Api-Key"] = plainValues.get(key)
	}
	if translated {
		h.Del("Anthropic-Version")
		h.Del("Anthropic-Beta")
	}
}

// TranslateRequest translates a chat request, or an Anthropic messages or
// Responses request through chat; of o it uses Stream.
func (f gemini) TranslateRequest(from Format, body []byte, o translate.Options) ([]byte, []string, error) {
	switch from {
	case OpenAI:
		return translate.ChatToGemini(body, o)
	case Anthropic:
		chat, removed, err := translate.MessagesToChat(body, translate.Options{Model: o.Model})
		if err != nil {
			return nil, nil, err
		}
		out, more, err := translate.ChatToGemini(chat, o)
		return out, merge(removed, more), err
	case Responses:
		chat, removed, err := translate.ResponsesToChat(body, translate.Options{Model: o.Model})
		if err != nil {
			return nil, nil, err
		}
		out, more, err := translate.ChatToGemini(chat, o)
		return out, merge(removed, more), err
	}
	return nil, nil, unsupported(from, f)
}

func (f gemini) TranslateResponse(to Format, body []byte, model string) ([]byte, error) {
	switch to {
	case f:
		return body, nil
	case OpenAI:
		return translate.GeminiResponseToChat(body, model)
	case Anthropic:
		chat, err := translate.GeminiResponseToChat(body, model)
		if err != nil {
			return nil, err
		}
		return translate.ChatResponseToMessages(chat, model)
	case Responses:
		chat, err := translate.GeminiResponseToChat(body, model)
		if err != nil {
			return nil, err
		}
		return translate.ChatResponseToResponses(chat, model, nil)
	}
	return nil, unsupported(f, to)
}

func (f gemini) TranslateStream(to Format, model string, includeUsage bool) translate.Stream {
	return translate.NewStream(f.Wire(), to.Wire(), model, includeUsage)
}

func (f gemini) IsStreamError(name string, data []byte) bool {
	return translate.IsErrorEvent(f.Wire(), name, data)
}

func (gemini) ErrorBody(status int, body []byte) []byte { return translate.ErrorToGemini(status, body) }

// StreamError is a chunk with an error member, as Gemini ends a stream
// that failed; Google's SDKs raise it.
func (gemini) StreamError(msg string) (string, []byte) {
	return "", translate.ErrorToGemini(http.StatusInternalServerError, mustJSONError(msg))
}

// Continue adds the delivered text as a model turn and asks the model to
// go on (Gemini has no prefill).
func (gemini) Continue(body []byte, delivered string) ([]byte, error) {
	return translate.ContinueGemini(body, delivered)
}

// mustJSONError is an OpenAI-shaped error body saying msg, for
// translate.ErrorToGemini.
func mustJSONError(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"message": msg}})
	return b
}

// merge joins two sorted lists of removed members, sorted and unique.
func merge(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
