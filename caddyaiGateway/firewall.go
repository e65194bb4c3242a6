// firewall.go: the firewall on the request path (DESIGN §10), glue for
// internal/firewall's Guard. The request phase runs after the request is
// read and before any provider is called; the response phase checks the
// tool calls of a JSON answer before it is written, and of a stream
// through a gate the client's events pass.

package caddyaigateway

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
)

// policyFor is the firewall policy in force for a request: the one the
// access key's configuration attaches (firewallPolicyId, compiled once per
// stored version in the snapshot the request is served with), else the
// site's (ai_gateway's firewall_policy), or nil; none for a decision
// rule's own question to its judging model.
func (g *Gateway) policyFor(ctx context.Context, req *request) *firewall.Policy {
	if ctx.Value(judgeKey{}) != nil {
		return nil
	}
	if req != nil && req.cfg != nil && req.cfg.FirewallPolicyID != "" && req.st != nil {
		if p := req.st.FirewallPolicies[req.cfg.FirewallPolicyID].Compiled(); p != nil {
			return p
		}
		// Stored by another version and not compilable here: fail closed.
		return unusablePolicy
	}
	return g.firewall
}

// unusablePolicy refuses every request of a key whose policy this node
// cannot compile.
var unusablePolicy = firewall.FailClosed("unavailable",
	"the firewall policy of this key's configuration cannot be used by this gateway node; see its log")

// checkRequest runs the request phase of policy p (nil: none): it returns
// the request's guard, or the 403 firewall_blocked answer naming the rule.
// Responses and Gemini requests are read through their translation to chat.
func (g *Gateway) checkRequest(ctx context.Context, req *request, p *firewall.Policy, caller *Caller) (*firewall.Guard, *apierr.Error) {
	if p == nil {
		return nil, nil
	}
	view, err := firewall.ReadRequest(req.Endpoint.Format, req.Body, func() ([]byte, error) {
		chat, _, err := provider.For(catalog.OpenAI).TranslateRequest(req.Endpoint.Client(), req.Body, translate.Options{Model: req.Model})
		return chat, err
	})
	view.Model, view.Endpoint = req.Model, req.Endpoint.Name
	var key firewall.Key
	if caller != nil && caller.AccessKey != nil {
		key = firewall.Key{ID: caller.AccessKey.ID, Name: caller.AccessKey.Name, RawMetadata: caller.AccessKey.Metadata}
	}
	gd := &firewall.Guard{Policy: p, Observe: observeFirewall}
	gd.Env = firewall.Env{Request: view, Key: &key, Judge: firewall.JudgeFunc(g.judge)}
	if refusal, refused := gd.CheckRequest(ctx, err); refused {
		return gd, apierr.New(http.StatusForbidden, apierr.FirewallBlocked, refusal)
	}
	return gd, nil
}

// recordBlocked records a request the firewall refused as a usage event
// of its own (no provider was called: no provider, no tokens, no cost),
// so the request log shows it and the decisions that refused it.
func (g *Gateway) recordBlocked(w http.ResponseWriter, r *http.Request, req *request, aerr *apierr.Error) {
	ev := &store.UsageEvent{ID: ids.New("ue"), RequestID: requestID(w, r), Attempt: 1, Timestamp: time.Now().UTC(),
		Model: req.Model, Endpoint: req.Endpoint.Name, Status: aerr.Status, Streaming: req.Stream,
		RetryAction: actionFirewallBlocked, Error: aerr.Message, Firewall: req.guard.UsageDecisions()}
	if c := CallerFrom(r); c != nil && c.AccessKey != nil {
		ev.AccessKeyID, ev.AccountID = c.AccessKey.ID, c.AccountID()
	}
	g.app.shared.Usage.RecordUsage(ev)
}

// actionFirewallBlocked is the retry action of a request the firewall
// refused before any attempt.
const actionFirewallBlocked = "firewall_blocked"

// checkBody runs the response phase on a JSON answer in format f (the
// client's); an answer it cannot read passes unchanged.
func (g *Gateway) checkBody(ctx context.Context, gd *firewall.Guard, f catalog.Format, body []byte) []byte {
	out, err := gd.CheckAnswer(ctx, f, body)
	if err != nil {
		g.logger.Warn("firewall: reading the answer's tool calls", zap.Error(err))
	}
	return out
}

// judgeKey marks the request of a decision rule's judging model: the
// firewall does not check it again (it would ask the judge again).
type judgeKey struct{}

// judge answers a decision rule by asking the rule's model through this
// gateway (selection, failover and the managed keys apply, and its usage
// is recorded), as a request of its own: its own id and Caddy vars, no
// caller (the operator's managed keys serve it, as for a private gateway).
func (g *Gateway) judge(ctx context.Context, q *firewall.JudgeQuery) (bool, error) {
	ctx = context.WithValue(ctx, judgeKey{}, true)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
	ctx = context.WithValue(ctx, callerCtxKey{}, (*Caller)(nil))
	return firewall.JudgeByChat(ctx, q, func(w http.ResponseWriter, r *http.Request) error { return g.ServeHTTP(w, r, nil) })
}
