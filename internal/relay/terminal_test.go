package relay

import "testing"

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, event, data string
		want              bool
	}{
		{"openai done", "", "[DONE]", true},
		{"openai chunk", "", `{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}`, false},
		{"anthropic stop", "message_stop", `{"type":"message_stop"}`, true},
		{"anthropic delta", "message_delta", `{"type":"message_delta"}`, false},
		{"responses completed", "response.completed", `{}`, true},
		{"responses incomplete", "response.incomplete", `{}`, true},
		{"responses failed", "response.failed", `{}`, true},
		{"responses delta", "response.output_text.delta", `{}`, false},
		{"gemini last chunk", "", `{"candidates":[{"finishReason":"STOP"}]}`, true},
		{"gemini spaced", "", `{"candidates":[{"finishReason" :  "STOP"}]}`, true},
		{"gemini chunk", "", `{"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}`, false},
		{"finishReason in text", "", `{"candidates":[{"content":{"parts":[{"text":"\"finishReason\" is a word"}]}}]}`, false},
		{"finishReason null", "", `{"finishReason":null}`, false},
		{"named event with finishReason", "x", `{"finishReason":"STOP"}`, false},
		{"not JSON", "", `"finishReason":"STOP"`, false},
		{"empty", "", "", false},
	} {
		if got := IsTerminal(tc.event, []byte(tc.data)); got != tc.want {
			t.Errorf("%s: IsTerminal(%q, %s) = %v, want %v", tc.name, tc.event, tc.data, got, tc.want)
		}
	}
}
