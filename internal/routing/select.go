package routing

import (
	"slices"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/health"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
)

// Select orders (and may filter) targets with strategies, each target
// seen with its catalog entry and its live metrics from stats (nil: none).
// winner is the index of the strategy that decided, -1 when none left a
// candidate.
func Select(strategies []*selection.Strategy, targets []registry.Target, stats *health.LiveStats, req selection.Request, key selection.Key) (out []registry.Target, winner int, err error) {
	cands := make([]selection.Candidate, len(targets))
	for i, t := range targets {
		if t.Model != nil {
			cands[i] = selection.FromCatalog(t.Provider.ID, t.Model)
		} else {
			cands[i] = selection.Candidate{ID: t.Name, ProviderID: t.Provider.ID, AuthorID: t.Provider.ID}
		}
		if stats != nil {
			cands[i].Metrics = stats.Metrics(t.Ref())
		}
	}
	order, winner, err := selection.SelectOrder(strategies, cands, req, key)
	if err != nil || winner < 0 {
		return nil, winner, err
	}
	out = make([]registry.Target, len(order))
	for i, pos := range order {
		out[i] = targets[pos]
	}
	return out, winner, nil
}

// HealthOrder moves targets whose every key is cooling down (refused or
// rate limited recently, by any request) after the others.
func HealthOrder(h *health.KeyHealth, targets []registry.Target, keys func(registry.Target) []Key) []registry.Target {
	cooling := func(t registry.Target) bool {
		ks := keys(t)
		all := len(ks) > 0
		for _, k := range ks {
			all = all && h.Cooling(t.Provider.ID, k.Value)
		}
		return all
	}
	if !slices.ContainsFunc(targets, cooling) {
		return targets // the common case: nothing to move
	}
	return healthOrder(targets, cooling)
}

func healthOrder(targets []registry.Target, isCooling func(registry.Target) bool) []registry.Target {
	var cooling []registry.Target
	out := targets[:0:0]
	for _, t := range targets {
		if isCooling(t) {
			cooling = append(cooling, t)
		} else {
			out = append(out, t)
		}
	}
	return append(out, cooling...)
}

// SelectionKeys is ai.keys: the provider keys that may serve one of the
// targets, once each, as id (a stored key's; "" for managed keys),
// provider and source. Never a key's value.
func SelectionKeys(targets []registry.Target, keys func(registry.Target) []Key) []selection.ProviderKey {
	out := []selection.ProviderKey{}
	for _, t := range targets {
		for _, k := range keys(t) {
			pk := selection.ProviderKey{ID: k.ID, ProviderID: t.Provider.ID, Source: k.Source}
			if !slices.Contains(out, pk) {
				out = append(out, pk)
			}
		}
	}
	return out
}
