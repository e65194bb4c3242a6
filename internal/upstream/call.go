package upstream

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/hold"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Call is how a request reaches one target: its path, body and format,
// translated when the provider speaks the other format.
type Call struct {
	Format provider.Format // the provider's
	Kind   usage.Endpoint  // how usage is read from the provider's answer
	Path   string
	Query  string // the raw query string
	// BaseURL, when set, replaces the provider's: the URL of another
	// format the provider also serves (AltBaseURLs).
	BaseURL    string
	Body       []byte
	Translated bool
	Removed    []string // members the target could not take
}

// Prepare builds the upstream request of req for target t. delivered,
// when not empty, is the text of an answer a stalled stream already gave
// the client: the request then asks t to continue it.
func Prepare(req *clientreq.Request, t registry.Target, delivered []byte) (*Call, error) {
	ep := req.Endpoint
	format := CallFormat(ep, t)
	to := provider.For(format)
	if to == nil {
		return nil, fmt.Errorf("provider %s: unknown format %q", t.Provider.ID, t.Provider.Format)
	}
	if alt := t.Provider.AltBaseURLs[ep.Format]; t.Provider.Format != ep.Format && alt != "" && ep.Kind == usage.Embeddings {
		// Embeddings of a provider that also serves OpenAI's format (Google)
		// go to that endpoint as they are.
		body, err := bodyFor(req, t)
		if err != nil {
			return nil, err
		}
		return &Call{Format: ep.Client(), Kind: ep.Kind, Path: ep.UpstreamPath(t.Name), Query: req.Query, Body: body, BaseURL: alt}, nil
	}
	if format == ep.Format && delivered == nil {
		body, err := bodyFor(req, t)
		if err != nil {
			return nil, err
		}
		return &Call{Format: to, Kind: ep.Kind, Path: ep.UpstreamPath(t.Name), Query: sameFormatQuery(req), Body: body}, nil
	}
	from := ep.Client()
	// Translation (or continuation) starts from the client's body with the
	// gateway's limits applied, in the client's format.
	body, err := hold.WithOutputLimit(req.ClientBody, req, t)
	if err != nil {
		return nil, err
	}
	if delivered != nil {
		if body, err = from.Continue(body, string(delivered)); err != nil {
			return nil, err
		}
	}
	if format == ep.Format {
		if ep.Format != catalog.Gemini { // Gemini's model is in the path
			quoted, _ := json.Marshal(t.Name)
			if body, err = jsonobj.Set(body, "model", quoted); err != nil {
				return nil, err
			}
		}
		if req.Stream && ep.Kind == usage.ChatCompletions {
			if body, err = jsonobj.Set(body, "stream_options", []byte(`{"include_usage":true}`)); err != nil {
				return nil, err
			}
		}
		return &Call{Format: to, Kind: ep.Kind, Path: ep.UpstreamPath(t.Name), Query: sameFormatQuery(req), Body: body}, nil
	}
	up := &Call{Format: to, Translated: true}
	up.Path, up.Query, up.Kind = to.Chat(t.Name, req.Stream)
	if up.Query == "" && ep.Format != catalog.Gemini {
		up.Query = req.Query // as before Gemini: a translated request keeps the client's query
	}
	up.Body, up.Removed, err = to.TranslateRequest(from, body, translate.Options{
		Model:            t.Name,
		DefaultMaxTokens: hold.TranslatedMaxTokens(req, t),
		DropSampling:     true,
		IncludeUsage:     req.Stream,
		Stream:           req.Stream,
	})
	return up, err
}

// CallFormat is the format target t is called in for a request to ep:
// its provider's, except that an OpenAI-format provider is called in the
// Responses API for a Responses-only model, and for a Responses request
// when it serves that API (catalog.Provider.Responses).
func CallFormat(ep *clientreq.Endpoint, t registry.Target) catalog.Format {
	f := t.Provider.Format
	if f != catalog.OpenAI || ep.Kind == usage.Embeddings {
		return f
	}
	if t.Model != nil && t.Model.ResponsesOnly || ep.Format == catalog.Responses && t.Provider.Responses {
		return catalog.Responses
	}
	return f
}

// sameFormatQuery is the query of a request to a provider of the client's
// format: the client's, and for a Gemini stream alt=sse, which the gateway
// reads (without it Gemini streams a JSON array).
func sameFormatQuery(req *clientreq.Request) string {
	if req.Endpoint.Format != catalog.Gemini || !req.Stream {
		return req.Query
	}
	var kept []string
	for part := range strings.SplitSeq(req.Query, "&") {
		if name, _, _ := strings.Cut(part, "="); part != "" && name != "alt" && name != "%24alt" && name != "$alt" {
			kept = append(kept, part)
		}
	}
	return strings.Join(append(kept, "alt=sse"), "&")
}

// bodyFor is the upstream body for a target of the client's format: the
// provider's model id and the canonical output limit.
func bodyFor(req *clientreq.Request, t registry.Target) ([]byte, error) {
	body := req.UpstreamBody
	if t.Name != req.Model && req.Endpoint.Format != catalog.Gemini {
		quoted, _ := json.Marshal(t.Name)
		b, err := jsonobj.Set(body, "model", quoted)
		if err != nil {
			return nil, err
		}
		body = b
	}
	return hold.WithOutputLimit(body, req, t)
}
