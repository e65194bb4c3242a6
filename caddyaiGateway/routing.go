// routing.go: the candidates of a request (routing.Candidates: the
// requested models and fallbacks, virtual models expanded, to the targets
// the route and the caller's configuration allow), ordered by selection.go,
// and the credentials each target is tried with (request.keys).

package caddyaigateway

import (
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
)

// candidates resolves the request's models to the targets that may serve
// it (req.rejected lists those the configuration refused), then lets the
// selection strategies and key health order them.
func (g *Gateway) candidates(req *request, caller *Caller) ([]registry.Target, *apierr.Error) {
	out, rejected, aerr := routing.Candidates(g.app.registryFor(req.st), routing.Query{
		Endpoint: req.Endpoint, Model: req.Model, Fallbacks: req.Fallbacks, St: req.st, Cfg: req.cfg, Keys: req.keys})
	req.rejected = rejected
	if aerr != nil {
		return nil, aerr
	}
	auto := routing.IsAuto(req.Model)
	out, aerr = g.selectTargets(req, out, auto, caller)
	if aerr != nil {
		return nil, aerr
	}
	if auto && len(out) > g.MaxAutoCandidates {
		out = out[:g.MaxAutoCandidates]
	}
	return routing.HealthOrder(g.app.shared.Health, out, req.keys), nil
}

// configFor returns the caller's access key configuration, or nil (no
// restrictions, managed keys).
func configFor(st *manage.Snapshot, c *Caller) *manage.AccessKeyConfiguration {
	if c == nil || c.AccessKey == nil || c.AccessKey.AccessKeyConfigurationID == "" {
		return nil
	}
	return st.Configs[c.AccessKey.AccessKeyConfigurationID]
}

// keys returns the request's key choices for t, computed once per target
// (candidate listing, health ordering, billing and the attempt loop all
// ask). Callers must not modify the slice.
func (req *request) keys(t registry.Target) []routing.Key {
	for _, e := range req.keyCache {
		if e.p == t.Provider && e.name == t.Name {
			return e.keys
		}
	}
	kc := routing.Keys(req.st, req.cfg, t)
	if req.keyCache == nil {
		req.keyCache = req.keyCacheBuf[:0]
	}
	req.keyCache = append(req.keyCache, targetKeys{t.Provider, t.Name, kc})
	return kc
}

// targetKeys are the key choices of one target. A request has a few
// targets (a handful for auto): a list searched in order beats a map.
type targetKeys struct {
	p    *registry.Provider
	name string
	keys []routing.Key
}
