package upstream

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestScrub(t *testing.T) {
	key := "sk-proj-ABCDEFGH1234567890abcdefWXYZ"
	cases := []struct{ name, in string }{
		{"whole key", `{"error":{"message":"bad key ` + key + `"}}`},
		{"masked like OpenAI", `{"error":{"message":"Incorrect API key provided: sk-pr***********WXYZ."}}`},
		{"prefix", `{"error":{"message":"key sk-proj-ABCDEF… revoked"}}`},
		{"suffix", `{"error":{"message":"key ending cdefWXYZ revoked"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := string(Scrub([]byte(c.in), key))
			for _, frag := range []string{key, key[:8], key[len(key)-8:], "***"} {
				if strings.Contains(out, frag) {
					t.Fatalf("%q still contains %q", out, frag)
				}
			}
			if !strings.Contains(out, "[redacted]") {
				t.Fatalf("nothing redacted: %q", out)
			}
		})
	}
	if got := string(Scrub([]byte(`{"error":"plain"}`), key)); got != `{"error":"plain"}` {
		t.Fatalf("changed a clean body: %q", got)
	}
}

func TestHeaders(t *testing.T) {
	in := http.Header{
		"Authorization": {"Bearer cag_x"}, "X-Api-Key": {"cag_x"}, "Cookie": {"a=b"},
		"Anthropic-Beta": {"tools-2024"}, "User-Agent": {"OpenAI/JS 6"}, "Ai-Gateway-Debug": {"1"},
		"Openai-Organization": {"org-client"}, "X-Stainless-Lang": {"js"}, "Accept-Encoding": {"br"},
	}
	out := Headers(in)
	for _, h := range []string{"Authorization", "X-Api-Key", "Cookie", "Ai-Gateway-Debug", "Openai-Organization", "Accept-Encoding"} {
		if out.Get(h) != "" {
			t.Errorf("%s forwarded", h)
		}
	}
	for _, h := range []string{"Anthropic-Beta", "User-Agent", "X-Stainless-Lang"} {
		if out.Get(h) == "" {
			t.Errorf("%s dropped", h)
		}
	}
}

func TestCopyResponseHeaders(t *testing.T) {
	key := "sk-proj-ABCDEFGH1234567890abcdefWXYZ"
	src := http.Header{
		"Content-Type": {"application/json"}, "Set-Cookie": {"a=b"}, "X-Ratelimit-Remaining": {"9"},
		"Openai-Organization": {"org-operator"}, "X-Echo": {"key " + key[len(key)-8:]}, "X-Request-Id": {"r1"},
	}
	dst := http.Header{}
	CopyResponseHeaders(dst, src, key)
	for h, want := range map[string]bool{"Content-Type": true, "X-Request-Id": true, "Set-Cookie": false,
		"X-Ratelimit-Remaining": false, "Openai-Organization": false, "X-Echo": false} {
		if got := dst.Get(h) != ""; got != want {
			t.Errorf("%s passed: %v, want %v", h, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"2", 2 * time.Second}, {"0.5", 500 * time.Millisecond}, {"-1", 0}, {"soon", 0},
		{"Mon, 01 Jan 2001 00:00:00 GMT", 0}, // in the past
	} {
		if got := RetryAfter(http.Header{"Retry-After": {tc.v}}); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"message":"bad model","type":"invalid_request_error"}}`:            "bad model",
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`: "Overloaded",
		"  upstream connect error  ": "upstream connect error",
		strings.Repeat("x", 400):     strings.Repeat("x", 300) + "…",
	} {
		if got := ErrorMessage([]byte(body)); got != want {
			t.Errorf("ErrorMessage(%.40s) = %q, want %q", body, got, want)
		}
	}
}

func TestRedactError(t *testing.T) {
	key := "sk-ant-0123456789abcdefghij"
	if got := RedactError(errors.New(`Post "https://x/?key=`+key+`": EOF`), key); strings.Contains(got, key[:8]) {
		t.Errorf("RedactError kept the key: %s", got)
	}
}
