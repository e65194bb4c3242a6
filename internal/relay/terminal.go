package relay

import "bytes"

// IsTerminal reports the event that ends a stream: OpenAI's [DONE],
// Anthropic's message_stop, the Responses API's final response event, and
// Gemini's chunk with a finishReason (its streams have no closing event).
// A member name in JSON data is never escaped, so the match is exact.
func IsTerminal(name string, data []byte) bool {
	switch name {
	case "message_stop", "response.completed", "response.incomplete", "response.failed":
		return true
	case "":
		return string(data) == "[DONE]" || (len(data) > 0 && data[0] == '{' && hasFinishReason(data))
	}
	return false
}

var finishReasonName = []byte(`"finishReason"`)

// hasFinishReason reports a member "finishReason" with a string value in
// JSON data. Quotes inside JSON strings are escaped, so "finishReason"
// followed by a colon is a member name.
func hasFinishReason(data []byte) bool {
	for {
		i := bytes.Index(data, finishReasonName)
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(data[i+len(finishReasonName):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			if v := bytes.TrimLeft(rest[1:], " \t\r\n"); len(v) > 0 && v[0] == '"' {
				return true
			}
		}
		data = data[i+len(finishReasonName):]
	}
}
