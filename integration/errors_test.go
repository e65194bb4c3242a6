package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

type openAIError struct {
	Error struct{ Message, Type, Code string }
}

type anthropicError struct {
	Type  string
	Error struct{ Type, Message string }
}

func TestAccessKeyRefusals(t *testing.T) {
	e := start(t, cfgOpts{})
	disabled := e.createKey(`{"name":"off","disabled":true}`)
	expiring := e.createKey(`{"name":"soon","expiresAt":"` + time.Now().Add(1200*time.Millisecond).UTC().Format(time.RFC3339Nano) + `"}`)

	// the expiring key works until it expires
	if resp := e.post("/v1/chat/completions", chatBody, map[string]string{"Authorization": "Bearer " + expiring}); resp.StatusCode != 200 {
		t.Fatalf("expiring key refused early: %d", resp.StatusCode)
	}
	time.Sleep(1300 * time.Millisecond)
	e.fake.Reset()

	cases := []struct {
		name string
		path string
		hdr  map[string]string
		msg  string
	}{
		{"missing", "/v1/chat/completions", nil, "missing access key"},
		{"unknown", "/v1/chat/completions", map[string]string{"Authorization": "Bearer cag_nope"}, "invalid access key"},
		{"provider key is not an access key", "/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-managed-openai-0123456789abcdef"}, "invalid access key"},
		{"disabled", "/v1/chat/completions", map[string]string{"Authorization": "Bearer " + disabled}, "disabled"},
		{"expired", "/v1/chat/completions", map[string]string{"Authorization": "Bearer " + expiring}, "expired"},
		{"anthropic shape", "/v1/messages", map[string]string{"x-api-key": "cag_nope", "anthropic-version": "2023-06-01"}, "invalid access key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := e.post(c.path, chatBody, c.hdr)
			b := readAll(t, resp)
			if resp.StatusCode != 401 || resp.Header.Get("AI-Gateway-Request-Id") == "" {
				t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
			}
			if strings.Contains(c.path, "messages") {
				var v anthropicError
				mustJSON(t, b, &v)
				if v.Type != "error" || v.Error.Type != "authentication_error" || !strings.Contains(v.Error.Message, c.msg) {
					t.Fatalf("body %s", b)
				}
			} else {
				var v openAIError
				mustJSON(t, b, &v)
				if v.Error.Code != "invalid_access_key" || v.Error.Type != "authentication_error" || !strings.Contains(v.Error.Message, c.msg) {
					t.Fatalf("body %s", b)
				}
			}
		})
	}
	if n := e.fake.Count(); n != 0 {
		t.Fatalf("provider called %d times for refused requests", n)
	}
}

