package caddyaigateway

import (
	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
)

// ProviderConfig configures one provider in the `ai` app: a built-in (the
// catalog's openai, anthropic, google, deepseek, groq, mistral, xai,
// openrouter, minimax and qwen) to give it managed keys, another base_url
// or model overrides, or a custom provider (any other id).
type ProviderConfig struct {
	// ID names the provider in model references (`<id>:<model>`).
	// Required; case-insensitive, without ':', '/' or spaces, and each id
	// configured at most once.
	ID string `json:"id"`

	// Name is a display name. Default: the built-in's name, or the ID.
	Name string `json:"name,omitempty"`

	// Format is the provider's wire format: `openai`, `anthropic` or
	// `gemini` (Google's generateContent API). Required for custom
	// providers. A built-in keeps its own format (google's is gemini, the
	// others' as their names say) unless set to another it also serves:
	// `format openai` on google calls its OpenAI-compatible endpoint.
	// Requests of any API shape (chat, responses, messages, gemini) are
	// translated to it.
	Format string `json:"format,omitempty"`

	// BaseURL is what the provider's own SDK takes as base URL, an http(s)
	// URL: with /v1 for OpenAI-format providers, without it for Anthropic-
	// and Gemini-format ones; the gateway appends the endpoint path. A
	// trailing slash is dropped; placeholders (`{env.*}`) are resolved at
	// provision. Required for custom providers; overrides a built-in's.
	BaseURL string `json:"base_url,omitempty"`

	// APIKeys are the operator's managed keys for this provider. Each
	// request starts at the next key in turn, so load spreads over them,
	// and fails over to the others; a key the provider refused cools down
	// and goes last. Use placeholders (`{env.OPENAI_API_KEY}`) so the keys
	// never appear in Caddy's config API; keys that resolve to an empty
	// string are ignored. Default: none, and then a built-in serves only
	// customer (BYOK) keys, while a custom provider is called without a
	// credential (a local Ollama or vLLM).
	APIKeys []string `json:"api_keys,omitempty"`

	// Models overrides built-in catalog entries of the same id (the fields
	// set replace the catalog's) and adds models.
	Models []*ModelConfig `json:"models,omitempty"`
}

// ModelConfig is a model's catalog entry. Prices are USD per 1M tokens as
// non-negative decimal strings ("0.15", at most nine decimals); "0" is an
// explicit price, an empty one is unset and keeps the catalog's. A model
// without both an input and an output price is not served on managed keys
// to requests that pay with credits (ai_credits; 422 model_not_priced when
// nothing else can serve them).
type ModelConfig struct {
	// ID is the model id sent upstream and used in requests (`<id>` or
	// `<provider>:<id>`, case-insensitive). Required.
	ID string `json:"id"`
	// Type is `chat` (default) or `embedding`.
	Type string `json:"type,omitempty"`
	// InputPrice is the price of input tokens read from no cache, USD per
	// 1M tokens.
	InputPrice string `json:"input_price,omitempty"`
	// OutputPrice is the price of output tokens, USD per 1M tokens.
	OutputPrice string `json:"output_price,omitempty"`
	// CacheReadPrice is the price of input tokens read from the provider's
	// prompt cache, USD per 1M tokens. Default: InputPrice.
	CacheReadPrice string `json:"cache_read_price,omitempty"`
	// CacheWritePrice is the price of input tokens written to the
	// provider's prompt cache, USD per 1M tokens. Default: InputPrice.
	CacheWritePrice string `json:"cache_write_price,omitempty"`
	// ReasoningPrice is the price of the output tokens spent on reasoning,
	// USD per 1M tokens. Default: OutputPrice.
	ReasoningPrice string `json:"reasoning_price,omitempty"`
	// ContextWindow is the model's context window in tokens; it bounds
	// the credits reserved for input the gateway cannot measure. Default:
	// the catalog's, else unknown (2,000,000 is then assumed).
	ContextWindow int64 `json:"context_window,omitempty"`
	// MaxOutputTokens is the model's output limit in tokens; it caps the
	// output a request reserves credits for. Default: the catalog's, else
	// unknown.
	MaxOutputTokens int64 `json:"max_output_tokens,omitempty"`
}

// buildRegistry hands the configured providers to registry.Build,
// resolving placeholders with repl, and points the built-ins
// without keys at the demo upstream if there is one.
func buildRegistry(cfgs []*ProviderConfig, repl *caddy.Replacer, demo *demoUpstream, logger *zap.Logger) (*registry.Registry, error) {
	rcs := make([]*registry.Config, len(cfgs))
	for i, pc := range cfgs {
		rcs[i] = &registry.Config{ID: pc.ID, Name: pc.Name, Format: pc.Format, BaseURL: pc.BaseURL, APIKeys: pc.APIKeys}
		for _, mc := range pc.Models {
			m := registry.Model(*mc) // the same fields, without the JSON tags
			rcs[i].Models = append(rcs[i].Models, &m)
		}
	}
	if repl == nil {
		repl = caddy.NewEmptyReplacer()
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
