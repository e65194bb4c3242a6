// routing.go: candidate resolution (candidates: the requested models and
// fallbacks, virtual models expanded, to the targets the route and the
// caller's configuration allow) and key routing (the credentials each
// target is tried with).

package caddyaigateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Key sources recorded on usage events.
const (
	sourceManaged = "managed"
	sourceUser    = "user"
)

// keyChoice is one credential to try for a target.
type keyChoice struct {
	value  string // never logged
	source string // managed | user
	id     string // the provider key id of a user key
}

// secret is the key's value, for health.Order.
func (k keyChoice) secret() string { return k.value }

// managed reports whether the key is the operator's, for registry.RotateManaged.
func (k keyChoice) managed() bool { return k.source == sourceManaged }

// candidates resolves the requested model and its fallbacks (virtual
// models expanded; every usable model for `auto` or no model) to the
// targets that can serve the route and that the caller's configuration
// allows, then lets the selection strategies order them.
func (g *Gateway) candidates(req *request, caller *Caller) ([]registry.Target, *apierr.Error) {
	reg := g.app.registryFor(req.st)
	auto := isAuto(req.Model)
	var out []registry.Target
	var wrongFormat []string
	refusal := ""
	seen := map[string]bool{}
	add := func(t registry.Target) {
		if seen[t.Ref()] {
			return
		}
		seen[t.Ref()] = true
		if !canServe(req.Endpoint, t.Provider) {
			wrongFormat = append(wrongFormat, t.Ref())
			return
		}
		if code := accessRefusal(req.cfg, t); code != "" {
			req.rejected = append(req.rejected, t.Ref())
			if refusal == "" {
				refusal = code
			}
			return
		}
		out = append(out, t)
	}
	if auto {
		wantEmbedding := req.Endpoint.Kind == usage.Embeddings
		for _, p := range reg.Providers() {
			for _, m := range p.Models {
				t := registry.Target{Provider: p, Model: m, Name: m.ID}
				if m.IsEmbedding() != wantEmbedding || !canServe(req.Endpoint, p) || accessRefusal(req.cfg, t) != "" ||
					len(req.keys(t)) == 0 {
					continue
				}
				add(t)
			}
		}
		for _, ref := range expandVirtual(req.st, req.Fallbacks) {
			for _, t := range reg.Resolve(ref) {
				add(t)
			}
		}
	} else {
		for _, ref := range expandVirtual(req.st, append([]string{req.Model}, req.Fallbacks...)) {
			for _, t := range reg.Resolve(ref) {
				add(t)
			}
		}
	}
	switch {
	case len(out) > 0:
		out, aerr := g.selectTargets(req, out, auto, caller)
		if aerr != nil {
			return nil, aerr
		}
		if auto && len(out) > g.MaxAutoCandidates {
			out = out[:g.MaxAutoCandidates]
		}
		return g.healthOrder(req, out), nil
	case refusal == apierr.ProviderNotAllowed:
		return nil, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use the provider of %s", strings.Join(req.rejected, ", ")))
	case refusal != "":
		return nil, apierr.New(http.StatusForbidden, refusal, fmt.Sprintf(
			"this access key may not use %s", strings.Join(req.rejected, ", ")))
	case len(wrongFormat) > 0:
		return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
			"%s cannot serve %s requests", strings.Join(wrongFormat, ", "), req.Endpoint.Name))
	case auto:
		return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, "no model is available to this access key for "+req.Endpoint.Name)
	}
	return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels, fmt.Sprintf(
		"no provider serves model %q; use a catalog model or name the provider explicitly (provider:model)", req.Model))
}

// canServe reports whether provider p can serve endpoint ep: in its own
// format, or by translation between OpenAI chat completions and Anthropic
// messages.
func canServe(ep *clientreq.Endpoint, p *registry.Provider) bool {
	if p.Format == ep.Format {
		return true
	}
	return ep.Kind == usage.ChatCompletions || ep.Kind == usage.Messages
}

// configFor returns the caller's access key configuration, or nil (no
// restrictions, managed keys).
func configFor(st *manage.Snapshot, c *Caller) *manage.AccessKeyConfiguration {
	if c == nil || c.AccessKey == nil || c.AccessKey.AccessKeyConfigurationID == "" {
		return nil
	}
	return st.Configs[c.AccessKey.AccessKeyConfigurationID]
}

// matchRule finds the routing rule for a target: a model rule beats a
// provider rule.
func matchRule(cfg *manage.AccessKeyConfiguration, t registry.Target) *manage.RouterRule {
	if cfg == nil {
		return nil
	}
	var providerRule *manage.RouterRule
	for i := range cfg.Router.Rules {
		r := &cfg.Router.Rules[i]
		if r.Model != "" {
			if modelMatches(r.Model, t) && (r.Provider == "" || strings.EqualFold(r.Provider, t.Provider.ID)) {
				return r
			}
			continue
		}
		if providerRule == nil && strings.EqualFold(r.Provider, t.Provider.ID) {
			providerRule = r
		}
	}
	return providerRule
}

// modelMatches reports whether a model reference (`gpt-4o` or
// `openai:gpt-4o`) names the target.
func modelMatches(ref string, t registry.Target) bool {
	if pid, name, ok := strings.Cut(ref, ":"); ok && strings.EqualFold(pid, t.Provider.ID) {
		return strings.EqualFold(name, t.Name)
	}
	return strings.EqualFold(ref, t.Name)
}

// keyChoices lists the credentials for a target in failover order: each
// key of a routing step, then the next step. Without a rule the
// operator's managed keys are used.
func keyChoices(st *manage.Snapshot, cfg *manage.AccessKeyConfiguration, t registry.Target) []keyChoice {
	managed := func() []keyChoice {
		keys := t.Provider.ManagedKeys()
		out := make([]keyChoice, len(keys))
		for i, k := range keys {
			out[i] = keyChoice{value: k, source: sourceManaged}
		}
		return out
	}
	rule := matchRule(cfg, t)
	if rule == nil {
		return managed()
	}
	var out []keyChoice
	for _, step := range rule.Steps {
		switch step.Type {
		case "managed":
			out = append(out, managed()...)
		case "user":
			for _, sk := range step.Keys {
				if pk := st.ProviderKeys[sk.ID]; pk != nil && pk.ProviderID == t.Provider.ID {
					out = append(out, keyChoice{value: pk.Value(), source: sourceUser, id: pk.ID})
				}
			}
		}
	}
	return out
}

// keys returns the request's key choices for t, computed once per target
// (candidate listing, health ordering, billing and the attempt loop all
// ask). Callers must not modify the slice.
func (req *request) keys(t registry.Target) []keyChoice {
	k := targetKey{t.Provider, t.Name}
	if kc, ok := req.keyCache[k]; ok {
		return kc
	}
	if req.keyCache == nil {
		req.keyCache = map[targetKey][]keyChoice{}
	}
	kc := keyChoices(req.st, req.cfg, t)
	req.keyCache[k] = kc
	return kc
}

type targetKey struct {
	p    *registry.Provider
	name string
}

// accessRefusal returns the error code for a target the configuration
// does not allow, or "".
func accessRefusal(cfg *manage.AccessKeyConfiguration, t registry.Target) string {
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

// expandVirtual replaces virtual model names by their models (one level:
// a virtual model naming another is not expanded again).
func expandVirtual(st *manage.Snapshot, refs []string) []string {
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
