package clientreq

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Gemini's routes name the model in the path:
// /v1beta/models/{model}:{method}. The gateway also answers them under
// /v1/ (Gemini's stable version) and under a path prefix, as for the
// other routes.

// geminiEndpoints are the Gemini methods served, by name.
var geminiEndpoints = map[string]*Endpoint{
	"generateContent": {Name: "gemini.generate_content", Kind: usage.GenerateContent, Format: catalog.Gemini, Method: http.MethodPost,
		Upstream: "generateContent"},
	// Always a stream of server-sent events (alt=sse), which Google's
	// SDKs ask for; the JSON-array form without alt=sse is not served.
	"streamGenerateContent": {Name: "gemini.generate_content", Kind: usage.GenerateContent, Format: catalog.Gemini, Method: http.MethodPost,
		Upstream: "streamGenerateContent", Streams: true, AlwaysStreams: true},
	"countTokens": {Name: "gemini.count_tokens", Kind: usage.CountTokens, Format: catalog.Gemini, Method: http.MethodPost,
		Upstream: "countTokens"},
}

// geminiRoute splits a request path into what follows the last /v1beta/
// (or /v1/) and reports whether there was one.
func geminiRoute(path string) (string, bool) {
	if i := strings.LastIndex(path, "/v1beta/"); i >= 0 {
		return path[i+len("/v1beta/"):], true
	}
	return Route(path)
}

// Gemini reads a Gemini method's path, models/{model}:{method}: ok
// reports a path of that shape (so of Gemini's error shape), ep is nil for
// a method the gateway does not serve. The model is unescaped, without
// the "models/" prefix Google's SDKs add.
func Gemini(path string) (ep *Endpoint, model string, ok bool) {
	beta := strings.Contains(path, "/v1beta/")
	rest, found := geminiRoute(path)
	if !found || !strings.HasPrefix(rest, "models/") {
		return nil, "", false
	}
	rest = strings.TrimPrefix(rest, "models/")
	i := strings.LastIndexByte(rest, ':')
	if i < 0 || strings.Contains(rest[i:], "/") {
		return nil, "", false
	}
	model, method := rest[:i], rest[i+1:]
	if m, err := url.PathUnescape(model); err == nil {
		model = m
	}
	ep = geminiEndpoints[method]
	if ep == nil && !beta {
		return nil, "", false // /v1/models/openai:gpt-4o is OpenAI's model lookup
	}
	return ep, model, true
}

// GeminiModels reports whether path is Gemini's model list
// (/v1beta/models) or one model of it (/v1beta/models/{model}, where the
// model may be the gateway's provider:model), and which. Only /v1beta/
// paths: GET /v1/models is OpenAI's.
func GeminiModels(path string) (id string, ok bool) {
	i := strings.LastIndex(path, "/v1beta/")
	if i < 0 {
		return "", false
	}
	rest := strings.TrimSuffix(path[i+len("/v1beta/"):], "/")
	if rest == "models" {
		return "", true
	}
	id, ok = strings.CutPrefix(rest, "models/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	if i := strings.LastIndexByte(id, ':'); i >= 0 && geminiEndpoints[id[i+1:]] != nil {
		return "", false // a method (to answer 405 on GET)
	}
	if m, err := url.PathUnescape(id); err == nil {
		id = m
	}
	return id, true
}

// IsGeminiPath reports a path answered in Gemini's shape: under /v1beta/,
// or a Gemini method under /v1/.
func IsGeminiPath(path string) bool {
	if strings.Contains(path, "/v1beta/") {
		return true
	}
	_, _, ok := Gemini(path)
	return ok
}

// KeyParam takes the access key from a Gemini request's `key` query
// parameter: the key (the first, if several), how many there were, and
// the query without them (to forward and to log).
func KeyParam(rawQuery string) (key string, n int, rest string) {
	if rawQuery == "" {
		return "", 0, ""
	}
	var kept []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, value, _ := strings.Cut(part, "=")
		if n2, err := url.QueryUnescape(name); err == nil && n2 == "key" {
			if n == 0 {
				key, _ = url.QueryUnescape(value)
			}
			n++
			continue
		}
		kept = append(kept, part)
	}
	return strings.TrimSpace(key), n, strings.Join(kept, "&")
}
