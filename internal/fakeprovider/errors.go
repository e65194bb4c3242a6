package fakeprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// apiError is an error answer, rendered in the request's wire format.
type apiError struct {
	Status  int
	Type    string // "" picks the format's usual type for Status
	Message string
	Param   string // OpenAI only; "" renders as null
	Code    string // OpenAI only; "" renders as null
}

type openaiErrorBody struct {
	Error openaiErrorDetail `json:"error"`
}

type openaiErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type anthropicErrorBody struct {
	Type      string               `json:"type"` // always "error"
	Error     anthropicErrorDetail `json:"error"`
	RequestID string               `json:"request_id"`
}

type anthropicErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// fail writes e in the request's format.
func (c *call) fail(e apiError) {
	if c.format == formatGemini {
		c.geminiError(e.Status, e.Message, "")
		return
	}
	if c.format == formatAnthropic {
		typ := e.Type
		if typ == "" {
			typ = anthropicErrorType(e.Status)
		}
		writeJSON(c.w, e.Status, anthropicErrorBody{
			Type:      "error",
			Error:     anthropicErrorDetail{Type: typ, Message: e.Message},
			RequestID: c.reqID,
		})
		return
	}
	typ := e.Type
	if typ == "" {
		typ = openaiErrorType(e.Status)
	}
	writeJSON(c.w, e.Status, openaiErrorBody{Error: openaiErrorDetail{
		Message: e.Message,
		Type:    typ,
		Param:   nullable(e.Param),
		Code:    nullable(e.Code),
	}})
}

// writeError is fail for the common case of a status, an optional type and a
// message.
func (c *call) writeError(status int, typ, msg string) {
	c.fail(apiError{Status: status, Type: typ, Message: msg})
}

func (c *call) badRequest(msg string) {
	c.writeError(http.StatusBadRequest, "invalid_request_error", msg)
}

// badJSON reports a body that does not decode, with the wording of the real
// APIs.
func (c *call) badJSON(err error) {
	if c.format == formatAnthropic {
		c.badRequest("There was an error parsing the body of your request: " + err.Error())
		return
	}
	c.badRequest("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)")
}

// missingParam reports a missing required body field.
func (c *call) missingParam(name string) {
	if c.format == formatAnthropic {
		c.badRequest(name + ": Field required")
		return
	}
	c.fail(apiError{
		Status:  http.StatusBadRequest,
		Type:    "invalid_request_error",
		Message: fmt.Sprintf("Missing required parameter: '%s'.", name),
		Param:   name,
		Code:    "missing_required_parameter",
	})
}

func (c *call) writeNotFound() {
	if c.format == formatGemini {
		c.geminiError(http.StatusNotFound, "Requested entity was not found.", "")
		return
	}
	if c.format == formatAnthropic {
		c.writeError(http.StatusNotFound, "not_found_error", "Not Found")
		return
	}
	c.writeError(http.StatusNotFound, "invalid_request_error",
		fmt.Sprintf("Invalid URL (%s %s)", c.r.Method, c.r.URL.Path))
}

// writeAuthError answers a request whose key differs from RequireKey.
func (c *call) writeAuthError() {
	key := c.presentedKey()
	if c.format == formatGemini {
		// Google answers a wrong key with 400, naming the reason.
		c.geminiError(http.StatusBadRequest, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
		return
	}
	if c.format == formatAnthropic {
		msg := "invalid x-api-key"
		if key == "" {
			msg = "x-api-key header is required"
		}
		c.writeError(http.StatusUnauthorized, "authentication_error", msg)
		return
	}
	if key == "" {
		c.writeError(http.StatusUnauthorized, "invalid_request_error",
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.")
		return
	}
	// The real message leaks a fragment of the key; the gateway under test
	// is expected to scrub it, so the fake must reproduce it.
	c.fail(apiError{
		Status:  http.StatusUnauthorized,
		Type:    "invalid_request_error",
		Message: "Incorrect API key provided: " + maskKey(key) + ". You can find your API key at https://platform.openai.com/account/api-keys.",
		Code:    "invalid_api_key",
	})
}

// maskKey masks a key the way OpenAI does: first 5 and last 4 characters
// kept, the rest replaced by '*'. Like the real API, short keys are shown as
// they are.
func maskKey(key string) string {
	if len(key) < 10 {
		return key
	}
	return key[:5] + strings.Repeat("*", len(key)-9) + key[len(key)-4:]
}

// writeForcedError answers with the scripted failure status and a body
// resembling what the real provider sends for that status.
func (c *call) writeForcedError(status int) {
	if c.cfg.RetryAfter != "" && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == 529) {
		c.w.Header().Set("Retry-After", c.cfg.RetryAfter)
	}
	if status == http.StatusUnauthorized {
		c.writeAuthError()
		return
	}
	model := c.model()
	if c.format == formatGemini {
		msg := statusText(status)
		switch status {
		case http.StatusNotFound:
			msg = "models/" + model + " is not found for API version v1beta, or is not supported for generateContent."
		case http.StatusTooManyRequests:
			msg = "Resource has been exhausted (e.g. check quota)."
		case http.StatusServiceUnavailable:
			msg = "The model is overloaded. Please try again later."
		}
		c.geminiError(status, msg, "")
		return
	}
	if c.format == formatAnthropic {
		var msg string
		switch status {
		case http.StatusBadRequest:
			msg = "Invalid request."
		case http.StatusForbidden:
			msg = "Your API key does not have permission to use the specified resource."
		case http.StatusNotFound:
			msg = "model: " + model
		case http.StatusRequestEntityTooLarge:
			msg = "Request exceeds the maximum allowed number of bytes."
		case http.StatusTooManyRequests:
			msg = "Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later."
		case http.StatusInternalServerError:
			msg = "Internal server error"
		case http.StatusServiceUnavailable, 529:
			msg = "Overloaded"
		default:
			msg = statusText(status)
		}
		c.writeError(status, "", msg)
		return
	}
	e := apiError{Status: status}
	switch status {
	case http.StatusNotFound:
		e.Message = fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model)
		e.Code = "model_not_found"
	case http.StatusTooManyRequests:
		e.Message = fmt.Sprintf("Rate limit reached for %s in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.", model)
		e.Type = "requests"
		e.Code = "rate_limit_exceeded"
	case http.StatusInternalServerError:
		e.Message = "The server had an error while processing your request. Sorry about that!"
	case http.StatusServiceUnavailable:
		e.Message = "The engine is currently overloaded, please try again later."
	default:
		e.Message = statusText(status)
	}
	c.fail(e)
}

func openaiErrorType(status int) string {
	if status >= 500 {
		return "server_error"
	}
	return "invalid_request_error"
}

func anthropicErrorType(status int) string {
	switch status {
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
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error " + strconv.Itoa(status)
}

// requestModel extracts the "model" field of a request body, if any.
func requestModel(body []byte) string {
	var v struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(body, &v)
	if v.Model == "" {
		return "unknown"
	}
	return v.Model
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
