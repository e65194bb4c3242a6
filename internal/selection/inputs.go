package selection

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// credentialHeaders are request headers a strategy never sees: the
// client's credentials for the gateway or for a provider. Strategies come
// from access key configurations too, and an expression that echoes a
// header into an error message must not be able to leak one.
var credentialHeaders = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"x-api-key":           true, // Anthropic SDKs, and ai_auth
	"x-goog-api-key":      true, // Gemini SDKs
	"api-key":             true, // Azure OpenAI SDKs
}

// HeaderMap is req.headers for a client's request headers: names in lower
// case, repeated values joined with ", " (as one header line would carry
// them), and no credential headers (Authorization, Proxy-Authorization,
// Cookie, X-Api-Key, X-Goog-Api-Key, Api-Key).
func HeaderMap(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, vals := range h {
		if len(vals) == 0 {
			continue
		}
		name = strings.ToLower(name)
		if credentialHeaders[name] {
			continue
		}
		v := strings.Join(vals, ", ")
		if prev, ok := out[name]; ok { // the same name in two spellings
			v = prev + ", " + v
		}
		out[name] = v
	}
	return out
}

// MetadataMap is key.metadata for an access key's metadata string. The
// management API stores metadata as free text; when it is a JSON object,
// its members become the map: string values as they are, other values as
// their compact JSON text (`{"tier":1}` reads "1"), null members left out.
// Anything else, such as plain text, gives an empty map.
func MetadataMap(raw string) map[string]string {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw[0] != '{' {
		return nil
	}
	var members map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &members) != nil {
		return nil
	}
	out := make(map[string]string, len(members))
	for k, v := range members {
		var s string
		switch {
		case string(v) == "null":
			continue
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		default:
			var b bytes.Buffer
			if json.Compact(&b, v) == nil {
				out[k] = b.String()
			}
		}
	}
	return out
}
