// Package apierr writes the gateway's error bodies in the shape the
// caller's SDK expects: OpenAI's {"error":{"message","type","code"}} on
// OpenAI routes, Anthropic's {"type":"error","error":{"type","message"}}
// on Anthropic routes and Google's {"error":{"code","message","status"}}
// on Gemini routes. Codes are stable and documented in README.md.
package apierr

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Format is the wire format of a route.
type Format uint8

const (
	OpenAI Format = iota
	Anthropic
	Gemini
)

// Stable error codes.
const (
	InvalidAccessKey     = "invalid_access_key"
	InsufficientCredits  = "insufficient_credits"
	ModelNotAllowed      = "model_not_allowed"
	ProviderNotAllowed   = "provider_not_allowed"
	InvalidRequest       = "invalid_request"
	NotFound             = "not_found"
	MethodNotAllowed     = "method_not_allowed"
	InputTooLarge        = "input_too_large"
	NoMatchingModels     = "no_matching_models"
	ModelNotPriced       = "model_not_priced"
	RateLimited          = "rate_limited"
	AllProvidersFailed   = "all_providers_failed"
	ProviderAuthFailed   = "provider_auth_failed"
	TotalTimeout         = "total_timeout"
	SelectionFailed      = "selection_failed"
	InternalError        = "internal_error"
	ServiceNotConfigured = "gateway_misconfigured"
	StorageUnavailable   = "storage_unavailable"
	FirewallBlocked      = "firewall_blocked"
)

// Error is a gateway error on its way to the client.
type Error struct {
	Status  int
	Code    string
	Message string
	// Attempts lists each upstream attempt for all_providers_failed.
	Attempts []Attempt
}

// Attempt summarises one failed upstream attempt for the client.
type Attempt struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Status   int    `json:"status,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New makes an Error.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// AllFailed is the 502 all_providers_failed answer when no attempt could
// serve the request: its message names each attempt and how it failed.
func AllFailed(attempts []Attempt) *Error {
	msg := "no provider could serve the request"
	if len(attempts) > 0 {
		parts := make([]string, len(attempts))
		for i, a := range attempts {
			parts[i] = a.Provider + ":" + a.Model + " (" + a.describe() + ")"
		}
		msg += ": " + strings.Join(parts, "; ")
	}
	e := New(http.StatusBadGateway, AllProvidersFailed, msg)
	e.Attempts = attempts
	return e
}

func (a Attempt) describe() string {
	switch {
	case a.Status != 0 && a.Error != "":
		return strconv.Itoa(a.Status) + ": " + a.Error
	case a.Status != 0:
		return strconv.Itoa(a.Status)
	default:
		return a.Error
	}
}

// openAIType maps a status to the error "type" OpenAI SDKs know.
func openAIType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusMethodNotAllowed:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "insufficient_quota"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	default:
		return "api_error"
	}
}

// AnthropicType maps an HTTP status to Anthropic's error type.
func AnthropicType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusMethodNotAllowed:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case http.StatusServiceUnavailable, 529:
		return "overloaded_error"
	}
	if status >= 400 && status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

type openAIBody struct {
	Error struct {
		Message  string    `json:"message"`
		Type     string    `json:"type"`
		Param    *string   `json:"param"`
		Code     string    `json:"code"`
		Attempts []Attempt `json:"attempts,omitempty"`
	} `json:"error"`
}

type anthropicBody struct {
	Type  string `json:"type"`
	Error struct {
		Type     string    `json:"type"`
		Message  string    `json:"message"`
		Code     string    `json:"code"`
		Attempts []Attempt `json:"attempts,omitempty"`
	} `json:"error"`
}

// GeminiStatus maps an HTTP status to the google.rpc status name Google's
// APIs put beside it. 402 (the gateway's insufficient_credits) is a
// billing problem, which Google reports as FAILED_PRECONDITION.
func GeminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusMethodNotAllowed:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusPaymentRequired:
		return "FAILED_PRECONDITION"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 400 && status < 500 {
		return "FAILED_PRECONDITION"
	}
	return "INTERNAL"
}

// geminiBody is Google's error shape. The gateway's stable code goes in a
// google.rpc.ErrorInfo detail (reason), where Google's SDKs keep it.
type geminiBody struct {
	Error struct {
		Code     int            `json:"code"`
		Message  string         `json:"message"`
		Status   string         `json:"status"`
		Details  []geminiDetail `json:"details,omitempty"`
		Attempts []Attempt      `json:"attempts,omitempty"`
	} `json:"error"`
}

type geminiDetail struct {
	Type   string `json:"@type"`
	Reason string `json:"reason"`
	Domain string `json:"domain"`
}

// Body renders e in format f.
func (e *Error) Body(f Format) []byte {
	var v any
	if f == Gemini {
		var b geminiBody
		b.Error.Code = e.Status
		b.Error.Message = e.Message
		b.Error.Status = GeminiStatus(e.Status)
		b.Error.Details = []geminiDetail{{Type: "type.googleapis.com/google.rpc.ErrorInfo", Reason: e.Code, Domain: "ai-gateway"}}
		b.Error.Attempts = e.Attempts
		v = b
	} else if f == Anthropic {
		var b anthropicBody
		b.Type = "error"
		b.Error.Type = AnthropicType(e.Status)
		b.Error.Message = e.Message
		b.Error.Code = e.Code
		b.Error.Attempts = e.Attempts
		v = b
	} else {
		var b openAIBody
		b.Error.Message = e.Message
		b.Error.Type = openAIType(e.Status)
		b.Error.Code = e.Code
		b.Error.Attempts = e.Attempts
		v = b
	}
	out, _ := json.Marshal(v)
	return out
}

// Write sends e to the client in format f.
func Write(w http.ResponseWriter, f Format, e *Error) {
	body := e.Body(f)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
