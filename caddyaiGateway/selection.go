// selection.go: ordering the candidates with the selection strategies of
// the site or of the caller's access key configuration.

package caddyaigateway

import (
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
)

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
		if strategies, err = selection.CompileCached(req.cfg.ModelSelection); err != nil {
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
	// req.headers, ai.keys and key.metadata are built by the selection
	// package only when a strategy reads them.
	sreq := selection.Request{Model: req.Model, Stream: req.Stream, MaxTokens: req.MaxTokens, InputTokens: req.InputEstimate, HTTPHeader: req.header,
		ProviderKeysFunc: func() []selection.ProviderKey { return routing.SelectionKeys(targets, req.keys) }}
	var key selection.Key
	if caller != nil && caller.AccessKey != nil {
		key = selection.Key{ID: caller.AccessKey.ID, Name: caller.AccessKey.Name, RawMetadata: caller.AccessKey.Metadata}
	}
	out, winner, err := routing.Select(strategies, targets, g.app.shared.Stats, sreq, key)
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
	if ce := g.logger.Check(zap.DebugLevel, "model selection"); ce != nil {
		ce.Write(zap.String("strategies", source), zap.Int("winner", winner), zap.String("strategy", strategies[winner].Name),
			zap.Strings("candidates", registry.Refs(targets)), zap.Strings("selected", registry.Refs(out)))
	}
	return out, nil
}
