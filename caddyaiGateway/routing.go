package caddyaigateway

import (
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
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

// configFor returns the caller's access key configuration, or nil (no
// restrictions, managed keys).
func configFor(st *state, c *Caller) *AccessKeyConfiguration {
	if c == nil || c.AccessKey == nil || c.AccessKey.AccessKeyConfigurationID == "" {
		return nil
	}
	return st.configs[c.AccessKey.AccessKeyConfigurationID]
}

// matchRule finds the routing rule for a target: a model rule beats a
// provider rule.
func matchRule(cfg *AccessKeyConfiguration, t Target) *RouterRule {
	if cfg == nil {
		return nil
	}
	var providerRule *RouterRule
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
func modelMatches(ref string, t Target) bool {
	if pid, name, ok := strings.Cut(ref, ":"); ok && strings.EqualFold(pid, t.Provider.ID) {
		return strings.EqualFold(name, t.Name)
	}
	return strings.EqualFold(ref, t.Name)
}

// keyChoices lists the credentials for a target in failover order: each
// key of a routing step, then the next step. Without a rule the
// operator's managed keys are used.
func keyChoices(st *state, cfg *AccessKeyConfiguration, t Target) []keyChoice {
	managed := func() []keyChoice {
		keys := t.Provider.managedKeys()
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
				if pk := st.providerKeys[sk.ID]; pk != nil && pk.ProviderID == t.Provider.ID {
					out = append(out, keyChoice{value: pk.value, source: sourceUser, id: pk.ID})
				}
			}
		}
	}
	return out
}

// keys returns the request's key choices for t, computed once per target
// (candidate listing, health ordering, billing and the attempt loop all
// ask). Callers must not modify the slice.
func (req *request) keys(t Target) []keyChoice {
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
	p    *Provider
	name string
}

// accessRefusal returns the error code for a target the configuration
// does not allow, or "".
func accessRefusal(cfg *AccessKeyConfiguration, t Target) string {
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
func expandVirtual(st *state, refs []string) []string {
	if len(st.virtualModels) == 0 {
		return refs
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if vm := st.virtualModels[strings.ToLower(r)]; vm != nil {
			out = append(out, vm.Models...)
			continue
		}
		out = append(out, r)
	}
	return out
}
