package translate

import (
	"encoding/json"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

// Whatever a client or a provider sends, the Responses translations never
// panic: they fail cleanly or yield JSON.
func FuzzResponses(f *testing.F) {
	for _, s := range []string{
		responsesAgentTurn, chatAgentTurn, chatCompletionFull, responseFull, messagesFull,
		`{"input":"x","previous_response_id":"r"}`,
		`{"input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"u"}]},{"type":"item_reference","id":"i"}]}`,
		`{"messages":[{"role":"tool","content":[{"type":"image_url","image_url":"data:image/png;base64,AAAA"}]}],"tools":[{"type":"function"}],"tool_choice":{"type":"allowed_tools"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, fn := range map[string]func([]byte, Options) ([]byte, []string, error){
			"ResponsesToChat": ResponsesToChat, "ResponsesToMessages": ResponsesToMessages,
			"ChatToResponses": ChatToResponses, "MessagesToResponses": MessagesToResponses,
		} {
			out, _, err := fn(body, Options{IncludeUsage: len(body)%2 == 0, LegacyMaxTokens: len(body)%3 == 0})
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s: invalid JSON %s", name, out)
			}
		}
		if out, err := ContinueResponses(body, "partial "); err == nil && !json.Valid(out) {
			t.Fatalf("ContinueResponses: invalid JSON %s", out)
		}
		for name, fn := range map[string]func([]byte, string) ([]byte, error){
			"ResponsesResponseToChat":     ResponsesResponseToChat,
			"ResponsesResponseToMessages": ResponsesResponseToMessages,
			"ChatResponseToResponses":     func(b []byte, m string) ([]byte, error) { return ChatResponseToResponses(b, m, b) },
			"MessagesResponseToResponses": func(b []byte, m string) ([]byte, error) { return MessagesResponseToResponses(b, m, b) },
		} {
			out, err := fn(body, "")
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s: invalid JSON %s", name, out)
			}
		}
	})
}

// Whatever a provider streams, every Responses event written is JSON, and
// whatever a Responses upstream streams, every client event is JSON (or
// [DONE]).
func FuzzResponsesStream(f *testing.F) {
	f.Add(chatTools, uint8(0))
	f.Add(anthropicTools+anthropicThinking, uint8(1))
	f.Add(responsesReasoningTools, uint8(2))
	f.Add(responsesText+"resume", uint8(3))
	f.Fuzz(func(t *testing.T, in string, mode uint8) {
		check := func(name string, data []byte) error {
			if string(data) != "[DONE]" && !json.Valid(data) {
				t.Fatalf("invalid event %s: %s", name, data)
			}
			return nil
		}
		var s Stream
		if mode&2 == 0 {
			s = NewResponsesStream(Format(mode&1), "", []byte(in))
		} else {
			s = NewStreamFromResponses(Format(mode&1), "", mode&4 != 0)
		}
		for i, e := range streamcheck.ParseSSE(in) {
			_ = s.Event(e.Name, []byte(e.Data), check)
			if i == 3 && mode&8 != 0 {
				s.Resume(Format(mode >> 4 & 1))
			}
		}
		_ = s.Close(check)
	})
}
