package translate

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " backslash \ slash /`, "tab\tnewline\ncr\r", "\x00\x01\x1f\x7f",
		"<b>&amp;</b>", "héllo wörld ✓ 🎉", "bad \xff utf8 \xc3", "line\u2028para\u2029end",
	} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q → %s: %v", s, got, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Errorf("%q → %s → %q", s, got, back)
		}
		if strings.ContainsAny(string(got), "\u2028\u2029") {
			t.Errorf("%q: U+2028/2029 not escaped: %s", s, got)
		}
	}
}

func TestReasoningLevels(t *testing.T) {
	for _, effort := range []string{"low", "medium", "high"} {
		if got := reasoningEffort(thinkingBudget(effort)); got != effort {
			t.Errorf("%s → %d → %s", effort, thinkingBudget(effort), got)
		}
	}
	for budget, want := range map[int64]string{1024: "low", 4096: "medium", 10000: "medium", 16384: "high", 64000: "high"} {
		if got := reasoningEffort(budget); got != want {
			t.Errorf("budget %d → %s, want %s", budget, got, want)
		}
	}
	for in, want := range map[string]string{"low": "low", "max": "high", "huge": ""} {
		if got := effortLevel(in); got != want {
			t.Errorf("effort %s → %q, want %q", in, got, want)
		}
	}
}

func TestDocumentsInToolResults(t *testing.T) {
	in := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
		{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":[
			{"type":"document","source":{"type":"text","media_type":"text/plain","data":"file body"}},
			{"type":"document","source":{"type":"content","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}},
			{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}},
			{"type":"search_result","source":"https://x","title":"t","content":[]}]},
		{"type":"document","source":{"type":"content","content":"inline"},"title":"t"}]}]}`
	out, removed, err := MessagesToChat([]byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out, `{"model":"m","messages":[{"role":"tool","tool_call_id":"t1","content":"file body\na\nb"},{"role":"user","content":"inline"}],"max_completion_tokens":5}`)
	removedEqual(t, removed, []string{"messages.document", "messages.search_result"})
}
