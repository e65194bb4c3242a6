package translate

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
)

// Error bodies. The status stays as the provider sent it (SDKs pick their
// exception class from it); the body is rewritten so the client's SDK finds
// a message and a type it knows. Bodies that are not the expected shape
// (a proxy's HTML page, Ollama's {"error":"..."}, FastAPI's
// {"detail":...}) still yield their text as the message.

// maxErrorMessage bounds a message lifted from an unparseable body.
const maxErrorMessage = 1024

// ErrorToChat translates an Anthropic error body into an OpenAI one:
// {"error":{"message","type","param":null,"code"}}. The code is the
// closest OpenAI code (rate_limit_exceeded, invalid_api_key,
// context_length_exceeded, ...) or the Anthropic type.
func ErrorToChat(status int, body []byte) []byte {
	out, _ := marshal(obj{{"error", anthropicError(status, body)}})
	return out
}

// anthropicError reads an Anthropic error body (or the data of an error
// event in a stream) as the inside of an OpenAI error body.
func anthropicError(status int, body []byte) obj {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	var detail struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	if s, ok := stringValue(e.Error); ok {
		detail.Message = s
	} else if json.Unmarshal(e.Error, &detail) != nil || detail.Message == "" {
		detail.Message = looseMessage(status, body)
	}
	if detail.Type == "" {
		detail.Type = anthropicErrorType(status)
	}
	return openAIError(detail.Type, detail.Message, status)
}

// openAIError renders an Anthropic error type and message as the inside
// of an OpenAI error body; status (0 inside a stream) breaks ties for
// types OpenAI does not know.
func openAIError(anthropicType, msg string, status int) obj {
	typ, code := "invalid_request_error", anthropicType
	switch anthropicType {
	case "authentication_error":
		code = "invalid_api_key"
	case "permission_error":
		typ = "permission_error"
	case "not_found_error":
		code = "not_found"
		if strings.HasPrefix(msg, "model:") {
			code = "model_not_found"
		}
	case "rate_limit_error":
		typ, code = "rate_limit_error", "rate_limit_exceeded"
	case "billing_error":
		typ, code = "insufficient_quota", "insufficient_quota"
	case "api_error", "overloaded_error", "timeout_error":
		typ = "server_error"
	case "invalid_request_error", "request_too_large":
		if strings.Contains(msg, "prompt is too long") {
			code = "context_length_exceeded"
		}
	default:
		if status >= 500 || status == 0 {
			typ = "server_error"
		}
	}
	return obj{
		{"message", msg},
		{"type", typ},
		{"param", nil},
		{"code", code},
	}
}

// ErrorToMessages translates an OpenAI (or OpenAI-compatible) error body
// into an Anthropic one: {"type":"error","error":{"type","message"}}. The
// type follows the status, refined by OpenAI's code where it says more
// (insufficient_quota is a billing_error even on a 429).
func ErrorToMessages(status int, body []byte) []byte {
	typ, msg := chatError(status, body)
	out, _ := marshal(obj{{"type", "error"}, {"error", obj{{"type", typ}, {"message", msg}}}})
	return out
}

// chatError reads an OpenAI-format error body (or data of an error event in
// a stream) as an Anthropic error type and a message.
func chatError(status int, body []byte) (typ, msg string) {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	_ = json.Unmarshal(body, &e)
	var detail struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"` // a string, or a number on some servers
	}
	if s, ok := stringValue(e.Error); ok {
		detail.Message = s
	} else if !isNull(e.Error) {
		_ = json.Unmarshal(e.Error, &detail)
	}
	if detail.Message == "" {
		detail.Message = e.Message
	}
	if detail.Message == "" {
		if s, ok := stringValue(e.Detail); ok {
			detail.Message = s
		} else if !isNull(e.Detail) {
			detail.Message = string(compact(e.Detail))
		}
	}
	if detail.Message == "" {
		detail.Message = looseMessage(status, body)
	}
	code, _ := stringValue(detail.Code)
	typ = anthropicErrorType(status)
	switch {
	case code == "insufficient_quota" || detail.Type == "insufficient_quota":
		typ = "billing_error"
	case code == "rate_limit_exceeded" || detail.Type == "rate_limit_error":
		typ = "rate_limit_error"
	case code == "invalid_api_key" || detail.Type == "authentication_error":
		typ = "authentication_error"
	case code == "model_not_found":
		typ = "not_found_error"
	case status == 0 && detail.Type == "server_error":
		typ = "api_error"
	case status == 0 && detail.Type == "invalid_request_error":
		typ = "invalid_request_error"
	}
	return typ, detail.Message
}

// anthropicErrorType is Anthropic's error type for a status; 0 (an error
// inside a stream) is an api_error.
func anthropicErrorType(status int) string { return apierr.AnthropicType(status) }

// looseMessage makes a message of a body that is not a known error shape:
// its text, trimmed and bounded, or the status text.
func looseMessage(status int, body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" || strings.HasPrefix(s, "{") || strings.HasPrefix(s, "<") {
		if t := http.StatusText(status); t != "" {
			return t
		}
		if status == 529 {
			return "Overloaded"
		}
		if status == 0 {
			return "upstream error"
		}
		return "upstream error " + strconv.Itoa(status)
	}
	if len(s) > maxErrorMessage {
		s = s[:maxErrorMessage]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}
