package clientreq

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
)

func TestGeminiPaths(t *testing.T) {
	for _, tc := range []struct {
		path, method, model string
		ok                  bool
	}{
		{"/v1beta/models/gemini-2.5-flash:generateContent", "generateContent", "gemini-2.5-flash", true},
		{"/llm/v1beta/models/google:gemini-2.5-flash:streamGenerateContent", "streamGenerateContent", "google:gemini-2.5-flash", true},
		{"/v1/models/auto:countTokens", "countTokens", "auto", true},
		{"/v1beta/models/my%20model:generateContent", "generateContent", "my model", true},
		{"/v1beta/models/x:embedContent", "", "x", true}, // Gemini's, not served
		{"/v1/models/openai:gpt-4o", "", "", false},      // OpenAI's model lookup
		{"/v1/chat/completions", "", "", false},
		{"/v1beta/models", "", "", false},
	} {
		ep, model, ok := Gemini(tc.path)
		method := ""
		if ep != nil {
			method = ep.Upstream
		}
		if ok != tc.ok || method != tc.method || model != tc.model {
			t.Errorf("Gemini(%s) = %q %q %v", tc.path, method, model, ok)
		}
	}
	for path, want := range map[string]string{"/v1beta/models": "", "/v1beta/models/": "", "/v1beta/models/openai:gpt-4o": "openai:gpt-4o"} {
		if id, ok := GeminiModels(path); !ok || id != want {
			t.Errorf("GeminiModels(%s) = %q %v", path, id, ok)
		}
	}
	for _, path := range []string{"/v1/models", "/v1beta/files", "/v1beta/models/a/b", "/v1beta/models/x:generateContent"} {
		if _, ok := GeminiModels(path); ok {
			t.Errorf("GeminiModels(%s) ok", path)
		}
	}
	for path, want := range map[string]string{
		"/v1beta/models/gemini-2.5-flash:generateContent":       "gemini.generate_content",
		"/v1beta/models/gemini-2.5-flash:streamGenerateContent": "gemini.generate_content",
		"/v1beta/models/m:countTokens":                          "gemini.count_tokens",
		"/v1beta/models":                                        "models",
		"/v1beta/models/m:embedContent":                         "other",
	} {
		if got := EndpointName(path); got != want {
			t.Errorf("EndpointName(%s) = %s, want %s", path, got, want)
		}
		if ErrorFormat(path) != apierr.Gemini {
			t.Errorf("ErrorFormat(%s) is not Gemini's", path)
		}
	}
	ep, _, _ := Gemini("/v1beta/models/m:streamGenerateContent")
	if got := ep.UpstreamPath("google:gemini 2"); got != "/v1beta/models/google:gemini%202:streamGenerateContent" {
		t.Errorf("UpstreamPath = %s", got)
	}
}

func TestKeyParam(t *testing.T) {
	for _, tc := range []struct {
		in, key, rest string
		n             int
	}{
		{"", "", "", 0},
		{"alt=sse", "", "alt=sse", 0},
		{"alt=sse&key=cag_1", "cag_1", "alt=sse", 1},
		{"key=cag_1&alt=sse&key=cag_2", "cag_1", "alt=sse", 2},
		{"k%65y=cag%5F1", "cag_1", "", 1},
		{"apikey=x&monkey=y", "", "apikey=x&monkey=y", 0},
	} {
		key, n, rest := KeyParam(tc.in)
		if key != tc.key || n != tc.n || rest != tc.rest {
			t.Errorf("KeyParam(%q) = %q %d %q", tc.in, key, n, rest)
		}
	}
	if tok, _ := AccessToken(http.Header{"X-Goog-Api-Key": {"cag_g"}, "Authorization": {"Bearer cag_b"}}); tok != "cag_g" {
		t.Errorf("x-goog-api-key: %q", tok)
	}
	if _, amb := AccessToken(http.Header{"X-Goog-Api-Key": {"a", "b"}}); !amb {
		t.Error("x-goog-api-key twice is not ambiguous")
	}
}

func TestParseGemini(t *testing.T) {
	gen, _, _ := Gemini("/v1beta/models/m:generateContent")
	stream, _, _ := Gemini("/v1beta/models/m:streamGenerateContent")
	count, _, _ := Gemini("/v1beta/models/m:countTokens")
	req, err := ParseFor(stream, "gemini-2.5-flash", []byte(`{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"x"}}]}],"generationConfig":{"maxOutputTokens":64,"candidateCount":2},"models":["gpt-4o"]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if req.Model != "gemini-2.5-flash" || !req.Stream || req.MaxTokens != 64 || req.MaxTokensField != "maxOutputTokens" || req.Choices != 2 ||
		!req.Unmeasured || len(req.Fallbacks) != 1 || strings.Contains(string(req.UpstreamBody), "models") {
		t.Fatalf("%+v", req)
	}
	if req, err := ParseFor(count, "m", []byte(`{"generateContentRequest":{"contents":[]}}`), false); err != nil || req.Model != "m" {
		t.Fatalf("countTokens: %v", err)
	}
	for body, want := range map[string]string{
		`{"contents":{}}`: "'contents' must be an array",
		`{"contents":[],"generationConfig":{"maxOutputTokens":0}}`:                     "'maxOutputTokens' must be a positive integer",
		`{"contents":[],"generationConfig":{"maxOutputTokens":5,"maxOutputTokens":6}}`: "twice",
		`{"contents":[],"generationConfig":{"max_output_tokens":5}}`:                   "snake_case",
		`{"contents":[],"generation_config":{}}`:                                       "generationConfig",
		`{"contents":[],"generationConfig":{"candidateCount":0}}`:                      "candidateCount",
		`{"contents":[],"GenerationConfig":{}}`:                                        "only in case",
	} {
		if _, err := ParseFor(gen, "m", []byte(body), true); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
