// Package routing decides which targets and credentials may serve a
// request: model references (virtual models expanded, every usable model
// for `auto`) resolved against the registry and filtered by the caller's
// access key configuration (Candidates), the credentials each target is
// tried with (Keys), candidates ordered by selection strategies and key
// health (Select, HealthOrder), and the models a caller is shown (Models).
package routing

import (
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
)

// Key sources recorded on usage events.
const (
	SourceManaged = "managed"
	SourceUser    = "user"
)

// Key is one credential to try for a target.
type Key struct {
	Value  string // never logged
	Source string // managed | user
	ID     string // the provider key id of a user key
}

// Secret is the key's value, for health.Order.
func (k Key) Secret() string { return k.Value }

// Managed reports whether the key is the operator's, for registry.RotateManaged.
func (k Key) Managed() bool { return k.Source == SourceManaged }

// Keys lists the credentials for a target in failover order: each key of
// a routing step, then the next step. Without a rule the operator's
// managed keys are used.
func Keys(st *manage.Snapshot, cfg *manage.AccessKeyConfiguration, t registry.Target) []Key {
	managed := func() []Key {
		keys := t.Provider.ManagedKeys()
		out := make([]Key, len(keys))
		for i, k := range keys {
			out[i] = Key{Value: k, Source: SourceManaged}
		}
		return out
	}
	rule := matchRule(cfg, t)
	if rule == nil {
		return managed()
	}
	var out []Key
	for _, step := range rule.Steps {
		switch step.Type {
		case "managed":
			out = append(out, managed()...)
		case "user":
			for _, sk := range step.Keys {
				if pk := st.ProviderKeys[sk.ID]; pk != nil && pk.ProviderID == t.Provider.ID {
					out = append(out, Key{Value: pk.Value(), Source: SourceUser, ID: pk.ID})
				}
			}
		}
	}
	return out
}

// UsesCustomerKeys reports whether a configuration's rules name customer
// (BYOK) keys, which may serve a request at zero balance.
func UsesCustomerKeys(cfg *manage.AccessKeyConfiguration) bool {
	if cfg == nil {
		return false
	}
	for _, r := range cfg.Router.Rules {
		for _, s := range r.Steps {
			if s.Type == "user" {
				return true
			}
		}
	}
	return false
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
