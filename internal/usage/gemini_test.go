package usage

import "testing"

func TestGeminiBody(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       Usage
		stop       string
		ok         bool
	}{
		{"plain", `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,"totalTokenCount":13},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`,
			Usage{InputTokens: 10, OutputTokens: 3}, "STOP", true},
		{"thoughts and cache", `{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":60,"toolUsePromptTokenCount":5,"candidatesTokenCount":3,"thoughtsTokenCount":20,"totalTokenCount":128}}`,
			Usage{InputTokens: 45, CacheReadTokens: 60, OutputTokens: 23, ReasoningTokens: 20}, "MAX_TOKENS", true},
		{"no usage", `{"candidates":[{"finishReason":"SAFETY"}]}`, Usage{}, "SAFETY", false},
		{"not json", `{"candidates":`, Usage{}, "", false},
	} {
		u, stop, ok := FromBody(GenerateContent, []byte(tc.body))
		if u != tc.want || stop != tc.stop || ok != tc.ok {
			t.Errorf("%s: %+v %q %v, want %+v %q %v", tc.name, u, stop, ok, tc.want, tc.stop, tc.ok)
		}
	}
	if n := OutputText([]byte(`{"candidates":[{"content":{"parts":[{"text":"abcd"},{"functionCall":{"name":"f","args":{"a":1}}}]}}]}`)); n != 4+len(`{"a":1}`) {
		t.Errorf("OutputText = %d", n)
	}
}

func TestMeterGemini(t *testing.T) {
	m := NewMeter(GenerateContent)
	chunks := []string{
		`{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash"}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":4,"totalTokenCount":11}}`,
	}
	for _, c := range chunks {
		m.Observe("", []byte(c))
	}
	if !m.FirstContent() || m.OutputText() != 3+len(`{"name":"get_weather","args":{"location":"Paris"}}`) {
		t.Fatalf("content %v text %d", m.FirstContent(), m.OutputText())
	}
	if _, ok := m.Usage(); ok {
		t.Fatal("usage final before the finishReason")
	}
	m.Observe("", []byte(`{"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":6,"thoughtsTokenCount":2,"totalTokenCount":15}}`))
	u, ok := m.Usage()
	if !ok || u != (Usage{InputTokens: 7, OutputTokens: 8, ReasoningTokens: 2}) || m.StopReason() != "STOP" {
		t.Fatalf("usage %+v %v stop %q", u, ok, m.StopReason())
	}
}
