package upstream

import (
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
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
