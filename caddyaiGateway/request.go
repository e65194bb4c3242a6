// request.go: the client request (request, readRequest: the body as
// clientreq reads it), who is calling (Caller), its request id, the response headers
// and placeholders the gateway sets, and error answers in the route's
// format.

package caddyaigateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Response headers, spelled canonically (as http.Header stores them), so
// that they can be set without canonicalizing them again.
const (
	hdrRequestID      = "Ai-Gateway-Request-Id"
	hdrAttempts       = "Ai-Gateway-Attempts"
	hdrProvider       = "Ai-Gateway-Provider"
	hdrModel          = "Ai-Gateway-Model"
	hdrRejectedModels = "Ai-Gateway-Rejected-Models"
	hdrRemovedParams  = "Ai-Gateway-Removed-Params"
	hdrCost           = "Ai-Gateway-Cost-Usd"
)

// Placeholders (Caddy vars) the handlers set, usable in logs and later
// handlers as {http.vars.ai.*}.
const (
	varRequestID   = "ai.request_id"
	varCaller      = "ai.caller"
	varAccessKeyID = "ai.access_key_id"
	varAccountID   = "ai.account_id"
	varProvider    = "ai.provider"
	varModel       = "ai.model"
)

// request is one client request on its way through the gateway: the body
// as clientreq read it, and what the gateway learns of it here.
type request struct {
	*clientreq.Request
	// header is the client's request headers (req.headers in selection,
	// credentials left out there).
	header http.Header
	// st is the management snapshot the request is served with, cfg the
	// caller's access key configuration (nil: unrestricted).
	st  *manage.Snapshot
	cfg *manage.AccessKeyConfiguration
	// rejected lists requested models the configuration refused.
	rejected []string
	// guard is the firewall's part of the request (firewall.go); nil
	// without a policy.
	guard       *firewall.Guard
	keyCache    []targetKeys
	keyCacheBuf [2]targetKeys
}

// readRequest reads the body and checks it (clientreq.ParseFor); model is
// the model a Gemini path names.
func (g *Gateway) readRequest(w http.ResponseWriter, r *http.Request, ep *clientreq.Endpoint, model string) (*request, *apierr.Error) {
	body, err := readBody(w, r, g.MaxRequestBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierr.New(http.StatusRequestEntityTooLarge, apierr.InputTooLarge,
				fmt.Sprintf("request body exceeds the gateway's limit of %d bytes", g.MaxRequestBody))
		}
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, "reading request body: "+err.Error())
	}
	cr, err := clientreq.ParseFor(ep, model, body, walletFrom(r) != nil)
	if err != nil {
		return nil, apierr.New(http.StatusBadRequest, apierr.InvalidRequest, err.Error())
	}
	cr.Query = r.URL.RawQuery
	if ep.Format == catalog.Gemini {
		// ai_auth took the key out; without it (a private gateway) a
		// client's key still never goes upstream.
		_, _, cr.Query = clientreq.KeyParam(cr.Query)
	}
	return &request{Request: cr, header: r.Header}, nil
}

// readBody reads the request body, at most max bytes. A body of announced
// length is read into a buffer of that size (net/http never reads past a
// Content-Length); any other goes through http.MaxBytesReader.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= max {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, max))
}

// Caller is who is calling, as established by ai_auth.
type Caller struct {
	AccessKey *store.AccessKey
}

// AccountID is the account the caller draws on.
func (c *Caller) AccountID() string {
	if c == nil || c.AccessKey == nil || c.AccessKey.AccountID == "" {
		return manage.DefaultAccountID
	}
	return c.AccessKey.AccountID
}

type callerCtxKey struct{}

// withCaller attaches the caller to the request: in Caddy's vars when the
// request came through a Caddy server (no request copy), else in a
// derived context.
func withCaller(r *http.Request, c *Caller) *http.Request {
	if vars, ok := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		vars[varCaller] = c
		vars[varAccessKeyID] = c.AccessKey.ID
		vars[varAccountID] = c.AccountID()
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), callerCtxKey{}, c))
}

// CallerFrom returns the caller ai_auth attached, or nil.
func CallerFrom(r *http.Request) *Caller {
	if c, ok := caddyhttp.GetVar(r.Context(), varCaller).(*Caller); ok {
		return c
	}
	c, _ := r.Context().Value(callerCtxKey{}).(*Caller)
	return c
}

// requestID returns the request's gateway id, creating it (and the
// response header, present on every answer) on first use.
func requestID(w http.ResponseWriter, r *http.Request) string {
	if v, ok := caddyhttp.GetVar(r.Context(), varRequestID).(string); ok && v != "" {
		return v
	}
	id := ids.New("req")
	caddyhttp.SetVar(r.Context(), varRequestID, id)
	w.Header()[hdrRequestID] = []string{id}
	return id
}

// writeError sends a gateway error in the route's shape and counts it in
// the metrics (see observeError).
func writeError(w http.ResponseWriter, r *http.Request, e *apierr.Error) error {
	observeError(r.URL.Path, e)
	apierr.Write(w, clientreq.ErrorFormat(r.URL.Path), e)
	return nil
}
