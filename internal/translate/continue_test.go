package translate

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

func TestContinueChat(t *testing.T) {
	in := `{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Count to ten."}],"stream":true,"stream_options":{"include_usage":true}}`
	out, err := ContinueChat([]byte(in), "One, two, three, ")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Count to ten."},
		{"role":"assistant","content":"One, two, three, "},{"role":"user","content":"`+ContinueInstruction+`"}],
		"stream":true,"stream_options":{"include_usage":true}}`)

	// Continued on an Anthropic provider: a prefill.
	a, removed, err := ChatToMessages(out, Options{Model: "claude-haiku-4-5", DefaultMaxTokens: 1000})
	if err != nil || removed != nil {
		t.Fatal(err, removed)
	}
	jsonEqual(t, a, `{"model":"claude-haiku-4-5","max_tokens":1000,"system":"Be brief.","messages":[{"role":"user","content":"Count to ten."},
		{"role":"assistant","content":"One, two, three,"}],"stream":true}`)

	if same, err := ContinueChat([]byte(in), ""); err != nil || string(same) != in {
		t.Errorf("empty delivered changed the body: %s, %v", same, err)
	}
	if _, err := ContinueChat([]byte(`{"model":"m"}`), "x"); err == nil {
		t.Error("no messages: no error")
	}
}

func TestContinueMessages(t *testing.T) {
	tests := []struct {
		name, in, delivered, want string
	}{
		{
			name:      "prefill appended; thinking removed",
			in:        `{"model":"claude-sonnet-4-5","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"Write a haiku."}],"stream":true}`,
			delivered: "Autumn moonlight—\na worm digs silently\n",
			want:      `{"model":"claude-sonnet-4-5","max_tokens":2048,"messages":[{"role":"user","content":"Write a haiku."},{"role":"assistant","content":"Autumn moonlight—\na worm digs silently"}],"stream":true}`,
		},
		{
			name:      "the client's own prefill extended",
			in:        `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"JSON please"},{"role":"assistant","content":"{"}]}`,
			delivered: `"a": 1, `,
			want:      `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"JSON please"},{"role":"assistant","content":"{\"a\": 1,"}]}`,
		},
		{
			name:      "prefill in blocks",
			in:        `{"model":"m","max_tokens":10,"thinking":{"type":"disabled"},"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"text","text":"The answer is"}]}]}`,
			delivered: " (C)",
			want:      `{"model":"m","max_tokens":10,"thinking":{"type":"disabled"},"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"The answer is (C)"}]}`,
		},
		{
			name:      "white space only: unchanged",
			in:        `{"model":"m","messages":[{"role":"user","content":"x"}]}`,
			delivered: " \n",
			want:      `{"model":"m","messages":[{"role":"user","content":"x"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ContinueMessages([]byte(tt.in), tt.delivered)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, out, tt.want)
		})
	}

	// Continued on an OpenAI-format provider: the instruction.
	out, _ := ContinueMessages([]byte(tests[0].in), tests[0].delivered)
	c, removed, err := MessagesToChat(out, Options{Model: "gpt-4o"})
	if err != nil || removed != nil {
		t.Fatal(err, removed)
	}
	jsonEqual(t, c, `{"model":"gpt-4o","messages":[{"role":"user","content":"Write a haiku."},
		{"role":"assistant","content":"Autumn moonlight—\na worm digs silently"},{"role":"user","content":"`+ContinueInstruction+`"}],
		"max_completion_tokens":2048,"stream":true}`)
}

// TestRepeatFilter: what of a continuation's text, in the chunks it
// comes in, reaches the client, and that no more is held back at any
// point than could still be a repeat of the delivered text.
func TestRepeatFilter(t *testing.T) {
	tests := []struct {
		name      string
		delivered string
		chunks    []string
		want      string
	}{
		{"continues: nothing removed", "Hello from", []string{" the", " fallback."}, " the fallback."},
		{"restarts: the repeat removed", "Hello from", []string{"Hello", " from", " the", " fallback."}, " the fallback."},
		{"restarts in one chunk", "Hello from", []string{"Hello from the fallback."}, " the fallback."},
		{"chunk boundary mid-overlap", "Hello from the", []string{"He", "llo fr", "om the fallback", "."}, " fallback."},
		{"repeat is all of a short delivered", "Hi", []string{"Hi", " there"}, " there"},
		{"restart then diverges after a long repeat", "Hello from the first", []string{"Hello from the ", "second"}, "second"},
		{"short common start is a coincidence", "The cat sat", []string{"The", " dog ran"}, "The dog ran"},
		{"continuation ends while repeating (long): dropped", "Hello from the fake provider", []string{"Hello from the fake"}, ""},
		{"continuation ends while repeating (short): kept", "Hello from the fake provider", []string{"Hel"}, "Hel"},
		{"multi-byte: restart", "Grüße aus Köln, ", []string{"Grü", "ße aus Köln, ", "schön!"}, "schön!"},
		{"multi-byte: diverges inside a character", "naïve ééééééé", []string{"naïve éééééé", "è fin"}, "è fin"},
		{"multi-byte: short common start kept whole", "日本語のテキスト", []string{"日本", "では"}, "日本では"},
		{"emoji restart", "👋 hello there", []string{"👋", " hello there", " again"}, " again"},
		{"first chunk differs", "Hello", []string{" world", "Hello"}, " worldHello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := repeatFilter{delivered: tt.delivered}
			var got strings.Builder
			for _, c := range tt.chunks {
				out := f.feed(c)
				if !utf8.ValidString(out) {
					t.Fatalf("feed(%q) = %q: not valid UTF-8", c, out)
				}
				got.WriteString(out)
				if len(f.held) > len(tt.delivered) {
					t.Fatalf("holds %q, more than the delivered text", f.held)
				}
			}
			got.WriteString(f.flush())
			if got.String() != tt.want {
				t.Errorf("client got %q, want %q", got.String(), tt.want)
			}
		})
	}
}

func TestCommonPrefix(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"abc", "abd", 2},
		{"abc", "abc", 3},
		{"ab", "abc", 2},
		{"é", "è", 0}, // same first byte, different characters
		{"xé", "xè", 1},
		{"", "x", 0},
	} {
		if got := commonPrefix(tt.a, tt.b); got != tt.want {
			t.Errorf("commonPrefix(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func repeatChunk(content string) event {
	b, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": content}}}})
	return event{Data: string(b)}
}

func repeatEnd() []event {
	return []event{
		{Data: `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`},
		{Data: `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`},
		{Data: "[DONE]"},
	}
}

func repeatStart() event {
	return event{Data: `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`}
}

// TestSkipRepeatStream: a stream stalls after "Hello", the continuation
// starts over; the client, in either format, reads the answer once. One
// that continues properly is left alone.
func TestSkipRepeatStream(t *testing.T) {
	head := []event{repeatStart(), repeatChunk("Hello"), repeatChunk(" from")}
	for _, client := range []Format{OpenAI, Anthropic} {
		for _, tt := range []struct {
			name string
			next []string
			want string
		}{
			{"restarts", []string{"Hel", "lo from", " the fallback", "!"}, "Hello from the fallback!"},
			{"continues", []string{" the", " fallback", "!"}, "Hello from the fallback!"},
		} {
			name := map[Format]string{OpenAI: "openai client ", Anthropic: "anthropic client "}[client] + tt.name
			t.Run(name, func(t *testing.T) {
				s := NewStream(OpenAI, client, "m", true)
				var out []event
				for _, e := range head {
					if err := s.Event(e.Name, []byte(e.Data), collect(&out)); err != nil {
						t.Fatal(err)
					}
				}
				delivered := s.Text()
				s.Resume(OpenAI)
				if !SkipRepeat(s, delivered) {
					t.Fatal("SkipRepeat not supported")
				}
				next := []event{repeatStart()}
				for _, c := range tt.next {
					next = append(next, repeatChunk(c))
				}
				out = append(out, run(t, s, append(next, repeatEnd()...))...)
				got, err := readClient(client, out)
				if err != nil {
					t.Fatalf("%v\n%s", err, streamcheck.Dump(out))
				}
				if got.Text != tt.want || s.Text() != tt.want {
					t.Fatalf("client read %q (Text() %q), want %q\n%s", got.Text, s.Text(), tt.want, streamcheck.Dump(out))
				}
			})
		}
	}

	// A second stall while the continuation is still repeating: what it
	// held never reached the client, and the next continuation goes on
	// from what did.
	s := NewStream(OpenAI, OpenAI, "m", true)
	var out []event
	for _, e := range head {
		_ = s.Event(e.Name, []byte(e.Data), collect(&out))
	}
	s.Resume(OpenAI)
	SkipRepeat(s, s.Text())
	_ = s.Event("", []byte(repeatChunk("Hello fr").Data), collect(&out))
	if s.Text() != "Hello from" {
		t.Fatalf("held text leaked: %q", s.Text())
	}
	s.Resume(OpenAI)
	SkipRepeat(s, s.Text())
	out = append(out, run(t, s, append([]event{repeatChunk("Hello from the third"), repeatChunk(".")}, repeatEnd()...))...)
	got, err := streamcheck.ReadChatStream(out, true)
	if err != nil || got.Text != "Hello from the third." {
		t.Fatalf("%q %v\n%s", got.Text, err, streamcheck.Dump(out))
	}
}
