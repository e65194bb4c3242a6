// selection.go: ordering the candidates: the selection strategies
// (compiled once and cached), then key health (healthOrder).

package caddyaigateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
)

// strategyCache holds compiled strategies of access key configurations
// (compiled once per source text, not per request). Every edit of a
// configuration's modelSelection adds a text, so the cache is emptied when
// it reaches maxCachedStrategies; the strategies in use compile again on
// their next request.
var (
	strategyCache     sync.Map // source → *selection.Strategy
	strategyCacheSize atomic.Int64
)

const maxCachedStrategies = 1024

func compiledStrategies(srcs []string) ([]*selection.Strategy, error) {
	out := make([]*selection.Strategy, 0, len(srcs))
	for _, src := range srcs {
		if s, ok := strategyCache.Load(src); ok {
			out = append(out, s.(*selection.Strategy))
			continue
		}
		s, err := selection.Compile(src)
		if err != nil {
			return nil, err
		}
		if strategyCacheSize.Load() >= maxCachedStrategies {
			strategyCache.Clear()
			strategyCacheSize.Store(0)
		}
		if _, loaded := strategyCache.LoadOrStore(src, s); !loaded {
			strategyCacheSize.Add(1)
		}
		out = append(out, s)
	}
	return out, nil
}

// selectTargets orders (and may filter) the candidates with the caller's
// strategies: the access key configuration's modelSelection, else the
// site's model_selection. `auto` without any strategy uses `cheapest`.
// When the client named its models, strategies only filter and reorder
// those.
func (g *Gateway) selectTargets(req *request, targets []registry.Target, auto bool, caller *Caller) ([]registry.Target, *apierr.Error) {
	strategies := g.strategies
	source := "model_selection"
	if req.cfg != nil && len(req.cfg.ModelSelection) > 0 {
		var err error
		if strategies, err = compiledStrategies(req.cfg.ModelSelection); err != nil {
			return nil, apierr.New(http.StatusInternalServerError, apierr.SelectionFailed, "access key configuration strategy: "+err.Error())
		}
		source = "access key configuration modelSelection"
	}
	if len(strategies) == 0 {
		if !auto {
			return targets, nil // the client's order
		}
		strategies = g.cheapest
	}
	cands := make([]selection.Candidate, len(targets))
	byRef := make(map[string]registry.Target, len(targets))
	for i, t := range targets {
		if t.Model != nil {
			cands[i] = selection.FromCatalog(t.Provider.ID, t.Model)
		} else {
			cands[i] = selection.Candidate{ID: t.Name, ProviderID: t.Provider.ID, AuthorID: t.Provider.ID}
		}
		cands[i].Metrics = g.app.shared.stats.Metrics(t.Ref())
		byRef[t.Ref()] = t
	}
	// req.headers, ai.keys and key.metadata are built by the selection
	// package only when a strategy reads them.
	sreq := selection.Request{Model: req.Model, Stream: req.Stream, MaxTokens: req.MaxTokens, InputTokens: req.InputEstimate, HTTPHeader: req.header,
		ProviderKeysFunc: func() []selection.ProviderKey { return selectionKeys(req, targets) }}
	var key selection.Key
	if caller != nil && caller.AccessKey != nil {
		key = selection.Key{ID: caller.AccessKey.ID, Name: caller.AccessKey.Name, RawMetadata: caller.AccessKey.Metadata}
	}
	ordered, winner, err := selection.Select(strategies, cands, sreq, key)
	if err != nil {
		var ee *selection.EvalError
		name := source
		if errors.As(err, &ee) {
			name = fmt.Sprintf("%s[%d] %q", source, ee.Index, ee.Strategy)
		}
		g.logger.Error("model selection failed", zap.String("strategy", name), zap.Error(err))
		return nil, apierr.New(http.StatusInternalServerError, apierr.SelectionFailed, fmt.Sprintf("model selection strategy %s failed: %v", name, err))
	}
	if winner < 0 {
		return nil, apierr.New(http.StatusUnprocessableEntity, apierr.NoMatchingModels,
			fmt.Sprintf("no candidate model satisfies the %s strategies", source))
	}
	out := make([]registry.Target, 0, len(ordered))
	for _, c := range ordered {
		out = append(out, byRef[c.ProviderID+":"+c.ID])
	}
	if ce := g.logger.Check(zap.DebugLevel, "model selection"); ce != nil {
		before := make([]string, len(targets))
		for i, t := range targets {
			before[i] = t.Ref()
		}
		after := make([]string, len(out))
		for i, t := range out {
			after[i] = t.Ref()
		}
		ce.Write(zap.String("strategies", source), zap.Int("winner", winner), zap.String("strategy", strategies[winner].Name),
			zap.Strings("candidates", before), zap.Strings("selected", after))
	}
	return out, nil
}

// healthOrder moves targets whose every key is cooling down (refused or
// rate limited recently, by any request) after the others.
func (g *Gateway) healthOrder(req *request, targets []registry.Target) []registry.Target {
	h := g.app.shared.health
	var cooling []registry.Target
	out := targets[:0:0]
	for _, t := range targets {
		keys := req.keys(t)
		all := len(keys) > 0
		for _, k := range keys {
			all = all && h.Cooling(t.Provider.ID, k.value)
		}
		if all {
			cooling = append(cooling, t)
		} else {
			out = append(out, t)
		}
	}
	return append(out, cooling...)
}

// selectionKeys is ai.keys: the provider keys that may serve one of the
// candidates, once each, as id (a stored key's; "" for managed keys),
// provider and source. Never a key's value.
func selectionKeys(req *request, targets []registry.Target) []selection.ProviderKey {
	out := []selection.ProviderKey{}
	for _, t := range targets {
		for _, k := range req.keys(t) {
			pk := selection.ProviderKey{ID: k.id, ProviderID: t.Provider.ID, Source: k.source}
			if !slices.Contains(out, pk) {
				out = append(out, pk)
			}
		}
	}
	return out
}

// isAuto reports whether the request lets the gateway choose the model.
func isAuto(model string) bool { return model == "" || strings.EqualFold(model, "auto") }
