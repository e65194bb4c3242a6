// Package upstream is what the gateway sends to a provider and what it
// takes back: the upstream request built for one target (Prepare: the
// provider's model, the canonical output limit, translated or continuing a
// stalled stream), the request headers forwarded and the response headers
// passed back, every trace of a provider key scrubbed from answers and
// errors, and what a provider's refusal says (ErrorMessage, RetryAfter).
package upstream

import (
	"net/http"
	"strings"
)

// Request headers never forwarded upstream: credentials (the gateway
// injects the provider's), hop-by-hop headers, headers the transport sets,
// and client identity the provider has no business seeing.
var dropRequestHeaders = map[string]bool{
	"Authorization":       true,
	"X-Api-Key":           true,
	"X-Goog-Api-Key":      true,
	"Host":                true,
	"Content-Length":      true,
	"Accept-Encoding":     true, // the transport negotiates gzip and decodes it, so usage can be read
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	"Cookie":              true,
	"Forwarded":           true,
	"Via":                 true,
	"X-Forwarded-For":     true,
	"X-Forwarded-Host":    true,
	"X-Forwarded-Proto":   true,
	"X-Real-Ip":           true,
	"Openai-Organization": true, // the client's org/project do not belong to the operator's key
	"Openai-Project":      true,
}

// Response headers never passed back: hop-by-hop, cookies, and what
// describes the operator's provider account (organisation, quota).
var dropResponseHeaders = map[string]bool{
	"Connection":                true,
	"Keep-Alive":                true,
	"Proxy-Connection":          true,
	"Te":                        true,
	"Trailer":                   true,
	"Transfer-Encoding":         true,
	"Upgrade":                   true,
	"Content-Length":            true, // set again by whoever writes the body
	"Set-Cookie":                true,
	"Openai-Organization":       true,
	"Openai-Project":            true,
	"Anthropic-Organization-Id": true,
	"Alt-Svc":                   true,
}

// credentialHeaders carry a client's access key.
var credentialHeaders = [...]string{"Authorization", "X-Api-Key", "X-Goog-Api-Key"}

// StripCredentials removes the client's credential, valid or not, so it
// never travels further than ai_auth.
func StripCredentials(h http.Header) {
	for _, k := range credentialHeaders {
		h.Del(k)
	}
}

// Headers are the client's request headers to forward upstream: without
// those dropRequestHeaders names and the gateway's own (Ai-Gateway-*).
func Headers(in http.Header) http.Header {
	out := make(http.Header, len(in)+2)
	for k, v := range in {
		if dropRequestHeaders[k] || strings.HasPrefix(k, "Ai-Gateway-") {
			continue
		}
		out[k] = v
	}
	return out
}

// CopyResponseHeaders passes a provider's response headers on, without
// those dropResponseHeaders names and without any header whose value
// carries (part of) the provider key the attempt used.
func CopyResponseHeaders(dst, src http.Header, key string) {
	for k, v := range src {
		if dropResponseHeaders[k] || strings.HasPrefix(k, "X-Ratelimit-") || strings.HasPrefix(k, "Anthropic-Ratelimit-") ||
			carriesSecret(v, key) {
			continue
		}
		dst[k] = v
	}
}

// carriesSecret reports whether any value holds key, or the first or last
// eight characters of a long key (how providers echo keys partially).
func carriesSecret(values []string, key string) bool {
	if key == "" {
		return false
	}
	for _, v := range values {
		if strings.Contains(v, key) || (len(key) >= 16 && (strings.Contains(v, key[:8]) || strings.Contains(v, key[len(key)-8:]))) {
			return true
		}
	}
	return false
}
