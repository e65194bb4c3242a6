package translate

import "testing"

func TestContinueResponses(t *testing.T) {
	out, err := ContinueResponses([]byte(`{"model":"m","input":"Count to 5","stream":true}`), "1, 2")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"model":"m","input":[{"role":"user","content":"Count to 5"},{"role":"assistant","content":"1, 2"},
		{"role":"user","content":"`+ContinueInstruction+`"}],"stream":true}`)

	// On to Anthropic the continuation is a prefill again.
	msgs, _, err := ResponsesToMessages(out, Options{Model: "claude"})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, msgs, `{"model":"claude","max_tokens":4096,"messages":[{"role":"user","content":"Count to 5"},{"role":"assistant","content":"1, 2"}],"stream":true}`)

	out, err = ContinueResponses([]byte(`{"input":[{"type":"function_call_output","call_id":"c","output":"r"}]}`), "It")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"input":[{"type":"function_call_output","call_id":"c","output":"r"},{"role":"assistant","content":"It"},{"role":"user","content":"`+ContinueInstruction+`"}]}`)

	if out, err := ContinueResponses([]byte(`{"input":"x"}`), ""); err != nil || string(out) != `{"input":"x"}` {
		t.Errorf("empty delivered: %s, %v", out, err)
	}
	for _, in := range []string{`{"input":5}`, `{}`, `nope`} {
		if _, err := ContinueResponses([]byte(in), "x"); err == nil {
			t.Errorf("ContinueResponses(%s): no error", in)
		}
	}
}
