package caddyaigateway

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
)

// modelEntry is one model as listed by GET /v1/models. The OpenAI shape
// is extended with the gateway's own fields (ignored by SDKs).
type modelEntry struct {
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

// anthropicModel is the Anthropic shape of a model.
type anthropicModel struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

// listModels returns the models the caller can be served by: every
// catalog model of a provider it has a key for (managed, or a user key
// of its routing rules) that its configuration allows, named
// `provider:model` (the form that always resolves to exactly that
// model), then the virtual models with at least one such member.
func (g *Gateway) listModels(r *http.Request) []modelEntry {
	st := g.app.shared.manage.Snapshot()
	cfg := configFor(st, CallerFrom(r))
	reg := g.app.registryFor(st)
	var out []modelEntry
	usable := func(t registry.Target) bool {
		return accessRefusal(cfg, t) == "" && len(keyChoices(st, cfg, t)) > 0
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
			out = append(out, modelEntry{
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
				out = append(out, modelEntry{ID: vm.Name, Object: "model", OwnedBy: "virtual", Provider: "virtual", Type: "virtual"})
				break
			}
		}
	}
	return out
}

// serveModels answers GET /v1/models and GET /v1/models/{id}, in the
// Anthropic shape when the client sends anthropic-version (Anthropic SDKs
// always do), else in the OpenAI shape.
func (g *Gateway) serveModels(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return writeError(w, r, apierr.New(http.StatusMethodNotAllowed, apierr.MethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
	}
	anthropic := r.Header.Get("Anthropic-Version") != ""
	all := g.listModels(r)
	if id != "" {
		ref := id
		if ts := g.app.registryFor(g.app.shared.manage.Snapshot()).Resolve(id); len(ts) > 0 {
			ref = ts[0].Ref()
		}
		for _, m := range all {
			if m.ID == id || m.ID == ref {
				if anthropic {
					return writeJSON(w, http.StatusOK, toAnthropic(m))
				}
				return writeJSON(w, http.StatusOK, m)
			}
		}
		e := apierr.New(http.StatusNotFound, apierr.NotFound, "model "+strconv.Quote(id)+" is not available to this key")
		if anthropic {
			apierr.Write(w, apierr.Anthropic, e)
			return nil
		}
		return writeError(w, r, e)
	}
	if anthropic {
		data := make([]anthropicModel, len(all))
		for i, m := range all {
			data[i] = toAnthropic(m)
		}
		resp := map[string]any{"data": data, "has_more": false, "first_id": nil, "last_id": nil}
		if len(data) > 0 {
			resp["first_id"], resp["last_id"] = data[0].ID, data[len(data)-1].ID
		}
		return writeJSON(w, http.StatusOK, resp)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": all})
}

func toAnthropic(m modelEntry) anthropicModel {
	return anthropicModel{Type: "model", ID: m.ID, DisplayName: m.ID, CreatedAt: time.Unix(0, 0).UTC().Format(time.RFC3339)}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}
