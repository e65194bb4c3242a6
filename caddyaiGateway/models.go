package caddyaigateway

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
)

// serveModels answers GET /v1/models and GET /v1/models/{id}, in the
// Gemini shape when the client sends x-goog-api-client (Google's SDKs
// always do), in the Anthropic shape when it sends anthropic-version
// (Anthropic SDKs always do), else in the OpenAI shape.
func (g *Gateway) serveModels(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return writeError(w, r, apierr.New(http.StatusMethodNotAllowed, apierr.MethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
	}
	if r.Header.Get("X-Goog-Api-Client") != "" || r.Header.Get("X-Goog-Api-Key") != "" {
		// Google's SDKs list models at /v1/models when they speak v1.
		return g.serveGeminiModels(w, r, id)
	}
	anthropic := r.Header.Get("Anthropic-Version") != ""
	st := g.app.shared.Manage.Snapshot()
	all := routing.Models(g.app.registryFor(st), st, configFor(st, CallerFrom(r)))
	if id != "" {
		m, ok := routing.FindModel(g.app.registryFor(st), all, id)
		switch {
		case ok && anthropic:
			return writeJSON(w, http.StatusOK, m.Anthropic())
		case ok:
			return writeJSON(w, http.StatusOK, m)
		}
		e := apierr.New(http.StatusNotFound, apierr.NotFound, "model "+strconv.Quote(id)+" is not available to this key")
		if anthropic {
			apierr.Write(w, apierr.Anthropic, e)
			return nil
		}
		return writeError(w, r, e)
	}
	if anthropic {
		return writeJSON(w, http.StatusOK, routing.AnthropicModels(all))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": all})
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
