package usage

import (
	"encoding/json"
	"testing"
)

// FuzzMeter feeds arbitrary event data to every endpoint's meter and body
// reader: nothing may panic, and usage is only ever taken from valid JSON.
func FuzzMeter(f *testing.F) {
	for _, s := range []string{
		benchOpenAIChunk, benchAnthropicDelta, chatBodyDeepSeek, responsesBodyIncomplete, messagesBodyToolUse,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1e3}}`,
		`{"type":"response.completed","response":{"status":"incomplete","incomplete_details":{"reason":"x\u00e9"},"usage":{"input_tokens":-5}}}`,
		`{"choices":[{"delta":{"tool_calls":[{"function":{"name":"f","arguments":"\ud83d\ude00"}}]}}],"usage":{}}`,
		`[DONE]`, `{"choices":[],"usage":{"prompt_tokens":99999999999999999999999}}`,
	} {
		f.Add(s)
	}
	names := []string{"", "message_start", "content_block_start", "content_block_delta", "message_delta",
		"response.completed", "response.output_text.delta", "response.output_item.added", "ping"}
	f.Fuzz(func(t *testing.T, data string) {
		valid := json.Valid([]byte(data))
		for ep := ChatCompletions; ep <= CountTokens; ep++ {
			m := NewMeter(ep)
			for _, name := range names {
				m.Observe(name, []byte(data))
			}
			if _, ok := m.Usage(); ok && !valid && ep != CountTokens {
				t.Fatalf("%v meter took usage from invalid JSON", ep)
			}
			if m.OutputText() < 0 {
				t.Fatal("negative output text")
			}
			u, _, ok := FromBody(ep, []byte(data))
			if ok && !valid && ep != CountTokens {
				t.Fatalf("%v FromBody accepted invalid JSON", ep)
			}
			if u.InputTokens < 0 || u.CacheReadTokens < 0 || u.CacheWriteTokens < 0 || u.OutputTokens < 0 || u.ReasoningTokens < 0 {
				t.Fatalf("negative usage %+v", u)
			}
		}
	})
}
