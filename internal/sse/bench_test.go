package sse

import (
	"bytes"
	"io"
	"testing"
)

// A typical OpenAI chat-completions chunk (~200 bytes).
const benchChunk = `data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}]}` + "\n\n"

// loopReader serves the same stream forever, one network-sized read at a time.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

func BenchmarkReaderNext(b *testing.B) {
	for _, bc := range []struct {
		name   string
		stream string
	}{
		{"openai", benchChunk},
		{"anthropic", "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ello\"}}\n\n"},
		{"crlf", string(bytes.ReplaceAll([]byte(benchChunk), []byte("\n"), []byte("\r\n")))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader(&loopReader{data: bytes.Repeat([]byte(bc.stream), 64)})
			b.SetBytes(int64(len(bc.stream)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Next(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, "content_block_delta", data); err != nil {
			b.Fatal(err)
		}
	}
}
