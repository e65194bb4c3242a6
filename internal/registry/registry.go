// Package registry holds the providers of one configuration: the built-in
// catalog's, those configured in the Caddyfile and those added through the
// management API, with their managed keys; Resolve turns a request's model
// reference into the (provider, model) targets that may serve it.
package registry

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Config is one configured provider: a built-in to give it managed keys,
// another base URL or model overrides, or a custom provider.
type Config struct {
	ID      string
	Name    string
	Format  string
	BaseURL string   // placeholders resolved by Build's replace
	APIKeys []string // placeholders resolved by Build's replace
	Models  []*Model
}

// Model is a model's catalog entry as configured: prices are USD per 1M
// tokens as decimal strings ("0.15"); "0" is an explicit price, absence is
// not.
type Model struct {
	ID              string
	Type            string
	InputPrice      string
	OutputPrice     string
	CacheReadPrice  string
	CacheWritePrice string
	ReasoningPrice  string
	ContextWindow   int64
	MaxOutputTokens int64
}

// Provider is a configured provider ready to serve.
type Provider struct {
	*catalog.Provider
	keys []string // managed keys; never logged
	next atomic.Uint32
	demo bool // answered by the demo upstream
	// keyless: a custom provider with no api_key (a local Ollama, vLLM…):
	// requests go out without a credential.
	keyless bool

	// refs caches "provider:model" of the catalog's models (Target.Ref,
	// read on every request), copied on write.
	refs   atomic.Pointer[map[string]string]
	refsMu sync.Mutex
}

