package usage

import (
	"encoding/json"
	"testing"
)

// A typical OpenAI chat-completions chunk as it appears in sse.Event.Data.
const benchOpenAIChunk = `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null}`

const benchAnthropicDelta = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, world"}}`

func BenchmarkMeterOpenAIChunk(b *testing.B) {
	m := NewMeter(ChatCompletions)
	data := []byte(benchOpenAIChunk)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m.Observe("", data)
	}
}

// BenchmarkMeterOpenAIChunkEncodingJSON is the baseline the walker is
// measured against: the same extraction with encoding/json into structs.
func BenchmarkMeterOpenAIChunkEncodingJSON(b *testing.B) {
	type chunk struct {
		Choices []struct {
			Delta struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					Function struct {
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens int64 `json:"prompt_tokens"`
		} `json:"usage"`
	}
	data := []byte(benchOpenAIChunk)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		var c chunk
		if err := json.Unmarshal(data, &c); err != nil {
			b.Fatal(err)
		}
		n += len(*c.Choices[0].Delta.Content)
	}
}

func BenchmarkMeterAnthropicDelta(b *testing.B) {
	m := NewMeter(Messages)
	data := []byte(benchAnthropicDelta)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m.Observe("content_block_delta", data)
	}
}

func BenchmarkMeterAnthropicPing(b *testing.B) {
	m := NewMeter(Messages)
	data := []byte(`{"type": "ping"}`)
	b.ReportAllocs()
	for b.Loop() {
		m.Observe("ping", data)
	}
}

func BenchmarkMeterResponsesDelta(b *testing.B) {
	m := NewMeter(Responses)
	data := []byte(`{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"delta":" world","logprobs":[]}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m.Observe("response.output_text.delta", data)
	}
}

func BenchmarkFromBodyChat(b *testing.B) {
	body := []byte(chatBodyBasic)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := FromBody(ChatCompletions, body); !ok {
			b.Fatal("no usage")
		}
	}
}

func BenchmarkFromBodyMessages(b *testing.B) {
	body := []byte(messagesBodyBasic)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := FromBody(Messages, body); !ok {
			b.Fatal("no usage")
		}
	}
}
