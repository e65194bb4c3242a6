package upstream

import (
	"errors"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
)

func TestPrepare(t *testing.T) {
	openai := &registry.Provider{Provider: &catalog.Provider{ID: "openai", Format: catalog.OpenAI}}
	anthropic := &registry.Provider{Provider: &catalog.Provider{ID: "anthropic", Format: catalog.Anthropic}}
	gpt := registry.Target{Provider: openai, Model: &catalog.Model{ID: "gpt-4o", MaxOutputTokens: 16384}, Name: "gpt-4o"}
	claude := registry.Target{Provider: anthropic, Model: &catalog.Model{ID: "claude-x", MaxOutputTokens: 8192}, Name: "claude-x"}
	for _, tc := range []struct {
		name       string
		t          registry.Target
		delivered  []byte
		path       string
		translated bool
		members    map[string]string
	}{
		{"same format", gpt, nil, "/chat/completions", false, map[string]string{"model": `"gpt-4o"`, "max_completion_tokens": "16384"}},
		{"translated", claude, nil, "/v1/messages", true, map[string]string{"model": `"claude-x"`, "max_tokens": "8192"}},
		{"continued, same format", gpt, []byte("Hello"), "/chat/completions", false, map[string]string{"model": `"gpt-4o"`, "stream_options": `{"include_usage":true}`}},
	} {
		req, err := clientreq.Parse(clientreq.Lookup("chat/completions"),
			[]byte(`{"model":"auto","models":["x"],"stream":true,"messages":[{"role":"user","content":"hi"}]}`), true)
		if err != nil {
			t.Fatal(err)
		}
		up, err := Prepare(req, tc.t, tc.delivered)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if up.Path != tc.path || up.Translated != tc.translated {
			t.Errorf("%s: path %s translated %v", tc.name, up.Path, up.Translated)
		}
		if _, ok, _ := jsonobj.Get(up.Body, "models"); ok {
			t.Errorf("%s: the gateway's models member went upstream", tc.name)
		}
		for k, want := range tc.members {
			if got, _, _ := jsonobj.Get(up.Body, k); string(got) != want {
				t.Errorf("%s: %s = %s, want %s", tc.name, k, got, want)
			}
		}
	}
}

