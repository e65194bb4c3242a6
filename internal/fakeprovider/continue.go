package fakeprovider

import (
	"encoding/json"
	"strings"
)

// RestartingModel, in a model's name, makes the fake start its reply over
// when asked to continue a partial answer (see continueReply).
const RestartingModel = "restarts"

// continueReply makes the fake honour a request that continues a partial
// answer, as a gateway re-asks another provider when a stream stalls: an
// Anthropic assistant prefill (the last message is the assistant's start),
// or an OpenAI-style assistant message followed by a user message asking to
// continue. When that partial text begins the fake's reply, it answers
// only the rest, so a test can check the client saw the whole reply once.
//
// A model whose name contains RestartingModel answers such a request from
// the beginning instead, as some real models do, so a test can check the
// gateway removes the repeat.
func continueReply(body []byte, reply string) string {
	var v struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &v) != nil || strings.Contains(v.Model, RestartingModel) {
		return reply
	}
	msgs := v.Messages
	n := len(msgs)
	partial := ""
	switch {
	case n >= 1 && msgs[n-1].Role == "assistant":
		partial = contentText(msgs[n-1].Content)
	case n >= 2 && msgs[n-2].Role == "assistant" && msgs[n-1].Role == "user" &&
		strings.Contains(strings.ToLower(contentText(msgs[n-1].Content)), "continue"):
		partial = contentText(msgs[n-2].Content)
	}
	partial = strings.TrimRight(partial, " \t\n")
	if partial == "" || !strings.HasPrefix(reply, partial) {
		return reply
	}
	return reply[len(partial):]
}

// contentText is the text of a message content: a string or text parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}