// ref returns p's "provider:name" for a catalog model of p, built once.
func (p *Provider) ref(name string) string {
	if m := p.refs.Load(); m != nil {
		if r, ok := (*m)[name]; ok {
			return r
		}
	}
	p.refsMu.Lock()
	defer p.refsMu.Unlock()
	old := p.refs.Load()
	m := make(map[string]string, 1)
	if old != nil {
		if r, ok := (*old)[name]; ok {
			return r
		}
		m = make(map[string]string, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	}
	r := p.ID + ":" + name
	m[name] = r
	p.refs.Store(&m)
	return r
}

// HasManagedKeys reports whether requests can use the operator's side:
// configured keys, or a keyless custom provider.
func (p *Provider) HasManagedKeys() bool { return len(p.keys) > 0 || p.keyless }

var noCredential = []string{""}

// ManagedKeys returns the managed keys in configured order.
func (p *Provider) ManagedKeys() []string {
	if len(p.keys) == 0 && p.keyless {
		return noCredential
	}
	return p.keys
}

// RotateManaged starts p's managed keys among choices (managed tells which
// are) at a rotating offset, so load spreads over several keys. Called once
// per request.
func RotateManaged[K any](p *Provider, choices []K, managed func(K) bool) []K {
	n := len(p.keys)
	if n <= 1 {
		return choices
	}
	start := int(p.next.Add(1)-1) % n
	out := make([]K, 0, len(choices))
	for i := 0; i < len(choices); i++ {
		if !managed(choices[i]) || i+n > len(choices) {
			out = append(out, choices[i])
			continue
		}
		run := choices[i : i+n]
		out = append(out, run[start:]...)
		out = append(out, run[:start]...)
		i += n - 1
	}
	return out
}

// Registry is the set of providers of one configuration, in lookup order:
// built-ins first (catalog order), then custom providers in config order.
type Registry struct {
	providers []*Provider
	byID      map[string]*Provider
}

// Providers returns the providers in lookup order.
func (r *Registry) Providers() []*Provider { return r.providers }

// Provider returns a provider by id.
func (r *Registry) Provider(id string) *Provider { return r.byID[strings.ToLower(id)] }

// Build returns the built-in providers with cfgs applied; replace resolves
// placeholders in base URLs and keys (nil: none).
func Build(cfgs []*Config, replace func(string) string) (*Registry, error) {
	if replace == nil {
		replace = func(s string) string { return s }
	}
	r := &Registry{byID: map[string]*Provider{}}
	for _, cp := range catalog.BuiltIns() {
		p := &Provider{Provider: cp}
		r.providers = append(r.providers, p)
		r.byID[p.ID] = p
	}
	configured := map[string]bool{}
	for _, pc := range cfgs {
		id := strings.ToLower(strings.TrimSpace(pc.ID))
		if id == "" || strings.ContainsAny(id, ": \t/") {
			return nil, fmt.Errorf("provider %q: id must be non-empty without ':', '/' or spaces", pc.ID)
		}
		if configured[id] {
			return nil, fmt.Errorf("provider %s is configured twice (ids are case-insensitive)", id)
		}
		configured[id] = true
		p := r.byID[id]
		if p == nil {
			if pc.Format == "" || pc.BaseURL == "" {
				return nil, fmt.Errorf("provider %s: custom providers need format and base_url", id)
			}
			p = &Provider{Provider: &catalog.Provider{ID: id, Name: id}}
			r.providers = append(r.providers, p)
			r.byID[id] = p
		} else if f := catalog.Format(pc.Format); pc.Format != "" && f != p.Format {
			// A built-in speaks its own format, or another it also serves
			// (Google's OpenAI-compatible endpoint), at that format's URL.
			alt, ok := p.AltBaseURLs[f]
			if !ok {
				return nil, fmt.Errorf("provider %s: the format of a built-in provider is %s", id, p.Format)
			}
			p.BaseURL = alt
			p.AltBaseURLs = nil
		}
		if pc.Format != "" {
			if !catalog.Format(pc.Format).Valid() {
				return nil, fmt.Errorf("provider %s: format must be openai, anthropic or gemini, not %q", id, pc.Format)
			}
			p.Format = catalog.Format(pc.Format)
		}
		if pc.Name != "" {
			p.Name = pc.Name
		}
		if pc.BaseURL != "" {
			base := replace(pc.BaseURL)
			u, err := url.Parse(base)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("provider %s: base_url must be an http(s) URL, got %q", id, base)
			}
			p.BaseURL = strings.TrimRight(base, "/")
			p.AltBaseURLs = nil // its other formats' URLs belong to the old base
		}
		for _, k := range pc.APIKeys {
			if v := strings.TrimSpace(replace(k)); v != "" {
				p.keys = append(p.keys, v)
			}
		}
		for _, mc := range pc.Models {
			m, err := mc.toModel()
			if err != nil {
				return nil, fmt.Errorf("provider %s: %w", id, err)
			}
			p.Upsert(m)
		}
	}
	for _, p := range r.providers {
		p.keyless = !p.BuiltIn && len(p.keys) == 0
		if !p.BuiltIn {
			// An OpenAI-compatible server of the operator's (vLLM,
			// Ollama...) is trusted with Responses requests, as before
			// they could be translated.
			p.Responses = p.Format == catalog.OpenAI
		}
	}
	return r, nil
}

// UseDemo points the built-in providers without keys at the demo upstream
// (baseURL gives its URL for a format) and returns their ids.
func (r *Registry) UseDemo(baseURL func(catalog.Format) string) []string {
	var names []string
	for _, p := range r.providers {
		if p.BuiltIn && len(p.keys) == 0 {
			p.demo = true
			p.keys = []string{"demo-upstream-key"}
			p.BaseURL = baseURL(p.Format)
			if p.AltBaseURLs != nil {
				alt := make(map[catalog.Format]string, len(p.AltBaseURLs))
				for f := range p.AltBaseURLs {
					alt[f] = baseURL(f)
				}
				p.AltBaseURLs = alt
			}
			names = append(names, p.ID)
		}
	}
	return names
}