func TestBadRequests(t *testing.T) {
	e := start(t, cfgOpts{site: "ai_auth\n\tai_gateway {\n\t\tmax_request_body 2KB\n\t}"})
	cases := []struct {
		name   string
		path   string
		body   string
		status int
		code   string
	}{
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-nonexistent","messages":[]}`, 422, "no_matching_models"},
		{"endpoint the other format lacks", "/v1/embeddings", `{"model":"claude-sonnet-4-6","input":"x"}`, 422, "no_matching_models"},
		{"no model for embeddings", "/v1/embeddings", `{"input":"x"}`, 400, "invalid_request"},
		{"not json", "/v1/chat/completions", `{"model":`, 400, "invalid_request"},
		{"too large", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("x", 3000) + `"}]}`, 413, "input_too_large"},
		{"unknown endpoint", "/v1/assistants", `{}`, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := e.post(c.path, c.body, e.bearer())
			b := readAll(t, resp)
			var v openAIError
			mustJSON(t, b, &v)
			if resp.StatusCode != c.status || v.Error.Code != c.code {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
	// explicit provider passes an unknown model through
	resp := e.post("/v1/chat/completions", `{"model":"openai:my-finetune","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
	readAll(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Model") != "my-finetune" {
		t.Fatalf("explicit provider pass-through: %d", resp.StatusCode)
	}
	if n := e.fake.Count(); n != 1 {
		t.Fatalf("provider called %d times; bad requests must not reach it", n)
	}
}

func TestProviderErrors(t *testing.T) {
	e := start(t, cfgOpts{})

	t.Run("429 passes through with status", func(t *testing.T) {
		resp := e.post("/v1/chat/completions", chatBody, map[string]string{"Authorization": "Bearer " + e.token, "X-Fake-Status": "429", "X-Fake-Retry-After": "7"})
		b := readAll(t, resp)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || resp.Header.Get("AI-Gateway-Attempts") != "1" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
		}
		ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
		if ev.Status != 429 || ev.RetryAction != "exhausted" {
			t.Fatalf("event %+v", ev)
		}
	})

	t.Run("400 fails fast in the anthropic shape", func(t *testing.T) {
		e.fake.Reset()
		// no max_tokens: the provider refuses it
		resp := e.post("/v1/messages", `{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"x"}]}`, e.anthropicHdr())
		b := readAll(t, resp)
		var v anthropicError
		mustJSON(t, b, &v)
		if resp.StatusCode != 400 || v.Error.Type != "invalid_request_error" {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("provider 401 never shows the key", func(t *testing.T) {
		resp := e.post("/v1/chat/completions", chatBody, map[string]string{"Authorization": "Bearer " + e.token, "X-Fake-Status": "401"})
		b := readAll(t, resp)
		if resp.StatusCode != 502 || strings.Contains(string(b), "sk-") || strings.Contains(string(b), "cdef") || strings.Contains(string(b), "****") {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var v openAIError
		mustJSON(t, b, &v)
		if v.Error.Code != "provider_auth_failed" {
			t.Fatalf("body %s", b)
		}
	})

	t.Run("5xx body is scrubbed of key fragments", func(t *testing.T) {
		resp := e.post("/v1/chat/completions", chatBody, map[string]string{"Authorization": "Bearer " + e.token, "X-Fake-Status": "500"})
		b := readAll(t, resp)
		if resp.StatusCode != 500 || strings.Contains(string(b), "0123456789abcdef") {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})
}

// TestFailoverAcrossKeysAndModels: a refused key moves to the next key,
// a failing provider to the next model; every attempt is recorded.
func TestFailoverAcrossKeysAndModels(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(strings.Replace(e.caddyfile(cfgOpts{}), "api_key sk-managed-openai-0123456789abcdef",
		"api_key sk-bad-openai-key-000000000000\n\t\t\tapi_key sk-managed-openai-0123456789abcdef", 1))
	e.fake.SetOptions(fakeprovider.Options{RequireKey: "sk-managed-openai-0123456789abcdef"})

	// The registry rotates the starting key; over two requests one must
	// start with the bad key and move on.
	var sawFailover bool
	for i := 0; i < 2; i++ {
		resp := e.post("/v1/chat/completions", chatBody, e.bearer())
		readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		if resp.Header.Get("AI-Gateway-Attempts") == "2" {
			sawFailover = true
			evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 2)
			if evs[0].Status != 401 || evs[0].RetryAction != "next_key" || evs[1].RetryAction != "succeeded" {
				t.Fatalf("events %+v %+v", evs[0], evs[1])
			}
		}
	}
	if !sawFailover {
		t.Fatal("never failed over from the bad key")
	}

	// models[] fallbacks: first model's provider fails with 500 → next model
	e.fake.SetOptions(fakeprovider.Options{})
	e.fake.Reset()
	resp := e.post("/v1/chat/completions", `{"model":"openai:gpt-4o","models":["gpt-4o-mini"],"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + e.token})
	b := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	for _, r := range e.fake.Requests() {
		var v map[string]json.RawMessage
		mustJSON(t, r.Body, &v)
		if _, ok := v["models"]; ok {
			t.Fatal("models[] forwarded upstream")
		}
	}
}

func TestAllProvidersFailed(t *testing.T) {
	e := start(t, cfgOpts{})
	e.fake.SetOptions(fakeprovider.Options{FailStatus: 503})
	resp := e.post("/v1/chat/completions", `{"model":"gpt-4o","models":["gpt-4o-mini"],"messages":[]}`, e.bearer())
	b := readAll(t, resp)
	var v struct {
		Error struct {
			Code     string
			Attempts []struct {
				Provider, Model string
				Status          int
			}
		}
	}
	mustJSON(t, b, &v)
	if resp.StatusCode != http.StatusBadGateway || v.Error.Code != "all_providers_failed" || len(v.Error.Attempts) != 2 || v.Error.Attempts[1].Status != 503 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if resp.Header.Get("AI-Gateway-Attempts") != "2" {
		t.Fatalf("attempts header %q", resp.Header.Get("AI-Gateway-Attempts"))
	}
}
