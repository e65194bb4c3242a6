package admin

import (
	"net/http"
	"strings"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
)

func init() {
	handle("GET /ai/providers", listProviders)
	handle("GET /ai/providers/{id}", getProvider)
	handle("POST /ai/providers", create(func(s *manage.Service, p manage.Patch) (any, error) {
		cp, err := s.CreateCustomProvider(p)
		return viewCustomProvider(cp), err
	}))
	handle("PATCH /ai/providers/{id}", update(func(s *manage.Service, id string, p manage.Patch) (any, error) {
		cp, err := s.UpdateCustomProvider(id, p)
		return viewCustomProvider(cp), err
	}))
	handle("DELETE /ai/providers/{id}", remove((*manage.Service).DeleteCustomProvider))

	handle("POST /ai/provider-keys", create(func(s *manage.Service, p manage.Patch) (any, error) {
		k, err := s.CreateProviderKey(p)
		return viewProviderKey(k), err
	}))
	handle("GET /ai/provider-keys", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		return listPage(w, r, "providerKeys", "/ai/provider-keys", mapViews(a.Manage().ProviderKeys(), viewProviderKey), func(v providerKey) string { return v.ID })
	})
	handle("GET /ai/provider-keys/{id}", get(func(s *manage.Service, id string) (any, error) {
		k, err := s.ProviderKey(id)
		return viewProviderKey(k), err
	}))
	handle("PATCH /ai/provider-keys/{id}", update(func(s *manage.Service, id string, p manage.Patch) (any, error) {
		k, err := s.UpdateProviderKey(id, p)
		return viewProviderKey(k), err
	}))
	handle("POST /ai/provider-keys/{id}/rotate", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		p, err := readPatch(r)
		if err != nil {
			return err
		}
		k, err := a.Manage().RotateProviderKey(r.PathValue("id"), p)
		if err != nil {
			return storeError(err)
		}
		return writeJSON(w, http.StatusOK, viewProviderKey(k))
	})
	handle("DELETE /ai/provider-keys/{id}", remove((*manage.Service).DeleteProviderKey))

	handle("GET /ai/models", listModels)
}

