package sse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		event    string
		data     string
		want     string
		wantData string // as a Reader parses it back
	}{
		{"data only", "", `{"a":1}`, "data: {\"a\":1}\n\n", `{"a":1}`},
		{"named", "message_stop", `{"type":"message_stop"}`, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", `{"type":"message_stop"}`},
		{"empty data", "", "", "data: \n\n", ""},
		{"multi-line LF", "e", "a\nb", "event: e\ndata: a\ndata: b\n\n", "a\nb"},
		{"CRLF and CR split lines", "", "a\r\nb\rc", "data: a\ndata: b\ndata: c\n\n", "a\nb\nc"},
		{"trailing newline kept", "", "a\n", "data: a\ndata: \n\n", "a\n"},
		{"leading space survives", "", " x", "data:  x\n\n", " x"},
		{"done marker", "", "[DONE]", "data: [DONE]\n\n", "[DONE]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tt.event, []byte(tt.data)); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("wrote %q, want %q", b.String(), tt.want)
			}
			e, err := NewReader(&b).Next()
			if err != nil || e.Name != tt.event || string(e.Data) != tt.wantData {
				t.Fatalf("read back %q %q, %v", e.Name, e.Data, err)
			}
		})
	}
}

func TestWriteRejectsBrokenName(t *testing.T) {
	for _, name := range []string{"a\nb", "a\r", "\r\n"} {
		var b bytes.Buffer
		if err := Write(&b, name, []byte("x")); !errors.Is(err, ErrInvalidName) || b.Len() != 0 {
			t.Fatalf("Write(%q) = %v, wrote %q", name, err, b.String())
		}
	}
}

type countingWriter struct {
	calls int
	err   error
}

func (w *countingWriter) Write(p []byte) (int, error) { w.calls++; return len(p), w.err }

func TestWriteSingleWriteAndError(t *testing.T) {
	w := &countingWriter{}
	if err := Write(w, "e", []byte("a\nb\nc")); err != nil || w.calls != 1 {
		t.Fatalf("err %v, %d Write calls", err, w.calls)
	}
	w.err = io.ErrShortWrite
	if err := Write(w, "", []byte("x")); err != io.ErrShortWrite {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteDoesNotAllocate(t *testing.T) {
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`)
	allocs := testing.AllocsPerRun(100, func() {
		_ = Write(io.Discard, "content_block_delta", data)
	})
	if allocs > 0 {
		t.Fatalf("Write allocates %.1f times", allocs)
	}
}
