package translate

import (
	"testing"
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
