package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestPresetProviders: the OpenAI-compatible presets (Groq, Mistral, xAI,
// OpenRouter, MiniMax, Qwen) are listed with their models and prices; one
// given a key, with its base_url pointed at the fake, serves requests by
// its catalog models, bare or provider-qualified, slashes in the model id
// included, and prices them from the catalog.
func TestPresetProviders(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: `provider groq {
			api_key gsk-managed-groq-0123456789
			base_url ` + e.fakeURL + `/groq/openai/v1
		}
		provider openrouter {
			api_key sk-or-managed-0123456789
			base_url ` + e.fakeURL + `/openrouter/api/v1
		}`}))

	st, b := e.admin("GET", "/ai/providers", "")
	if st != http.StatusOK {
		t.Fatalf("providers: %d %s", st, b)
	}
	var providers struct {
		Providers []struct {
			ProviderID, Format, BaseURL string
			ManagedKeys                 bool
			Models                      []struct{ ID string }
		}
	}
	mustJSON(t, b, &providers)
	listed := map[string]bool{}
	for _, p := range providers.Providers {
		listed[p.ProviderID] = true
		switch p.ProviderID {
		case "groq":
			if !p.ManagedKeys || p.BaseURL != e.fakeURL+"/groq/openai/v1" || p.Format != "openai" {
				t.Errorf("groq listed as %+v", p)
			}
		case "xai":
			if p.ManagedKeys || p.BaseURL != "https://api.x.ai/v1" || len(p.Models) == 0 {
				t.Errorf("xai listed as %+v", p)
			}
		}
	}
	for _, id := range []string{"groq", "mistral", "xai", "openrouter", "minimax", "qwen"} {
		if !listed[id] {
			t.Errorf("preset %s not in /ai/providers", id)
		}
	}
	st, b = e.admin("GET", "/ai/models", "")
	if st != http.StatusOK {
		t.Fatalf("models: %d %s", st, b)
	}
	var models struct {
		Models []struct {
			ID     string
			Priced bool
		}
	}
	mustJSON(t, b, &models)
	priced := map[string]bool{}
	for _, m := range models.Models {
		priced[m.ID] = m.Priced
	}
	for _, id := range []string{"groq:llama-3.3-70b-versatile", "mistral:mistral-large-latest", "xai:grok-4-1-fast-reasoning",
		"openrouter:openai/gpt-5", "minimax:MiniMax-M2.7", "qwen:qwen-plus"} {
		if !priced[id] {
			t.Errorf("%s not listed priced in /ai/models", id)
		}
	}

	for _, tt := range []struct{ model, provider, path, key string }{
		{"groq:llama-3.3-70b-versatile", "groq", "/groq/openai/v1/chat/completions", "gsk-managed-groq-0123456789"},
		{"llama-3.3-70b-versatile", "groq", "/groq/openai/v1/chat/completions", "gsk-managed-groq-0123456789"},
		{"openrouter:openai/gpt-5", "openrouter", "/openrouter/api/v1/chat/completions", "sk-or-managed-0123456789"},
	} {
		t.Run(tt.model, func(t *testing.T) {
			e.fake.Reset()
			resp := e.post("/v1/chat/completions", `{"model":"`+tt.model+`","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("AI-Gateway-Provider") != tt.provider {
				t.Fatalf("%d %v: %s", resp.StatusCode, resp.Header, body)
			}
			var v struct {
				Choices []struct{ Message struct{ Content string } }
			}
			if json.Unmarshal(body, &v) != nil || len(v.Choices) == 0 || v.Choices[0].Message.Content == "" {
				t.Fatalf("answer %s", body)
			}
			reqs := e.fake.Requests()
			if len(reqs) != 1 || reqs[0].Path != tt.path || reqs[0].Header.Get("Authorization") != "Bearer "+tt.key {
				t.Fatalf("upstream requests %+v", reqs)
			}
			model := tt.model[strings.Index(tt.model, ":")+1:]
			if !strings.Contains(string(reqs[0].Body), `"model":"`+model+`"`) {
				t.Fatalf("upstream body %s", reqs[0].Body)
			}
			evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)
			if evs[0].ProviderID != tt.provider || evs[0].Model != model || evs[0].Cost <= 0 || evs[0].UsageEstimated {
				t.Fatalf("usage %+v", evs[0])
			}
		})
	}
}
