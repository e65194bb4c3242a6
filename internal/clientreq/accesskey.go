package clientreq

import (
	"net/http"
	"strings"
)

// AccessToken takes the gateway access key from x-api-key (Anthropic
// SDKs), x-goog-api-key (Google's SDKs) or a Bearer Authorization header
// (OpenAI SDKs, newer Anthropic SDKs), in that order of precedence (a
// Gemini route's `key` query parameter is read apart, by KeyParam).
// ambiguous reports any of them given more than once: a proxy or
// provider might read the other one.
func AccessToken(h http.Header) (token string, ambiguous bool) {
	ambiguous = len(h.Values("X-Api-Key")) > 1 || len(h.Values("Authorization")) > 1 || len(h.Values("X-Goog-Api-Key")) > 1
	if v := strings.TrimSpace(h.Get("X-Api-Key")); v != "" {
		return v, ambiguous
	}
	if v := strings.TrimSpace(h.Get("X-Goog-Api-Key")); v != "" {
		return v, ambiguous
	}
	const prefix = "bearer "
	if v := h.Get("Authorization"); len(v) > len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) {
		return strings.TrimSpace(v[len(prefix):]), ambiguous
	}
	return "", ambiguous
}
