package translate

import (
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

func discard(string, []byte) error { return nil }

// One text delta through an Anthropic → OpenAI stream.
func BenchmarkMessagesToChatStreamEvent(b *testing.B) {
	s := NewMessagesToChatStream("claude-sonnet-4-5", true)
	for _, e := range streamcheck.ParseSSE(anthropicText)[:2] {
		if err := s.Event(e.Name, []byte(e.Data), discard); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the quick brown fox"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Event("content_block_delta", data, discard); err != nil {
			b.Fatal(err)
		}
	}
}

// One text chunk through an OpenAI → Anthropic stream.
func BenchmarkChatToMessagesStreamEvent(b *testing.B) {
	s := NewChatToMessagesStream("gpt-4o")
	for _, e := range streamcheck.ParseSSE(chatText)[:1] {
		if err := s.Event(e.Name, []byte(e.Data), discard); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" the quick brown fox"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Event("", data, discard); err != nil {
			b.Fatal(err)
		}
	}
}

// One text delta passing through (observed for Text and Resume).
func BenchmarkPassthroughStreamEvent(b *testing.B) {
	s := NewStream(Anthropic, Anthropic, "", false)
	for _, e := range streamcheck.ParseSSE(anthropicText)[:2] {
		if err := s.Event(e.Name, []byte(e.Data), discard); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the quick brown fox"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Event("content_block_delta", data, discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatToMessages(b *testing.B) {
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What's the weather like in Boston today?"}],
		"tools":[{"type":"function","function":{"name":"get_current_weather","description":"Get the current weather in a given location","parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}}],
		"tool_choice":"auto","max_completion_tokens":1000,"temperature":0.2,"stream":true,"stream_options":{"include_usage":true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ChatToMessages(body, Options{Model: "claude-sonnet-4-5"}); err != nil {
			b.Fatal(err)
		}
	}
}
