package clientreq

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckMembers(t *testing.T) {
	for _, tc := range []struct {
		body, err string
	}{
		{`{"model":"a","max_tokens":1}`, ""},
		{`{"model":"a","Temperature":1,"temperature":1}`, ""}, // not a member the gateway reads
		{`{"model":"a","max_tokens":1,"MAX_TOKENS":2}`, "only in case"},
		{`{"Model":"a"}`, "only in case"},
		{`{"model":"a","Stream":true}`, "only in case"},
		{`{"model":"a","max_tokenſ":1}`, "only in case"}, // Unicode folding, as encoding/json does it
		{`{"model":"a","model":"b"}`, "twice"},
		{`{"messages":[],"messages":[]}`, "twice"},
		{`[1]`, "not a JSON object"},
		{`{"model":"a","input":5}`, "'input' must be"},
		{`{"model":"a","input":{}}`, "'input' must be"},
	} {
		_, err := checkMembers([]byte(tc.body), Lookup("responses"))
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("checkMembers(%s) = %v, want %q", tc.body, err, tc.err)
		}
	}
}

func TestParseOutputLimit(t *testing.T) {
	for _, tc := range []struct {
		name, route, body string
		max               int64
		field             string
		err               string
	}{
		{"zero", "messages", `{"messages":[],"max_tokens":0}`, 0, "", "positive integer"},
		{"negative", "messages", `{"messages":[],"max_tokens":-1}`, 0, "", "positive integer"},
		{"fraction", "messages", `{"messages":[],"max_tokens":1.5}`, 0, "", "positive integer"},
		{"exponent", "messages", `{"messages":[],"max_tokens":1e3}`, 0, "", "positive integer"},
		{"string", "messages", `{"messages":[],"max_tokens":"10"}`, 0, "", "positive integer"},
		{"bool", "messages", `{"messages":[],"max_tokens":true}`, 0, "", "positive integer"},
		{"object", "messages", `{"messages":[],"max_tokens":{}}`, 0, "", "positive integer"},
		{"beyond int64", "messages", `{"messages":[],"max_tokens":9223372036854775808}`, 0, "", "positive integer"},
		{"far beyond int64", "messages", `{"messages":[],"max_tokens":99999999999999999999}`, 0, "", "positive integer"},
		{"null is absent", "messages", `{"messages":[],"max_tokens":null}`, 0, "", ""},
		{"chat limits disagree", "chat/completions", `{"messages":[],"max_tokens":1,"max_completion_tokens":2}`, 0, "", "disagree"},
		{"chat limits agree", "chat/completions", `{"messages":[],"max_tokens":5,"max_completion_tokens":5}`, 5, "max_completion_tokens", ""},
		{"another endpoint's member", "chat/completions", `{"messages":[],"max_output_tokens":5}`, 0, "", ""},
		{"responses", "responses", `{"input":"hi","max_output_tokens":7}`, 7, "max_output_tokens", ""},
	} {
		req, err := Parse(Lookup(tc.route), []byte(tc.body), true)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			continue
		}
		if err == nil && (req.MaxTokens != tc.max || req.MaxTokensField != tc.field) {
			t.Errorf("%s: limit %d from %q, want %d from %q", tc.name, req.MaxTokens, req.MaxTokensField, tc.max, tc.field)
		}
	}
}

func TestParseChoices(t *testing.T) {
	for _, tc := range []struct {
		n    string
		want int64
		ok   bool
	}{
		{`0`, 0, false}, {`-1`, 0, false}, {`129`, 0, false}, {`1.5`, 0, false}, {`"2"`, 0, false},
		{`128`, 128, true}, {`1`, 1, true}, {`null`, 0, true},
	} {
		req, err := Parse(Lookup("chat/completions"), []byte(`{"messages":[],"n":`+tc.n+`}`), true)
		if (err == nil) != tc.ok || (err == nil && req.Choices != tc.want) {
			t.Errorf("n %s: %v, %v", tc.n, req, err)
		}
	}
}

func TestHasUnmeasuredInput(t *testing.T) {
	for body, want := range map[string]bool{
		`{"messages":[{"role":"user","content":"hi"}]}`:                                                  false,
		`{"messages":[{"role":"user","content":"the word \"image\" in text"}]}`:                          false,
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:..."}}]}]}`: true,
		`{"messages":[{"content":[{"type":"image","source":{}}]}]}`:                                      true,
		`{"input":"hi","previous_response_id":"resp_1"}`:                                                 true,
		`{"tools":[{"type":"web_search_20250305","name":"web_search"}]}`:                                 true,
		`{"messages":[{"content":[{"type":"document","source":{}}]}]}`:                                   true,
	} {
		if got := hasUnmeasuredInput([]byte(body)); got != want {
			t.Errorf("hasUnmeasuredInput(%s) = %v, want %v", body, got, want)
		}
	}
}

func TestRoute(t *testing.T) {
	for _, tc := range []struct {
		path, route string
		ok          bool
	}{
		{"/v1/chat/completions", "chat/completions", true},
		{"/llm/v1/messages/", "messages", true},
		{"/v1/v1/models", "models", true},
		{"/chat/completions", "", false},
	} {
		if got, ok := Route(tc.path); got != tc.route || ok != tc.ok {
			t.Errorf("Route(%q) = %q, %v", tc.path, got, ok)
		}
	}
}

func TestPlainString(t *testing.T) {
	for _, raw := range []string{`"gpt-4o"`, `""`, `"a b:c/d"`, `"\u0067pt"`, `"é"`, `"a\"b"`, `1`, `"x`, `null`} {
		var want string
		wantOK := json.Unmarshal([]byte(raw), &want) == nil
		got, ok := plainString([]byte(raw))
		if ok && (!wantOK || got != want) {
			t.Errorf("%s: %q, want %q (%v)", raw, got, want, wantOK)
		}
	}
}