func (mc *Model) toModel() (*catalog.Model, error) {
	if strings.TrimSpace(mc.ID) == "" {
		return nil, fmt.Errorf("model without id")
	}
	m := &catalog.Model{ID: mc.ID, Type: mc.Type, ContextWindow: mc.ContextWindow, MaxOutputTokens: mc.MaxOutputTokens}
	if m.Type != "" && m.Type != "chat" && m.Type != "embedding" {
		return nil, fmt.Errorf("model %s: type must be chat or embedding", mc.ID)
	}
	for _, f := range []struct {
		name string
		src  string
		dst  *catalog.Price
	}{
		{"input_price", mc.InputPrice, &m.Pricing.Input},
		{"output_price", mc.OutputPrice, &m.Pricing.Output},
		{"cache_read_price", mc.CacheReadPrice, &m.Pricing.CacheRead},
		{"cache_write_price", mc.CacheWritePrice, &m.Pricing.CacheWrite},
		{"reasoning_price", mc.ReasoningPrice, &m.Pricing.Reasoning},
	} {
		if f.src == "" {
			continue
		}
		p, err := money.ParsePerMillion(f.src)
		if err != nil {
			return nil, fmt.Errorf("model %s: %s: %w", mc.ID, f.name, err)
		}
		*f.dst = &p
	}
	return m, nil
}

// WithCustom returns a registry with the providers added through the
// management API appended; a Caddyfile provider of the same id wins.
func (r *Registry) WithCustom(cps []*manage.CustomProvider) *Registry {
	out := &Registry{providers: slices.Clone(r.providers), byID: maps.Clone(r.byID)}
	for _, cp := range cps {
		if out.byID[cp.ProviderID] != nil {
			continue
		}
		models := make([]*catalog.Model, len(cp.Models))
		for i, m := range cp.Models {
			mc := *m
			models[i] = &mc
		}
		p := &Provider{Provider: &catalog.Provider{ID: cp.ProviderID, Name: cp.Name, Format: cp.Format, BaseURL: cp.BaseURL, Models: models,
			Responses: servesResponses(cp)}, keyless: true}
		out.providers = append(out.providers, p)
		out.byID[p.ID] = p
	}
	return out
}

// servesResponses reports whether a custom provider takes Responses
// requests as they are: one of format openai that declares the responses
// surface, or declares no surfaces at all.
func servesResponses(cp *manage.CustomProvider) bool {
	if cp.Format != catalog.OpenAI {
		return false
	}
	if len(cp.SupportedAPISurfaces) == 0 {
		return true
	}
	for _, sf := range cp.SupportedAPISurfaces {
		if sf.Format == catalog.OpenAI && sf.Surface == "responses" {
			return true
		}
	}
	return false
}

// Target is one (provider, model) pair a request may be served by.
type Target struct {
	Provider *Provider
	// Model is the catalog entry; nil for a model the catalog does not know
	// that was named with an explicit provider (passed through unpriced).
	Model *catalog.Model
	// Name is the model id sent upstream.
	Name string
}

// Ref is how the target is named in headers and usage: provider:model.
func (t Target) Ref() string {
	if t.Model != nil && t.Model.ID == t.Name {
		return t.Provider.ref(t.Name) // a catalog model: bounded, cached
	}
	return t.Provider.ID + ":" + t.Name // a pass-through name: the client's choice
}

// Refs are the Refs of ts, in order.
func Refs(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Ref()
	}
	return out
}

// Resolve turns a model reference from a request into targets:
// `gpt-4o` (every provider whose catalog has it, in registry order),
// `openai:gpt-4o` (that provider; an unknown model passes through),
// `ollama:llama3.2`. Names are case-insensitive. A prefix that is not a
// provider id is part of the model name (`llama3.2:latest`).
func (r *Registry) Resolve(ref string) []Target {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil
	}
	if pid, name, ok := strings.Cut(ref, ":"); ok {
		if p := r.Provider(pid); p != nil && name != "" {
			if m := p.Model(name); m != nil {
				return []Target{{Provider: p, Model: m, Name: m.ID}}
			}
			return []Target{{Provider: p, Name: name}}
		}
	}
	var out []Target
	for _, p := range r.providers {
		if m := p.Model(ref); m != nil {
			out = append(out, Target{Provider: p, Model: m, Name: m.ID})
		}
	}
	return out
}
