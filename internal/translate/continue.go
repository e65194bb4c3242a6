package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// Continuation: a stream stalled after some text reached the client, and
// another provider is asked to finish the answer. Build the request in the
// client's format from the original body and Stream.Text(), then translate
// it if the next provider speaks the other format: MessagesToChat turns a
// prefill into the OpenAI form below, and ChatToMessages turns that form
// back into a prefill. Only text continues; a stream that stalled inside a
// tool call must start over.
//
// Anthropic continues a prefill: a final assistant message is the start of
// the answer, and the model writes what follows. OpenAI chat has no
// prefill (a final assistant message is taken as a finished turn, and
// compatible servers that offer one each spell it differently), so the
// partial answer goes in as an assistant message followed by
// ContinueInstruction. That works on every OpenAI-format server; the model
// may still, rarely, repeat a few words.

// ContinueInstruction is the user message that asks an OpenAI-format model
// to continue the partial answer before it.
const ContinueInstruction = "Your previous reply was cut off. Continue it exactly where it stopped, without repeating anything and without any preamble."

// ContinueChat returns the OpenAI chat request body that continues an
// answer of which delivered reached the client: the original messages, an
// assistant message with delivered and ContinueInstruction. Other members
// are kept as they are. An empty delivered returns body unchanged.
//
// As for ContinueMessages, body is the client's original request (not an
// earlier continuation) and delivered all the answer's text so far
// (Stream.Text()), however many providers it took.
func ContinueChat(body []byte, delivered string) ([]byte, error) {
	if delivered == "" {
		return body, nil
	}
	msgs, err := rawMessages(body)
	if err != nil {
		return nil, fmt.Errorf("continuing chat request: %w", err)
	}
	a, _ := marshal(obj{{"role", "assistant"}, {"content", delivered}})
	u, _ := marshal(obj{{"role", "user"}, {"content", ContinueInstruction}})
	out, err := setMessages(body, append(msgs, a, u))
	if err != nil {
		return nil, fmt.Errorf("continuing chat request: %w", err)
	}
	return out, nil
}

// ContinueMessages returns the Anthropic messages request body that
// continues an answer of which delivered reached the client, as an
// assistant prefill. body is the client's original request (not an earlier
// continuation) and delivered all the answer's text so far (Stream.Text()).
// When body already ends with an assistant message (the client's own
// prefill), delivered is appended to it, since the answer never repeats
// its prefill.
//
// Anthropic refuses a prefill that ends in white space, so trailing white
// space is trimmed; the continuation then normally starts with it, and the
// caller may drop leading white space from the continued stream when
// delivered ended with some. Anthropic also refuses a prefill with
// extended thinking, so thinking is removed from the request. Some newer
// Claude models refuse prefills altogether; for them use an instruction as
// in ContinueChat.
func ContinueMessages(body []byte, delivered string) ([]byte, error) {
	if strings.TrimSpace(delivered) == "" {
		return body, nil
	}
	msgs, err := rawMessages(body)
	if err != nil {
		return nil, fmt.Errorf("continuing messages request: %w", err)
	}
	var keep []json.RawMessage // blocks of the client's prefill before its final text
	if n := len(msgs); n > 0 && roleOf(msgs[n-1]) == "assistant" {
		var m struct {
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(msgs[n-1], &m); err != nil {
			return nil, fmt.Errorf("continuing messages request: %w", err)
		}
		if s, ok := stringValue(m.Content); ok {
			delivered = s + delivered
		} else if !isNull(m.Content) {
			if err := json.Unmarshal(m.Content, &keep); err != nil {
				return nil, fmt.Errorf("continuing messages request: %w", err)
			}
			if k := len(keep) - 1; k >= 0 {
				var tb block
				if json.Unmarshal(keep[k], &tb) == nil && tb.Type == "text" {
					delivered = tb.Text + delivered
					keep = keep[:k]
				}
			}
		}
		msgs = msgs[:n-1]
	}
	text := strings.TrimRight(delivered, " \t\r\n")
	var c any = text
	if len(keep) > 0 {
		t, _ := marshal(textBlock(text))
		c = append(keep, t)
	}
	a, err := marshal(obj{{"role", "assistant"}, {"content", c}})
	if err != nil {
		return nil, fmt.Errorf("continuing messages request: %w", err)
	}
	out, err := setMessages(body, append(msgs, a))
	if err != nil {
		return nil, fmt.Errorf("continuing messages request: %w", err)
	}
	if raw, ok, _ := jsonobj.Get(out, "thinking"); ok {
		var th struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &th) != nil || th.Type != "disabled" {
			return jsonobj.Delete(out, "thinking")
		}
	}
	return out, nil
}

// rawMessages returns the messages member of a request, one raw message
// per element.
func rawMessages(body []byte) ([]json.RawMessage, error) {
	if !json.Valid(body) {
		return nil, fmt.Errorf("request body is not valid JSON")
	}
	raw, ok, err := jsonobj.Get(body, "messages")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no messages")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	return msgs, nil
}

func setMessages(body []byte, msgs []json.RawMessage) ([]byte, error) {
	raw, err := marshal(msgs)
	if err != nil {
		return nil, err
	}
	return jsonobj.Set(body, "messages", raw)
}

func roleOf(msg json.RawMessage) string {
	var m struct {
		Role string `json:"role"`
	}
	_ = json.Unmarshal(msg, &m)
	return m.Role
}

// stripContinueInstruction removes a final ContinueInstruction that follows
// an assistant message, so an Anthropic target gets the partial answer as a
// prefill.
func stripContinueInstruction(in []chatMessage) []chatMessage {
	n := len(in)
	if n < 2 || in[n-1].Role != "user" || in[n-2].Role != "assistant" {
		return in
	}
	if s, _ := stringValue(in[n-1].Content); s != ContinueInstruction {
		return in
	}
	return in[:n-1]
}
