// gemini.go: what the gateway answers itself on Gemini's routes: the
// model list (GET /v1beta/models, /v1beta/models/{model}) and countTokens
// for a model whose provider speaks another format.

package caddyaigateway

import (
	"net/http"
	"strconv"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// serveGeminiModels answers GET /v1beta/models and /v1beta/models/{id}
// (and /v1/models for Google's SDKs) in Gemini's shape: the models of
// GET /v1/models, named models/<id>.
func (g *Gateway) serveGeminiModels(w http.ResponseWriter, r *http.Request, id string) error {
	st := g.app.shared.Manage.Snapshot()
	reg := g.app.registryFor(st)
	all := routing.Models(reg, st, configFor(st, CallerFrom(r)))
	if id == "" {
		return writeJSON(w, http.StatusOK, routing.GeminiModels(all))
	}
	if m, ok := routing.FindModel(reg, all, id); ok {
		return writeJSON(w, http.StatusOK, m.Gemini())
	}
	e := apierr.New(http.StatusNotFound, apierr.NotFound, "model "+strconv.Quote(id)+" is not available to this key")
	observeError(r.URL.Path, e)
	apierr.Write(w, apierr.Gemini, e) // also on /v1/models/{id}
	return nil
}

// countTokensHere answers a token count (Gemini's countTokens, Anthropic's
// messages/count_tokens) when the first candidate's provider speaks
// another format, which has no such endpoint or counts another body
// shape: the gateway's estimate of the text in the request,
// ceil(bytes/4), in the client's shape, with AI-Gateway-Token-Count:
// estimated. A provider of the client's format counts for itself. It
// reports whether it answered.
func (g *Gateway) countTokensHere(w http.ResponseWriter, r *http.Request, req *request, targets []registry.Target) bool {
	ep := req.Endpoint
	if ep.Kind != usage.CountTokens || len(targets) == 0 || targets[0].Provider.Format == ep.Format {
		return false
	}
	t := targets[0]
	h := w.Header()
	h[hdrProvider] = []string{t.Provider.ID}
	h[hdrModel] = []string{t.Name}
	h["Ai-Gateway-Token-Count"] = []string{"estimated"}
	n := usage.EstimateTokens(usage.OutputText(req.Body))
	if ep.Format == catalog.Anthropic {
		_ = writeJSON(w, http.StatusOK, map[string]int64{"input_tokens": n})
	} else {
		_ = writeJSON(w, http.StatusOK, map[string]int64{"totalTokens": n})
	}
	return true
}
