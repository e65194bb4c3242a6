package catalog

import (
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

func TestBuiltInsComplete(t *testing.T) {
	want := map[string]Format{"openai": OpenAI, "anthropic": Anthropic, "google": OpenAI, "deepseek": OpenAI}
	got := BuiltIns()
	if len(got) != len(want) {
		t.Fatalf("%d providers", len(got))
	}
	for _, p := range got {
		if want[p.ID] != p.Format || p.BaseURL == "" || !p.BuiltIn {
			t.Errorf("provider %+v", p)
		}
		if len(p.Models) == 0 {
			t.Errorf("%s has no models", p.ID)
		}
		for _, m := range p.Models {
			if !m.Pricing.Priced() {
				t.Errorf("%s:%s unpriced", p.ID, m.ID)
			}
			if m.ContextWindow <= 0 {
				t.Errorf("%s:%s has no context window", p.ID, m.ID)
			}
			if !m.IsEmbedding() && m.MaxOutputTokens <= 0 {
				t.Errorf("%s:%s has no output limit", p.ID, m.ID)
			}
		}
	}
}

func TestUpsertOverridesWithoutTouchingBuiltIns(t *testing.T) {
	p := BuiltIns()[0]
	price, _ := money.ParsePerMillion("9.99")
	p.Upsert(&Model{ID: "GPT-4O", Pricing: Pricing{Input: &price}})
	m := p.Model("gpt-4o")
	if *m.Pricing.Input != price || m.Pricing.Output == nil || m.ContextWindow != 128000 {
		t.Fatalf("override wrong: %+v", m)
	}
	if *BuiltIns()[0].Model("gpt-4o").Pricing.Input == price {
		t.Fatal("override leaked into the built-in catalog")
	}
	p.Upsert(&Model{ID: "my-finetune"})
	if p.Model("my-finetune") == nil || p.Model("my-finetune").Pricing.Priced() {
		t.Fatal("new model not added unpriced")
	}
}
