package translate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

// Whatever a client sends, translation fails cleanly or yields JSON.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{"}}]},{"role":"tool","tool_call_id":"a","content":[{"type":"text","text":"r"}]}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","reasoning_effort":"high","max_tokens":2000}`,
		`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"x"}}]}]},{"role":"assistant","content":[{"type":"thinking","thinking":"t"},{"type":"text","text":"a "}]}],"thinking":{"type":"enabled","budget_tokens":5000}}`,
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,AAAA"},{"type":"file","file":{"file_data":"data:text/plain;base64,aGk="}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, fn := range map[string]func([]byte, Options) ([]byte, []string, error){"ChatToMessages": ChatToMessages, "MessagesToChat": MessagesToChat} {
			out, _, err := fn(body, Options{DropSampling: len(body)%2 == 0})
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s: invalid JSON %s", name, out)
			}
		}
		for name, fn := range map[string]func([]byte, string) ([]byte, error){"ContinueChat": ContinueChat, "ContinueMessages": ContinueMessages} {
			out, err := fn(body, "partial ")
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s: invalid JSON %s", name, out)
			}
		}
		for name, fn := range map[string]func([]byte, string) ([]byte, error){"MessagesResponseToChat": MessagesResponseToChat, "ChatResponseToMessages": ChatResponseToMessages} {
			out, err := fn(body, "")
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s: invalid JSON %s", name, out)
			}
		}
		if !json.Valid(ErrorToChat(500, body)) || !json.Valid(ErrorToMessages(500, body)) {
			t.Fatal("error body not JSON")
		}
	})
}

// Whatever a provider streams, every event written is JSON (or [DONE]).
func FuzzStream(f *testing.F) {
	f.Add(anthropicTools, uint8(0))
	f.Add(chatTools, uint8(1))
	f.Add(anthropicThinking+chatReasoning, uint8(2))
	f.Fuzz(func(t *testing.T, in string, mode uint8) {
		up, client := Format(mode&1), Format(mode>>1&1)
		s := NewStream(up, client, "", mode&4 != 0)
		check := func(name string, data []byte) error {
			if string(data) != "[DONE]" && !json.Valid(data) {
				t.Fatalf("invalid event %s: %s", name, data)
			}
			return nil
		}
		for i, e := range streamcheck.ParseSSE(in) {
			if up != client {
				_ = s.Event(e.Name, []byte(e.Data), check)
			} else {
				_ = s.Event(e.Name, []byte(e.Data), func(string, []byte) error { return nil })
			}
			if i == 3 && strings.Contains(in, "resume") {
				s.Resume(1 - up)
				up = 1 - up
			}
		}
		_ = s.Close(check)
	})
}
