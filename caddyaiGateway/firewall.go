// firewall.go: the firewall on the request path (DESIGN §10,
// internal/firewall). The request phase runs after the request is read
// and before any provider is called; the response phase checks the tool
// calls of a JSON answer before it is written, and of a stream through a
// gate the client's events pass (a tool call held until whole, text at
// once).

package caddyaigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// guard is the firewall's part of one request: the policy in force, the
// request's neutral view, and what was decided.
type guard struct {
	policy    *firewall.Policy
	env       firewall.Env
	decisions []firewall.Decision
}

// checkRequest runs the request phase of the policy in force (nil: none):
// it returns the request's guard, or the 403 firewall_blocked answer
// naming the rule. A request the firewall cannot read is refused when the
// policy fails closed (onError block).
func (g *Gateway) checkRequest(ctx context.Context, req *request, p *firewall.Policy, caller *Caller) (*guard, *apierr.Error) {
	if p == nil {
		return nil, nil
	}
	gd := &guard{policy: p}
	view, err := firewallView(req)
	if err != nil {
		if p.OnError != firewall.OnErrorContinue {
			return gd, apierr.New(http.StatusForbidden, apierr.FirewallBlocked,
				"request blocked by the gateway's firewall: the request cannot be read for its checks: "+err.Error())
		}
		view = &firewall.Request{}
	}
	view.Model, view.Endpoint = req.Model, req.Endpoint.Name
	gd.env.Request = view
	gd.env.Judge = firewall.JudgeFunc(g.judge)
	if caller != nil && caller.AccessKey != nil {
		gd.env.Key = &firewall.Key{ID: caller.AccessKey.ID, Name: caller.AccessKey.Name, RawMetadata: caller.AccessKey.Metadata}
	} else {
		gd.env.Key = &firewall.Key{}
	}
	if !p.HasRequestRules() {
		return gd, nil
	}
	v := p.CheckRequest(ctx, &gd.env)
	gd.record(v.Decisions)
	if v.Blocked {
		return gd, apierr.New(http.StatusForbidden, apierr.FirewallBlocked, v.Block.RequestError())
	}
	return gd, nil
}

// firewallView reads the request in the client's format into the
// firewall's neutral view: chat and messages directly, Responses and
// Gemini requests through their translation to chat.
func firewallView(req *request) (*firewall.Request, error) {
	switch req.Endpoint.Format {
	case catalog.Anthropic:
		return firewall.AnthropicRequest(req.Body)
	case catalog.OpenAI:
		return firewall.OpenAIRequest(req.Body)
	}
	chat, _, err := provider.For(catalog.OpenAI).TranslateRequest(req.Endpoint.Client(), req.Body, translate.Options{Model: req.Model})
	if err != nil {
		return nil, err
	}
	return firewall.OpenAIRequest(chat)
}

// record keeps decisions for the usage event and counts them.
func (gd *guard) record(ds []firewall.Decision) {
	for _, d := range ds {
		if len(gd.decisions) < firewall.MaxDecisions {
			gd.decisions = append(gd.decisions, d)
		}
		observeFirewall(d)
	}
}

// checks reports whether the response phase has anything to check in the
// answers of ep (generating endpoints: not embeddings or token counts).
func (gd *guard) checks(ep *clientreq.Endpoint) bool {
	if gd == nil || !gd.policy.HasResponseRules() {
		return false
	}
	switch ep.Kind {
	case usage.ChatCompletions, usage.Messages, usage.Responses, usage.GenerateContent:
		return true
	}
	return false
}

// checkBody runs the response phase on a JSON answer in format f (the
// client's, or the provider's before translation): blocked tool calls are
// removed and replaced by text saying why. An answer it cannot read
// passes unchanged (it has no tool call the gateway could find).
func (g *Gateway) checkBody(ctx context.Context, gd *guard, f catalog.Format, body []byte) []byte {
	var out []byte
	var ds []firewall.Decision
	var err error
	switch f {
	case catalog.OpenAI:
		out, ds, err = firewall.CheckOpenAIResponse(ctx, gd.policy, &gd.env, body)
	case catalog.Anthropic:
		out, ds, err = firewall.CheckAnthropicResponse(ctx, gd.policy, &gd.env, body)
	case catalog.Gemini:
		out, ds, err = firewall.CheckGeminiResponse(ctx, gd.policy, &gd.env, body)
	case catalog.Responses:
		out, ds, err = firewall.CheckResponsesResponse(ctx, gd.policy, &gd.env, body)
	default:
		return body
	}
	gd.record(ds)
	if err != nil {
		g.logger.Warn("firewall: reading the answer's tool calls", zap.Error(err))
		return body
	}
	return out
}