func TestPrepareGemini(t *testing.T) {
	openai := &registry.Provider{Provider: &catalog.Provider{ID: "openai", Format: catalog.OpenAI}}
	google := &registry.Provider{Provider: &catalog.Provider{ID: "google", Format: catalog.Gemini}}
	gpt := registry.Target{Provider: openai, Model: &catalog.Model{ID: "gpt-4o", MaxOutputTokens: 16384}, Name: "gpt-4o"}
	flash := registry.Target{Provider: google, Model: &catalog.Model{ID: "gemini-2.5-flash", MaxOutputTokens: 65536}, Name: "gemini-2.5-flash"}
	stream, _, _ := clientreq.Gemini("/v1beta/models/x:streamGenerateContent")
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"models":["gpt-4o"]}`
	for _, tc := range []struct {
		name        string
		t           registry.Target
		delivered   []byte
		path, query string
		translated  bool
		has         string
	}{
		{"gemini to gemini", flash, nil, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "foo=1&alt=sse", false, `"generationConfig":{"maxOutputTokens":65536}`},
		{"gemini to openai", gpt, nil, "/chat/completions", "", true, `"stream_options":{"include_usage":true}`},
		{"gemini continued on gemini", flash, []byte("Hel"), "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "foo=1&alt=sse", false, `{"role":"model","parts":[{"text":"Hel"}]}`},
	} {
		req, err := clientreq.ParseFor(stream, "auto", []byte(body), true)
		if err != nil {
			t.Fatal(err)
		}
		req.Query = "alt=sse&foo=1"
		up, err := Prepare(req, tc.t, tc.delivered)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if up.Path != tc.path || up.Query != tc.query || up.Translated != tc.translated || !strings.Contains(string(up.Body), tc.has) {
			t.Errorf("%s: %s?%s translated %v body %s", tc.name, up.Path, up.Query, up.Translated, up.Body)
		}
		if strings.Contains(string(up.Body), `"models"`) || (!tc.translated && strings.Contains(string(up.Body), `"model":`)) {
			t.Errorf("%s: the gateway's members went upstream: %s", tc.name, up.Body)
		}
	}
	// a chat client reaching a Gemini provider
	req, _ := clientreq.Parse(clientreq.Lookup("chat/completions"), []byte(`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`), true)
	up, err := Prepare(req, flash, nil)
	if err != nil || up.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || up.Query != "alt=sse" || !up.Translated ||
		!strings.Contains(string(up.Body), `"maxOutputTokens":65536`) {
		t.Fatalf("chat to gemini: %v %+v %s", err, up, up.Body)
	}
}

// Responses requests pass through to a provider that serves the API and
// are translated for the others; Responses-only models are called in it
// whatever the client speaks; state only OpenAI keeps cannot be carried.
func TestPrepareResponses(t *testing.T) {
	openai := &registry.Provider{Provider: &catalog.Provider{ID: "openai", Format: catalog.OpenAI, Responses: true}}
	deepseek := &registry.Provider{Provider: &catalog.Provider{ID: "deepseek", Format: catalog.OpenAI}}
	anthropic := &registry.Provider{Provider: &catalog.Provider{ID: "anthropic", Format: catalog.Anthropic}}
	gpt := registry.Target{Provider: openai, Model: &catalog.Model{ID: "gpt-4o", MaxOutputTokens: 16384}, Name: "gpt-4o"}
	pro := registry.Target{Provider: openai, Model: &catalog.Model{ID: "gpt-5-pro", MaxOutputTokens: 272000, ResponsesOnly: true}, Name: "gpt-5-pro"}
	chatOnly := registry.Target{Provider: deepseek, Model: &catalog.Model{ID: "deepseek-chat", MaxOutputTokens: 8192}, Name: "deepseek-chat"}
	claude := registry.Target{Provider: anthropic, Model: &catalog.Model{ID: "claude-x", MaxOutputTokens: 8192}, Name: "claude-x"}
	responses := clientreq.Lookup("responses")
	chat := clientreq.Lookup("chat/completions")
	for _, tc := range []struct {
		name       string
		ep         *clientreq.Endpoint
		body       string
		t          registry.Target
		path       string
		translated bool
		members    map[string]string
	}{
		{"responses to openai", responses, `{"model":"gpt-4o","input":"hi","previous_response_id":"resp_1"}`, gpt, "/responses", false,
			map[string]string{"previous_response_id": `"resp_1"`, "max_output_tokens": "16384"}},
		{"responses to a chat-only provider", responses, `{"model":"deepseek-chat","input":"hi","stream":true}`, chatOnly, "/chat/completions", true,
			map[string]string{"max_completion_tokens": "8192", "stream_options": `{"include_usage":true}`}},
		{"responses to anthropic", responses, `{"model":"claude-x","input":"hi"}`, claude, "/v1/messages", true,
			map[string]string{"max_tokens": "8192", "messages": `[{"role":"user","content":"hi"}]`}},
		{"chat to a responses-only model", chat, `{"model":"gpt-5-pro","messages":[{"role":"user","content":"hi"}]}`, pro, "/responses", true,
			map[string]string{"input": `[{"role":"user","content":"hi"}]`, "store": "false", "max_output_tokens": "272000"}},
		{"responses to a responses-only model", responses, `{"model":"gpt-5-pro","input":"hi"}`, pro, "/responses", false,
			map[string]string{"input": `"hi"`}},
	} {
		req, err := clientreq.Parse(tc.ep, []byte(tc.body), true)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		up, err := Prepare(req, tc.t, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if up.Path != tc.path || up.Translated != tc.translated {
			t.Errorf("%s: path %s translated %v", tc.name, up.Path, up.Translated)
		}
		for k, want := range tc.members {
			if got, _, _ := jsonobj.Get(up.Body, k); string(got) != want {
				t.Errorf("%s: %s = %s, want %s\n%s", tc.name, k, got, want, up.Body)
			}
		}
	}

	req, err := clientreq.Parse(responses, []byte(`{"model":"claude-x","input":"hi","previous_response_id":"resp_1"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []registry.Target{claude, chatOnly} {
		_, err = Prepare(req, target, nil)
		if se := (*translate.StateError)(nil); !errors.As(err, &se) || se.Param != "previous_response_id" {
			t.Errorf("%s: err %v, want a StateError", target.Ref(), err)
		}
	}

	// A stalled Responses answer continues as a Responses request, and
	// translated as such.
	req, err = clientreq.Parse(responses, []byte(`{"model":"claude-x","input":"Count","stream":true}`), true)
	if err != nil {
		t.Fatal(err)
	}
	up, err := Prepare(req, claude, []byte("1, 2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := jsonobj.Get(up.Body, "messages"); string(got) != `[{"role":"user","content":"Count"},{"role":"assistant","content":"1, 2"}]` {
		t.Errorf("continuation %s", up.Body)
	}
}
