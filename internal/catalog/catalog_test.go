package catalog

import (
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

func TestBuiltInsComplete(t *testing.T) {
	want := map[string]Format{"openai": OpenAI, "anthropic": Anthropic, "google": Gemini, "deepseek": OpenAI,
		"groq": OpenAI, "mistral": OpenAI, "xai": OpenAI, "openrouter": OpenAI, "minimax": OpenAI, "qwen": OpenAI}
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

func TestCostEachTokenOnce(t *testing.T) {
	pr := func(s string) Price { p, _ := money.ParsePerMillion(s); return &p }
	p := Pricing{Input: pr("3"), Output: pr("15"), CacheRead: pr("0.30"), CacheWrite: pr("3.75")}
	// 1M each bucket: 3 + 0.30 + 3.75 + 15 = 22.05 USD
	c, ok := p.Cost(1_000_000, 1_000_000, 1_000_000, 1_000_000, 0)
	if !ok || c != 22_050_000_000 {
		t.Fatalf("cost %d", c)
	}
	// reasoning inside output, no reasoning price: priced as output, once
	c, _ = p.Cost(0, 0, 0, 1_000_000, 400_000)
	if c != 15_000_000_000 {
		t.Fatalf("reasoning cost %d", c)
	}
	// cache prices default to input
	q := Pricing{Input: pr("1"), Output: pr("2")}
	c, _ = q.Cost(0, 1_000_000, 1_000_000, 0, 0)
	if c != 2_000_000_000 {
		t.Fatalf("default cache cost %d", c)
	}
	if _, ok := (Pricing{Input: pr("1")}).Cost(1, 0, 0, 1, 0); ok {
		t.Fatal("unpriced output reported as priced")
	}
}