// gateFor returns the stream gate for events in format f, or nil when
// the firewall has no gate for it.
func gateFor(ctx context.Context, gd *guard, f catalog.Format) firewall.Gate {
	switch f {
	case catalog.OpenAI:
		return firewall.NewOpenAIGate(ctx, gd.policy, &gd.env)
	case catalog.Anthropic:
		return firewall.NewAnthropicGate(ctx, gd.policy, &gd.env)
	case catalog.Gemini:
		return firewall.NewGeminiGate(ctx, gd.policy, &gd.env)
	case catalog.Responses:
		return firewall.NewResponsesGate(ctx, gd.policy, &gd.env)
	}
	return nil
}

// usageDecisions converts decisions for a usage event.
func usageDecisions(ds []firewall.Decision) []store.FirewallDecision {
	if len(ds) == 0 {
		return nil
	}
	out := make([]store.FirewallDecision, len(ds))
	for i, d := range ds {
		out[i] = store.FirewallDecision{Policy: d.Policy, Rule: d.Rule, RuleName: d.RuleName, Action: string(d.Action),
			Mode: string(d.Mode), Phase: string(d.Phase), Tool: d.Tool, Message: d.Message}
	}
	return out
}

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
		// The configuration names a policy this node cannot use (stored
		// by another version and not compilable here): fail closed.
		return unusablePolicy
	}
	return g.firewall
}

// unusablePolicy refuses every request: it stands in for a policy an
// access key configuration names that this node cannot compile.
var unusablePolicy = func() *firewall.Policy {
	p, err := firewall.Compile(&firewall.PolicyConfig{Name: "unavailable", Rules: []firewall.RuleConfig{{
		Phase: firewall.PhaseRequest, Action: firewall.Block, CEL: "true",
		Message: "the firewall policy of this key's configuration cannot be used by this gateway node; see its log",
	}}})
	if err != nil {
		panic(err)
	}
	return p
}()

// recordBlocked records a request the firewall refused as a usage event
// of its own (no provider was called: no provider, no tokens, no cost),
// so the request log shows it and the decisions that refused it.
func (g *Gateway) recordBlocked(w http.ResponseWriter, r *http.Request, req *request, aerr *apierr.Error) {
	ev := &store.UsageEvent{ID: ids.New("ue"), RequestID: requestID(w, r), Attempt: 1, Timestamp: time.Now().UTC(),
		Model: req.Model, Endpoint: req.Endpoint.Name, Status: aerr.Status, Streaming: req.Stream,
		RetryAction: actionFirewallBlocked, Error: aerr.Message, Firewall: usageDecisions(req.guard.decisions)}
	if c := CallerFrom(r); c != nil && c.AccessKey != nil {
		ev.AccessKeyID, ev.AccountID = c.AccessKey.ID, c.AccountID()
	}
	g.app.shared.usage.RecordUsage(ev)
}

// actionFirewallBlocked is the retry action of a request the firewall
// refused before any attempt.
const actionFirewallBlocked = "firewall_blocked"

// judgeKey marks the request of a decision rule's judging model: the
// firewall does not check it again (it would ask the judge again).
type judgeKey struct{}

// judge answers a decision rule by asking the rule's model through this
// gateway: a chat completion to that model (any of the request's model
// forms; selection, failover and the managed keys apply, and its usage is
// recorded), with the question of firewall.JudgeQuery.Prompt, answered
// YES or NO.
func (g *Gateway) judge(ctx context.Context, q *firewall.JudgeQuery) (bool, error) {
	system, user := q.Prompt()
	body, err := json.Marshal(map[string]any{"model": q.Model, "max_tokens": 16, "temperature": 0,
		"messages": []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}}})
	if err != nil {
		return false, err
	}
	// A request of its own: its own id and Caddy vars, no caller (the
	// operator's managed keys serve it, as for a private gateway).
	jctx := context.WithValue(ctx, judgeKey{}, true)
	jctx = context.WithValue(jctx, caddyhttp.VarsCtxKey, map[string]any{})
	jctx = context.WithValue(jctx, callerCtxKey{}, (*Caller)(nil))
	r, err := http.NewRequestWithContext(jctx, http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	r.Header.Set("Content-Type", "application/json")
	w := &judgeRecorder{header: http.Header{}, status: http.StatusOK}
	if err := g.ServeHTTP(w, r, nil); err != nil {
		return false, err
	}
	if w.status != http.StatusOK {
		return false, fmt.Errorf("the judging model %s answered %d: %.300s", q.Model, w.status, w.body.Bytes())
	}
	var answer struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(w.body.Bytes(), &answer); err != nil || len(answer.Choices) == 0 {
		return false, fmt.Errorf("the judging model %s gave no answer", q.Model)
	}
	return firewall.ParseJudgeAnswer(answer.Choices[0].Message.Content)
}

// judgeRecorder is the http.ResponseWriter of a judging request.
type judgeRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (w *judgeRecorder) Header() http.Header { return w.header }
func (w *judgeRecorder) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
}

func (w *judgeRecorder) Write(b []byte) (int, error) {
	w.wrote = true
	if w.body.Len()+len(b) > 1<<20 {
		return 0, errors.New("judge answer too large")
	}
	return w.body.Write(b)
}
