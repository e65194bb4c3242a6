package caddyaigateway

import (
	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
)

// ProviderConfig configures one provider in the `ai` app: a built-in
// (openai, anthropic, google, deepseek) to give it managed keys, another
// base_url or model overrides, or a custom provider.
type ProviderConfig struct {
	// ID names the provider in model references (`<id>:<model>`).
	ID string `json:"id"`

	// Name is a display name. Default: the built-in's name, or the ID.
	Name string `json:"name,omitempty"`

	// Format is the wire format: `openai` or `anthropic`. Required for
	// custom providers; fixed for built-ins.
	Format string `json:"format,omitempty"`

	// BaseURL is what the provider's own SDK takes as base URL: with /v1
	// for OpenAI-format providers, without it for Anthropic-format ones.
	// Required for custom providers; overrides a built-in's.
	BaseURL string `json:"base_url,omitempty"`

	// APIKeys are the operator's managed keys for this provider, tried in
	// order. Use placeholders (`{env.OPENAI_API_KEY}`) so the keys never
	// appear in Caddy's config API. Keys that resolve to an empty string
	// are ignored.
	APIKeys []string `json:"api_keys,omitempty"`

	// Models overrides built-in catalog entries (fields set replace the
	// catalog's) and adds models.
	Models []*ModelConfig `json:"models,omitempty"`
}

// ModelConfig is a model's catalog entry. Prices are USD per 1M tokens as
// decimal strings ("0.15"); "0" is an explicit price, absence is not.
type ModelConfig struct {
	ID string `json:"id"`
	// Type is `chat` (default) or `embedding`.
	Type            string `json:"type,omitempty"`
	InputPrice      string `json:"input_price,omitempty"`
	OutputPrice     string `json:"output_price,omitempty"`
	CacheReadPrice  string `json:"cache_read_price,omitempty"`
	CacheWritePrice string `json:"cache_write_price,omitempty"`
	ReasoningPrice  string `json:"reasoning_price,omitempty"`
	// ContextWindow is the model's context window in tokens.
	ContextWindow int64 `json:"context_window,omitempty"`
	// MaxOutputTokens is the model's output limit in tokens.
	MaxOutputTokens int64 `json:"max_output_tokens,omitempty"`
}

// buildRegistry applies the configured providers to the built-ins,
// resolving placeholders with repl, and points the built-ins without keys
// at the demo upstream if there is one.
func buildRegistry(cfgs []*ProviderConfig, repl *caddy.Replacer, demo *demoUpstream, logger *zap.Logger) (*registry.Registry, error) {
	if repl == nil {
		repl = caddy.NewEmptyReplacer()
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	rcs := make([]*registry.Config, len(cfgs))
	for i, pc := range cfgs {
		rc := &registry.Config{ID: pc.ID, Name: pc.Name, Format: pc.Format, BaseURL: pc.BaseURL, APIKeys: pc.APIKeys}
		for _, mc := range pc.Models {
			m := registry.Model(*mc) // the same fields, without the JSON tags
			rc.Models = append(rc.Models, &m)
		}
		rcs[i] = rc
	}
	r, err := registry.Build(rcs, func(s string) string { return repl.ReplaceAll(s, "") })
	if err != nil {
		return nil, err
	}
	if demo != nil {
		if names := r.UseDemo(demo.baseURL); len(names) > 0 {
			logger.Warn("demo_upstream: these providers have no api_key and are answered by the built-in fake provider",
				zap.Strings("providers", names), zap.String("address", demo.addr))
		}
	}
	return r, nil
}

// effectiveRegistry caches the registry of one snapshot version.
type effectiveRegistry struct {
	version uint64
	reg     *registry.Registry
}

// AllProviders returns every provider requests can use right now: built-ins,
// Caddyfile providers and those added through the API.
func (a *App) AllProviders() []*registry.Provider {
	return a.registryFor(a.shared.Manage.Snapshot()).Providers()
}

// registryFor returns the Caddyfile's providers plus those of the
// management API in snapshot st.
func (a *App) registryFor(st *manage.Snapshot) *registry.Registry {
	if len(st.Providers) == 0 {
		return a.registry
	}
	if e := a.eff.Load(); e != nil && e.version == st.Version {
		return e.reg
	}
	reg := a.registry.WithCustom(st.Providers)
	a.eff.Store(&effectiveRegistry{version: st.Version, reg: reg})
	return reg
}
