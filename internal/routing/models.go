package routing

import (
	"sort"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
)

// Model is one model as listed by GET /v1/models. The OpenAI shape is
// extended with the gateway's own fields (ignored by SDKs).
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// Gateway extensions.
	Provider        string `json:"provider"`
	Type            string `json:"type"`
	ContextWindow   int64  `json:"context_window,omitempty"`
	MaxOutputTokens int64  `json:"max_output_tokens,omitempty"`
	InputPrice      string `json:"input_price,omitempty"`
	OutputPrice     string `json:"output_price,omitempty"`
}

// AnthropicModel is the Anthropic shape of a model.
type AnthropicModel struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

// Anthropic is m in the Anthropic shape.
func (m Model) Anthropic() AnthropicModel {
	return AnthropicModel{Type: "model", ID: m.ID, DisplayName: m.ID, CreatedAt: time.Unix(0, 0).UTC().Format(time.RFC3339)}
}

// AnthropicList is a model list in the Anthropic shape (members in the
// order encoding/json gives a map).
type AnthropicList struct {
	Data    []AnthropicModel `json:"data"`
	FirstID *string          `json:"first_id"`
	HasMore bool             `json:"has_more"`
	LastID  *string          `json:"last_id"`
}

// AnthropicModels is the list all in the Anthropic shape.
func AnthropicModels(all []Model) AnthropicList {
	l := AnthropicList{Data: make([]AnthropicModel, len(all))}
	for i, m := range all {
		l.Data[i] = m.Anthropic()
	}
	if len(l.Data) > 0 {
		l.FirstID, l.LastID = &l.Data[0].ID, &l.Data[len(l.Data)-1].ID
	}
	return l
}

// FindModel returns the model of the list all that id names: its listed
// id, or a reference (`gpt-4o`) that resolves to it.
func FindModel(reg *registry.Registry, all []Model, id string) (Model, bool) {
	ref := id
	if ts := reg.Resolve(id); len(ts) > 0 {
		ref = ts[0].Ref()
	}
	for _, m := range all {
		if m.ID == id || m.ID == ref {
			return m, true
		}
	}
	return Model{}, false
}

// Models returns the models a caller with configuration cfg can be served
// by: every catalog model of a provider it has a key for (managed, or a
// user key of its routing rules) that its configuration allows, named
// `provider:model` (the form that always resolves to exactly that model),
// then the virtual models with at least one such member.
func Models(reg *registry.Registry, st *manage.Snapshot, cfg *manage.AccessKeyConfiguration) []Model {
	var out []Model
	usable := func(t registry.Target) bool {
		return Refusal(cfg, t) == "" && len(Keys(st, cfg, t)) > 0
	}
	for _, p := range reg.Providers() {
		for _, m := range p.Models {
			if !usable(registry.Target{Provider: p, Model: m, Name: m.ID}) {
				continue
			}
			typ := m.Type
			if typ == "" {
				typ = "chat"
			}
			out = append(out, Model{
				ID: p.ID + ":" + m.ID, Object: "model", OwnedBy: p.ID, Provider: p.ID, Type: typ,
				ContextWindow: m.ContextWindow, MaxOutputTokens: m.MaxOutputTokens,
				InputPrice: formatPrice(m.Pricing.Input), OutputPrice: formatPrice(m.Pricing.Output),
			})
		}
	}
	vms := make([]*manage.VirtualModel, 0, len(st.VirtualModels))
	for _, vm := range st.VirtualModels {
		vms = append(vms, vm)
	}
	sort.Slice(vms, func(i, j int) bool { return vms[i].Name < vms[j].Name })
	for _, vm := range vms {
		for _, ref := range vm.Models {
			if ts := reg.Resolve(ref); len(ts) > 0 && usable(ts[0]) {
				out = append(out, Model{ID: vm.Name, Object: "model", OwnedBy: "virtual", Provider: "virtual", Type: "virtual"})
				break
			}
		}
	}
	return out
}

// formatPrice renders an optional price for listings.
func formatPrice(p catalog.Price) string {
	if p == nil {
		return ""
	}
	return p.String()
}

// GeminiModel is the Gemini shape of a model (Google's Model resource).
type GeminiModel struct {
	Name                       string   `json:"name"` // "models/<id>"
	BaseModelID                string   `json:"baseModelId"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	InputTokenLimit            int64    `json:"inputTokenLimit,omitempty"`
	OutputTokenLimit           int64    `json:"outputTokenLimit,omitempty"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

// Gemini is m in the Gemini shape. Chat models generate content and
// count tokens; embedding models are listed with embedContent, which only
// a Gemini provider serves.
func (m Model) Gemini() GeminiModel {
	methods := []string{"generateContent", "countTokens"}
	if m.Type == "embedding" {
		methods = []string{"embedContent"}
	}
	return GeminiModel{Name: "models/" + m.ID, BaseModelID: m.ID, Version: "001", DisplayName: m.ID,
		InputTokenLimit: m.ContextWindow, OutputTokenLimit: m.MaxOutputTokens, SupportedGenerationMethods: methods}
}

// GeminiList is a model list in the Gemini shape: all in one page (no
// nextPageToken).
type GeminiList struct {
	Models []GeminiModel `json:"models"`
}

// GeminiModels is the list all in the Gemini shape.
func GeminiModels(all []Model) GeminiList {
	l := GeminiList{Models: make([]GeminiModel, len(all))}
	for i, m := range all {
		l.Models[i] = m.Gemini()
	}
	return l
}
