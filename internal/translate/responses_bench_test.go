package translate

import (
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

// One text chunk through an OpenAI chat → Responses stream.
func BenchmarkResponsesStreamEvent(b *testing.B) {
	s := NewResponsesStream(OpenAI, "gpt-4o", []byte(`{"model":"gpt-4o","input":"x"}`))
	for _, e := range streamcheck.ParseSSE(chatText)[:2] {
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

// One text delta through a Responses → OpenAI chat stream.
func BenchmarkStreamFromResponsesEvent(b *testing.B) {
	s := NewStreamFromResponses(OpenAI, "o4-mini", true)
	for _, e := range streamcheck.ParseSSE(responsesText)[:4] {
		if err := s.Event(e.Name, []byte(e.Data), discard); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"delta":" the quick brown fox","logprobs":[]}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Event("response.output_text.delta", data, discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponsesToChat(b *testing.B) {
	body := []byte(responsesAgentTurn)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ResponsesToChat(body, Options{Model: "gpt-4o"}); err != nil {
			b.Fatal(err)
		}
	}
}
