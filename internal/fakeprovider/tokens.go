package fakeprovider

import (
	"encoding/json"
	"strings"
	"unicode"
)

// Token accounting is deterministic so tests can assert exact numbers:
//
//   - input tokens  = ceil(bytes of prompt text / 4), at least 1, where the
//     prompt text is every string found in the content-bearing fields of the
//     request (see textLen);
//   - output tokens = number of words of the reply, or of the tool-call
//     arguments for a tool call.
//
// Cache and reasoning tokens come from Options and are added on top
// according to each format's conventions (see usage in openai.go,
// responses.go and anthropic.go).

// toolArgs is the argument object of every fake tool call, and
// toolArgFragments is how streams deliver it (they concatenate to toolArgs).
const toolArgs = `{"location":"Paris"}`

var toolArgFragments = []string{`{"`, `location`, `":"`, `Paris`, `"}`}

// textLen returns the number of bytes of prompt text in v, a decoded JSON
// value of a content-bearing field: a string, an array of parts, or a part
// object whose text lives under "text", "content" (e.g. Anthropic
// tool_result) or "output" (Responses function_call_output).
func textLen(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []any:
		n := 0
		for _, e := range v {
			n += textLen(e)
		}
		return n
	case map[string]any:
		return textLen(v["text"]) + textLen(v["content"]) + textLen(v["output"])
	}
	return 0
}

// tokensFor converts a prompt length in bytes into a token count.
func tokensFor(textBytes int) int {
	return max(1, (textBytes+3)/4)
}

// splitWords splits s into pieces of leading whitespace plus one word, so
// that concatenating the pieces gives s back (trailing whitespace sticks to
// the last piece). Streams send one piece per event.
func splitWords(s string) []string {
	var pieces []string
	start, sawWord, prevSpace := 0, false, true
	for i, r := range s {
		space := unicode.IsSpace(r)
		if space && !prevSpace && sawWord {
			pieces = append(pieces, s[start:i])
			start, sawWord = i, false
		}
		if !space {
			sawWord = true
		}
		prevSpace = space
	}
	switch rest := s[start:]; {
	case sawWord || len(pieces) == 0:
		if rest != "" {
			pieces = append(pieces, rest)
		}
	default:
		pieces[len(pieces)-1] += rest
	}
	return pieces
}

// answer is what the fake model "generates" for one request.
type answer struct {
	// Text answers.
	pieces    []string // one per output token / stream delta
	text      string   // concatenation of pieces
	truncated bool     // cut to the max-tokens limit

	// Tool-call answers (toolName != "").
	toolName string
	toolArgs string

	outputTokens int // excluding reasoning tokens
}

// planAnswer builds the answer: a tool call to toolName when it is not
// empty, otherwise reply truncated to maxTokens words (0 = no limit).
func planAnswer(reply string, maxTokens int, toolName string) answer {
	if toolName != "" {
		return answer{toolName: toolName, toolArgs: toolArgs, outputTokens: max(1, len(strings.Fields(toolArgs)))}
	}
	pieces := splitWords(reply)
	a := answer{pieces: pieces}
	if maxTokens > 0 && len(pieces) > maxTokens {
		a.pieces, a.truncated = pieces[:maxTokens], true
	}
	a.text = strings.Join(a.pieces, "")
	a.outputTokens = len(a.pieces)
	return a
}

// pickTool decides whether to answer with a tool call and to which tool.
// names are the request's tool names in order; choice is the raw
// tool_choice of any format: "none" / {"type":"none"} disables tools, a
// named choice ({"type":"function","function":{"name":X}}, {"type":"function",
// "name":X} or {"type":"tool","name":X}) selects X, anything else selects
// the first tool. answeringToolResult suppresses the call so agent loops
// (call tool, send result, get answer) terminate.
func pickTool(names []string, choice json.RawMessage, answeringToolResult bool) string {
	if len(names) == 0 || answeringToolResult {
		return ""
	}
	var s string
	if json.Unmarshal(choice, &s) == nil && s == "none" {
		return ""
	}
	var obj struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(choice, &obj) == nil {
		switch {
		case obj.Type == "none":
			return ""
		case obj.Function.Name != "":
			return obj.Function.Name
		case obj.Name != "":
			return obj.Name
		}
	}
	return names[0]
}
