package catalog

import (
	"net/url"
	"strings"
	"testing"
)

// TestOpenAICompatiblePresets: each OpenAI-compatible preset has an https
// base URL that is its provider's own OpenAI SDK base URL (ending in the
// version path the SDK appends /chat/completions to), and well-formed,
// priced models with unique ids.
func TestOpenAICompatiblePresets(t *testing.T) {
	presets := map[string]string{
		"groq":       "https://api.groq.com/openai/v1",
		"mistral":    "https://api.mistral.ai/v1",
		"xai":        "https://api.x.ai/v1",
		"openrouter": "https://openrouter.ai/api/v1",
		"minimax":    "https://api.minimax.io/v1",
		"qwen":       "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
	}
	found := 0
	for _, p := range BuiltIns() {
		want, ok := presets[p.ID]
		if !ok {
			continue
		}
		found++
		if p.Format != OpenAI || p.BaseURL != want || p.Name == "" {
			t.Errorf("%s: format %q base URL %q name %q, want openai at %s", p.ID, p.Format, p.BaseURL, p.Name, want)
		}
		u, err := url.Parse(p.BaseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || strings.HasSuffix(p.BaseURL, "/") || u.RawQuery != "" {
			t.Errorf("%s: base URL %q is not a clean https URL", p.ID, p.BaseURL)
		}
		if len(p.Models) < 2 {
			t.Errorf("%s: %d models, want a real choice", p.ID, len(p.Models))
		}
		seen := map[string]bool{}
		for _, m := range p.Models {
			id := strings.ToLower(m.ID)
			if m.ID == "" || strings.TrimSpace(m.ID) != m.ID || strings.ContainsAny(m.ID, ": \t") || seen[id] {
				t.Errorf("%s: model id %q empty, padded, with ':' or space, or repeated", p.ID, m.ID)
			}
			seen[id] = true
			if p.Model(m.ID) != m {
				t.Errorf("%s: %s not found by id", p.ID, m.ID)
			}
			if !m.Pricing.Priced() || m.Pricing.Input.Cost(1_000_000) <= 0 {
				t.Errorf("%s:%s has no input and output price", p.ID, m.ID)
			}
			if m.Pricing.CacheRead != nil && m.Pricing.CacheRead.Cost(1_000_000) > m.Pricing.Input.Cost(1_000_000) {
				t.Errorf("%s:%s reads its cache dearer than fresh input", p.ID, m.ID)
			}
			if !m.IsEmbedding() && (m.ContextWindow <= 0 || m.MaxOutputTokens <= 0 || m.MaxOutputTokens > m.ContextWindow) {
				t.Errorf("%s:%s limits: context %d, output %d", p.ID, m.ID, m.ContextWindow, m.MaxOutputTokens)
			}
			if m.Type != "" && m.Type != "chat" && m.Type != "embedding" {
				t.Errorf("%s:%s type %q", p.ID, m.ID, m.Type)
			}
		}
	}
	if found != len(presets) {
		t.Fatalf("%d of %d presets in the catalog", found, len(presets))
	}
}
