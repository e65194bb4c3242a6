// Package catalog is the gateway's knowledge of providers and their models:
// wire format, base URL, prices, context window and output limit. The
// built-in catalog is an embedded data file; the Caddyfile (and, later, the
// management API) overrides and extends it.
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Format is a provider's wire format.
type Format string

const (
	OpenAI    Format = "openai"
	Anthropic Format = "anthropic"
	Gemini    Format = "gemini" // Google's generateContent API
	// Responses is the OpenAI Responses API: not a provider's format but
	// a surface of format openai, the format of /v1/responses requests
	// and the one a provider that serves the API (Provider.Responses) is
	// called in for them and for its Responses-only models.
	Responses Format = "responses"
)

// Valid reports whether f is a known provider format.
func (f Format) Valid() bool { return f == OpenAI || f == Anthropic || f == Gemini }

// Price is a price in USD per 1M tokens; nil means "not priced", which is
// different from an explicit zero.
type Price = *money.PerMillion

// Pricing holds a model's prices. CacheRead and CacheWrite default to Input
// when unset and Reasoning to Output (see Resolve).
type Pricing struct {
	Input      Price `json:"input,omitempty"`
	Output     Price `json:"output,omitempty"`
	CacheRead  Price `json:"cacheRead,omitempty"`
	CacheWrite Price `json:"cacheWrite,omitempty"`
	Reasoning  Price `json:"reasoning,omitempty"`
}

// Priced reports whether the model has both an input and an output price.
func (p Pricing) Priced() bool { return p.Input != nil && p.Output != nil }

// Model is one model a provider serves.
type Model struct {
	ID              string            `json:"id"`
	Type            string            `json:"type,omitempty"` // "chat" (default) or "embedding"
	Pricing         Pricing           `json:"pricing"`
	ContextWindow   int64             `json:"contextWindow,omitempty"`
	MaxOutputTokens int64             `json:"maxOutputTokens,omitempty"`
	Features        []string          `json:"features,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	// ResponsesOnly: the model is served only by the Responses API (o3-pro,
	// gpt-5-pro, codex models), which chat, messages and Gemini requests
	// reach by translation.
	ResponsesOnly bool `json:"responsesOnly,omitempty"`
}

// IsEmbedding reports whether the model serves /v1/embeddings.
func (m *Model) IsEmbedding() bool { return m.Type == "embedding" }

// Provider is a provider and its models.
type Provider struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Format  Format   `json:"format"`
	BaseURL string   `json:"baseUrl"`
	Models  []*Model `json:"models"`
	// AltBaseURLs are the base URLs of the other formats a built-in
	// provider also serves (Google: an OpenAI-compatible endpoint beside
	// its own API), so `format` may switch it to one of them.
	AltBaseURLs map[Format]string `json:"altBaseUrls,omitempty"`
	// Responses: a provider of format openai that also serves the
	// Responses API (baseUrl + /responses); Responses requests pass
	// through to it untouched. Other providers get them translated to
	// their chat endpoint.
	Responses bool `json:"responses,omitempty"`
	BuiltIn   bool `json:"-"`
}

// Model finds a model by id, case-insensitively.
func (p *Provider) Model(id string) *Model {
	for _, m := range p.Models {
		if strings.EqualFold(m.ID, id) {
			return m
		}
	}
	return nil
}

// Clone returns a deep copy, so overrides never touch the built-ins.
func (p *Provider) Clone() *Provider {
	c := *p
	c.Models = make([]*Model, len(p.Models))
	for i, m := range p.Models {
		mc := *m
		c.Models[i] = &mc
	}
	return &c
}

// Upsert adds m or overrides the model with the same id. Fields set in m
// replace the existing ones; unset ones (nil prices, zero limits) keep theirs.
func (p *Provider) Upsert(m *Model) {
	old := p.Model(m.ID)
	if old == nil {
		mc := *m
		p.Models = append(p.Models, &mc)
		return
	}
	setPrice := func(dst *Price, src Price) {
		if src != nil {
			*dst = src
		}
	}
	setPrice(&old.Pricing.Input, m.Pricing.Input)
	setPrice(&old.Pricing.Output, m.Pricing.Output)
	setPrice(&old.Pricing.CacheRead, m.Pricing.CacheRead)
	setPrice(&old.Pricing.CacheWrite, m.Pricing.CacheWrite)
	setPrice(&old.Pricing.Reasoning, m.Pricing.Reasoning)
	if m.ContextWindow != 0 {
		old.ContextWindow = m.ContextWindow
	}
	if m.MaxOutputTokens != 0 {
		old.MaxOutputTokens = m.MaxOutputTokens
	}
	if m.Type != "" {
		old.Type = m.Type
	}
	if m.Features != nil {
		old.Features = m.Features
	}
	if m.Metadata != nil {
		old.Metadata = m.Metadata
	}
	if m.ResponsesOnly {
		old.ResponsesOnly = true
	}
}

//go:embed catalog.json
var builtinJSON []byte

type file struct {
	AsOf      string      `json:"asOf"`
	Providers []*Provider `json:"providers"`
}

var builtins []*Provider

func init() {
	var f file
	if err := json.Unmarshal(builtinJSON, &f); err != nil {
		panic(fmt.Sprintf("catalog: embedded catalog.json is invalid: %v", err))
	}
	for _, p := range f.Providers {
		p.BuiltIn = true
	}
	builtins = f.Providers
}

// BuiltIns returns deep copies of the built-in providers, in catalog order.
func BuiltIns() []*Provider {
	out := make([]*Provider, len(builtins))
	for i, p := range builtins {
		out[i] = p.Clone()
	}
	return out
}

// IsBuiltIn reports whether id names a built-in provider.
func IsBuiltIn(id string) bool {
	for _, p := range builtins {
		if p.ID == id {
			return true
		}
	}
	return false
}

// Cost prices a request's tokens. Every token is in exactly one bucket:
// input (neither read from nor written to a cache), cacheRead, cacheWrite,
// and output, of which reasoning is the part spent on reasoning. Cache
// prices default to the input price and the reasoning price to the output
// price when the catalog has none. ok is false when the model has no
// input or output price (cost is then 0 and must not be trusted).
func (p Pricing) Cost(input, cacheRead, cacheWrite, output, reasoning int64) (cost money.Nano, ok bool) {
	if !p.Priced() {
		return 0, false
	}
	or := func(a, b Price) money.PerMillion {
		if a != nil {
			return *a
		}
		return *b
	}
	if reasoning > output {
		reasoning = output
	}
	// Each part saturates; so does their sum: a cost never wraps negative.
	for _, c := range [...]money.Nano{
		p.Input.Cost(input),
		or(p.CacheRead, p.Input).Cost(cacheRead),
		or(p.CacheWrite, p.Input).Cost(cacheWrite),
		p.Output.Cost(output - reasoning),
		or(p.Reasoning, p.Output).Cost(reasoning),
	} {
		cost = money.SatAdd(cost, c)
	}
	return cost, true
}
