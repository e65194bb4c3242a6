package upstream

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads a Retry-After header given in seconds.
func RetryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// IsEventStream reports whether a response is a server-sent event stream.
func IsEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// ErrorMessage pulls the message out of an OpenAI- or
// Anthropic-shaped error body, for logs and attempt lists.
func ErrorMessage(body []byte) string {
	var v struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && v.Error.Message != "" {
		return Truncate(v.Error.Message, 300)
	}
	return Truncate(strings.TrimSpace(string(body)), 300)
}

// Truncate shortens s to n bytes and an ellipsis.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// KeyRejected reports an error answer that refuses the provider key
// whatever its status: Google answers a key it does not know with 400 and
// the reason API_KEY_INVALID, which is a bad key (try the next one), not a
// bad request.
func KeyRejected(status int, body []byte) bool {
	return status == http.StatusBadRequest && bytes.Contains(body, []byte(`"API_KEY_INVALID"`))
}
