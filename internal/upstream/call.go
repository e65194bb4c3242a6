package upstream

import (
	"encoding/json"
	"fmt"

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
	Format     provider.Format // the provider's
	Kind       usage.Endpoint  // how usage is read from the provider's answer
	Path       string
	Body       []byte
	Translated bool
	Removed    []string // members the target could not take
}

// Prepare builds the upstream request of req for target t. delivered,
// when not empty, is the text of an answer a stalled stream already gave
// the client: the request then asks t to continue it.
func Prepare(req *clientreq.Request, t registry.Target, delivered []byte) (*Call, error) {
	ep := req.Endpoint
	to := provider.For(t.Provider.Format)
	if to == nil {
		return nil, fmt.Errorf("provider %s: unknown format %q", t.Provider.ID, t.Provider.Format)
	}
	if t.Provider.Format == ep.Format && delivered == nil {
		body, err := bodyFor(req, t)
		if err != nil {
			return nil, err
		}
		return &Call{Format: to, Kind: ep.Kind, Path: ep.Upstream, Body: body}, nil
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
	if t.Provider.Format == ep.Format {
		quoted, _ := json.Marshal(t.Name)
		if body, err = jsonobj.Set(body, "model", quoted); err != nil {
			return nil, err
		}
		if req.Stream && ep.Kind == usage.ChatCompletions {
			if body, err = jsonobj.Set(body, "stream_options", []byte(`{"include_usage":true}`)); err != nil {
				return nil, err
			}
		}
		return &Call{Format: to, Kind: ep.Kind, Path: ep.Upstream, Body: body}, nil
	}
	up := &Call{Format: to, Translated: true}
	up.Path, up.Kind = to.Chat()
	up.Body, up.Removed, err = to.TranslateRequest(from, body, translate.Options{
		Model:            t.Name,
		DefaultMaxTokens: hold.TranslatedMaxTokens(req, t),
		DropSampling:     true,
		IncludeUsage:     req.Stream,
	})
	return up, err
}

// bodyFor is the upstream body for a target of the client's format: the
// provider's model id and the canonical output limit.
func bodyFor(req *clientreq.Request, t registry.Target) ([]byte, error) {
	body := req.UpstreamBody
	if t.Name != req.Model {
		quoted, _ := json.Marshal(t.Name)
		b, err := jsonobj.Set(body, "model", quoted)
		if err != nil {
			return nil, err
		}
		body = b
	}
	return hold.WithOutputLimit(body, req, t)
}