// providerKey never carries the secret: only keyRedacted.
type providerKey struct {
	ID          string     `json:"id"`
	URI         string     `json:"uri"`
	ProviderID  string     `json:"providerId"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	AccountID   string     `json:"accountId"`
	KeyRedacted string     `json:"keyRedacted"`
	LastUsed    *time.Time `json:"lastUsed"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

func viewProviderKey(k *manage.ProviderKey) providerKey {
	if k == nil {
		return providerKey{}
	}
	return providerKey{ID: k.ID, URI: "/ai/provider-keys/" + k.ID, ProviderID: k.ProviderID, Name: k.Name, Description: k.Description,
		AccountID: k.AccountID, KeyRedacted: k.KeyRedacted, LastUsed: k.LastUsed, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}
}

// provider is a provider as listed: built-ins and Caddyfile providers are
// read-only (their id is the providerId); API ones have a `prov_` id.
// supportedApiSurfaces and models[].modelId are ngrok.ai's shape.
type provider struct {
	ID                   string              `json:"id"`
	URI                  string              `json:"uri"`
	ProviderID           string              `json:"providerId"`
	Name                 string              `json:"name"`
	Description          string              `json:"description"`
	Format               catalog.Format      `json:"format"`
	BaseURL              string              `json:"baseUrl"`
	SupportedAPISurfaces []manage.APISurface `json:"supportedApiSurfaces"`
	Metadata             string              `json:"metadata,omitempty"`
	Source               string              `json:"source"` // built-in | caddyfile | api
	ReadOnly             bool                `json:"readOnly"`
	ManagedKeys          bool                `json:"managedKeys"` // the operator configured keys (or none are needed)
	Models               []providerModel     `json:"models"`
	CreatedAt            *time.Time          `json:"createdAt,omitempty"`
	UpdatedAt            *time.Time          `json:"updatedAt,omitempty"`
}

// providerModel is a catalog model with its id also as ngrok.ai's
// modelId.
type providerModel struct {
	*catalog.Model
	ModelID string `json:"modelId"`
}

func viewModels(ms []*catalog.Model) []providerModel {
	out := make([]providerModel, 0, len(ms))
	for _, m := range ms {
		out = append(out, providerModel{Model: m, ModelID: m.ID})
	}
	return out
}

// formatSurfaces are the API surfaces a provider of a format serves when
// it does not list its own.
var formatSurfaces = map[catalog.Format][]string{
	catalog.OpenAI:    {"chat-completions", "embeddings"},
	catalog.Anthropic: {"messages"},
}

func surfacesOf(f catalog.Format, declared []manage.APISurface) []manage.APISurface {
	if len(declared) > 0 {
		return declared
	}
	out := []manage.APISurface{}
	for _, s := range formatSurfaces[f] {
		out = append(out, manage.APISurface{Format: f, Surface: s})
	}
	return out
}

func viewCustomProvider(cp *manage.CustomProvider) provider {
	if cp == nil {
		return provider{}
	}
	return provider{ID: cp.ID, URI: "/ai/providers/" + cp.ID, ProviderID: cp.ProviderID, Name: cp.Name, Description: cp.Description,
		Format: cp.Format, BaseURL: cp.BaseURL, SupportedAPISurfaces: surfacesOf(cp.Format, cp.SupportedAPISurfaces), Metadata: cp.Metadata,
		Source: "api", ManagedKeys: true, Models: viewModels(cp.Models), CreatedAt: &cp.CreatedAt, UpdatedAt: &cp.UpdatedAt}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func configuredProviders(a *caddyaigateway.App) []provider {
	var out []provider
	for _, p := range a.Registry().Providers() {
		src := "caddyfile"
		if p.BuiltIn {
			src = "built-in"
		}
		out = append(out, provider{ID: p.ID, URI: "/ai/providers/" + p.ID, ProviderID: p.ID, Name: p.Name, Format: p.Format,
			BaseURL: p.BaseURL, SupportedAPISurfaces: surfacesOf(p.Format, nil), Source: src, ReadOnly: true,
			ManagedKeys: p.HasManagedKeys(), Models: viewModels(p.Models)})
	}
	return out
}

// listProviders lists built-in and Caddyfile providers first (in lookup
// order), then API ones; not paged beyond ?limit on the API ones. For
// ngrok.ai clients, aiGatewayProviders lists the API ones alone, as
// ngrok.ai lists only user-defined providers there.
func listProviders(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	out := configuredProviders(a)
	custom := []provider{}
	for _, cp := range a.Manage().CustomProviders() {
		custom = append(custom, viewCustomProvider(cp))
	}
	out = append(out, custom...)
	return writeJSON(w, http.StatusOK, map[string]any{"providers": out, "aiGatewayProviders": custom, "uri": "/ai/providers", "nextPageUri": nil})
}

func getProvider(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	for _, p := range configuredProviders(a) {
		if strings.EqualFold(p.ID, id) {
			return writeJSON(w, http.StatusOK, p)
		}
	}
	if cp := a.Manage().CustomProvider(id); cp != nil {
		return writeJSON(w, http.StatusOK, viewCustomProvider(cp))
	}
	return apiError(http.StatusNotFound, "not found")
}

// model is one catalog entry as /ai/models lists it.
type model struct {
	ID              string            `json:"id"`
	ProviderID      string            `json:"providerId"`
	Model           string            `json:"model"`
	Type            string            `json:"type"`
	Pricing         catalog.Pricing   `json:"pricing"`
	Priced          bool              `json:"priced"`
	ContextWindow   int64             `json:"contextWindow"`
	MaxOutputTokens int64             `json:"maxOutputTokens"`
	Features        []string          `json:"features"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// listModels lists every model of every provider (catalog, Caddyfile
// overrides, API providers) with prices and limits.
func listModels(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	var out []model
	for _, p := range a.AllProviders() {
		for _, m := range p.Models {
			typ := m.Type
			if typ == "" {
				typ = "chat"
			}
			out = append(out, model{ID: p.ID + ":" + m.ID, ProviderID: p.ID, Model: m.ID, Type: typ, Pricing: m.Pricing,
				Priced: m.Pricing.Priced(), ContextWindow: m.ContextWindow, MaxOutputTokens: m.MaxOutputTokens,
				Features: nonNil(m.Features), Metadata: m.Metadata})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"models": out, "uri": "/ai/models", "nextPageUri": nil})
}
