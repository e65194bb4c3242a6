package routing

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Query is what Candidates resolves: the models a request names, for its
// endpoint, under the caller's configuration.
type Query struct {
	Endpoint *clientreq.Endpoint
	// Model and Fallbacks as the client named them.
	Model     string
	Fallbacks []string
	// St is the management snapshot in force, Cfg the caller's access key
	// configuration (nil: unrestricted).
	St  *manage.Snapshot
	Cfg *manage.AccessKeyConfiguration
	// Keys returns the credentials for a target (the caller caches them).
	Keys func(registry.Target) []Key
}

// Candidates resolves the requested model and its fallbacks (virtual
// models expanded; every usable model for `auto` or no model) to the
// targets that can serve the endpoint and that the configuration allows,
// in request order. rejected lists the requested targets the configuration
// refused. With no target, the error says why.
func Candidates(reg *registry.Registry, q Query) (out []registry.Target, rejected []string, aerr *apierr.Error) {
	auto := IsAuto(q.Model)
	var wrongFormat []string
	refusal := ""
	// Targets seen, by provider id and name (what Ref joins): a request
	// names a few models, so a list beats a map.
	var seenBuf [8][2]string
	seen := seenBuf[:0]
	add := func(t registry.Target) {
		id := [2]string{t.Provider.ID, t.Name}
		if slices.Contains(seen, id) {
			return
		}
		seen = append(seen, id)
		if !CanServe(q.Endpoint, t.Provider) {
			wrongFormat = append(wrongFormat, t.Ref())
			return
		}
		if code := Refusal(q.Cfg, t); code != "" {
			rejected = append(rejected, t.Ref())
			if refusal == "" {
				refusal = code
			}
			return
		}
		out = append(out, t)
	}
	if auto {
		wantEmbedding := q.Endpoint.Kind == usage.Embeddings
		for _, p := range reg.Providers() {
			for _, m := range p.Models {
				t := registry.Target{Provider: p, Model: m, Name: m.ID}
				if m.IsEmbedding() != wantEmbedding || !CanServe(q.Endpoint, p) || Refusal(q.Cfg, t) != "" ||
					len(q.Keys(t)) == 0 {
					continue
				}
				add(t)
			}
		}
		for _, ref := range ExpandVirtual(q.St, q.Fallbacks) {
			for _, t := range reg.Resolve(ref) {
				add(t)
			}
		}
	} else {
		model := [1]string{q.Model}
		for _, refs := range [2][]string{model[:], q.Fallbacks} {
			for _, ref := range ExpandVirtual(q.St, refs) {
				for _, t := range reg.Resolve(ref) {
					add(t)
				}
			}
		}
	}
	switch {
	case len(out) > 0:
		return out, rejected, nil
	case refusal == apierr.ProviderNotAllowed:
		return nil, rejected, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use the provider of %s", strings.Join(rejected, ", ")))
	case refusal != "":
		return nil, rejected, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use %s", strings.Join(rejected, ", ")))
	case len(wrongFormat) > 0:
		return nil, rejected, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
			"%s cannot serve %s requests", strings.Join(wrongFormat, ", "), q.Endpoint.Name))
	case auto:
		return nil, rejected, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, "no model is available to this access key for "+q.Endpoint.Name)
	}
	return nil, rejected, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
		"no provider serves model %q; use a catalog model or name the provider explicitly (provider:model)", q.Model))
}

// IsAuto reports whether the request lets the gateway choose the model.
func IsAuto(model string) bool { return model == "" || strings.EqualFold(model, "auto") }

// CanServe reports whether provider p can serve endpoint ep: in its own
// format, or by translation between OpenAI chat completions, the OpenAI
// Responses API, Anthropic messages and Gemini generateContent. Token
// counts (Gemini's countTokens, Anthropic's count_tokens) are answered for
// any provider (the gateway estimates for one of another format).
func CanServe(ep *clientreq.Endpoint, p *registry.Provider) bool {
	if p.Format == ep.Format {
		return true
	}
	if ep.Kind == usage.Embeddings && p.AltBaseURLs[ep.Format] != "" {
		return true // Google's embeddings, at its OpenAI-compatible endpoint
	}
	switch ep.Kind {
	case usage.ChatCompletions, usage.Messages, usage.GenerateContent, usage.Responses:
		return true
	case usage.CountTokens:
		return true // a provider of another format: the gateway estimates
	}
	return false
}

// Refusal returns the error code for a target the configuration does not
// allow, or "".
func Refusal(cfg *manage.AccessKeyConfiguration, t registry.Target) string {
	if cfg == nil {
		return ""
	}
	if l := cfg.Access.Providers; l != nil && l.Allow != nil {
		ok := false
		for _, p := range *l.Allow {
			ok = ok || strings.EqualFold(p, t.Provider.ID)
		}
		if !ok {
			return apierr.ProviderNotAllowed
		}
	}
	if l := cfg.Access.Models; l != nil && l.Allow != nil {
		for _, m := range *l.Allow {
			if modelMatches(m, t) {
				return ""
			}
		}
		return apierr.ModelNotAllowed
	}
	return ""
}

// ExpandVirtual replaces virtual model names by their models (one level:
// a virtual model naming another is not expanded again).
func ExpandVirtual(st *manage.Snapshot, refs []string) []string {
	if len(st.VirtualModels) == 0 {
		return refs
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if vm := st.VirtualModels[strings.ToLower(r)]; vm != nil {
			out = append(out, vm.Models...)
			continue
		}
		out = append(out, r)
	}
	return out
}
