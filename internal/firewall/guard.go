// guard.go: the firewall's part of one request on the gateway's request
// path: the request phase, the JSON answers and the stream gates, each in
// the wire format the gateway names, and the decisions kept for the
// request's usage event.

package firewall

import (
	"context"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Guard is the firewall's part of one request: the policy in force, the
// request's Env and what was decided. Set Policy and Env (and Observe)
// before the first check; a nil *Guard checks no answer.
type Guard struct {
	Policy *Policy
	Env    Env
	// Decisions are those recorded so far, at most MaxDecisions.
	Decisions []Decision
	// Observe, when set, is told every decision recorded, also those past
	// MaxDecisions (the gateway counts them in its metrics).
	Observe func(Decision)
}

// ReadRequest reads a request body in format f into the firewall's
// neutral view: chat completions and messages directly, any other format
// (Responses, Gemini) through toChat, its translation to a chat completion
// request. A request it cannot read gives an empty view and the error.
func ReadRequest(f catalog.Format, body []byte, toChat func() ([]byte, error)) (*Request, error) {
	var view *Request
	var err error
	switch f {
	case catalog.Anthropic:
		view, err = AnthropicRequest(body)
	case catalog.OpenAI:
		view, err = OpenAIRequest(body)
	default:
		var chat []byte
		if chat, err = toChat(); err == nil {
			view, err = OpenAIRequest(chat)
		}
	}
	if err != nil {
		return &Request{}, err
	}
	return view, nil
}

// CheckRequest runs the request phase on Env.Request. readErr is why the
// request could not be read (see ReadRequest), nil if it could: such a
// request is refused when the policy fails closed (onError block) and
// otherwise checked as read. refused says the request is blocked, and
// refusal is then the message of its 403 firewall_blocked answer, naming
// the rule.
func (g *Guard) CheckRequest(ctx context.Context, readErr error) (refusal string, refused bool) {
	if readErr != nil && g.Policy.OnError != OnErrorContinue {
		return "request blocked by the gateway's firewall: the request cannot be read for its checks: " + readErr.Error(), true
	}
	if !g.Policy.HasRequestRules() {
		return "", false
	}
	v := g.Policy.CheckRequest(ctx, &g.Env)
	g.Record(v.Decisions)
	if v.Blocked {
		return v.Block.RequestError(), true
	}
	return "", false
}

// Record keeps decisions for the usage event and tells Observe of each;
// a nil Guard (no policy in force) records nothing.
func (g *Guard) Record(ds []Decision) {
	if g == nil {
		return
	}
	for _, d := range ds {
		if len(g.Decisions) < MaxDecisions {
			g.Decisions = append(g.Decisions, d)
		}
		if g.Observe != nil {
			g.Observe(d)
		}
	}
}

// ChecksAnswers reports whether the response phase has anything to check
// in the answers of an endpoint of kind k: only generating endpoints
// return tool calls (not embeddings or token counts).
func (g *Guard) ChecksAnswers(k usage.Endpoint) bool {
	if g == nil || !g.Policy.HasResponseRules() {
		return false
	}
	switch k {
	case usage.ChatCompletions, usage.Messages, usage.Responses, usage.GenerateContent:
		return true
	}
	return false
}

// CheckAnswer runs the response phase on a JSON answer in format f and
// records its decisions: blocked tool calls are removed and replaced by
// text saying why. An answer it cannot read, or in a format it has no
// adapter for, is returned unchanged (it has no tool call the firewall
// could find), with the error in the first case.
func (g *Guard) CheckAnswer(ctx context.Context, f catalog.Format, body []byte) ([]byte, error) {
	var check func(context.Context, *Policy, *Env, []byte) ([]byte, []Decision, error)
	switch f {
	case catalog.OpenAI:
		check = CheckOpenAIResponse
	case catalog.Anthropic:
		check = CheckAnthropicResponse
	case catalog.Gemini:
		check = CheckGeminiResponse
	case catalog.Responses:
		check = CheckResponsesResponse
	default:
		return body, nil
	}
	out, ds, err := check(ctx, g.Policy, &g.Env, body)
	g.Record(ds)
	if err != nil {
		return body, err
	}
	return out, nil
}

// Gate returns the stream gate for events in format f, or nil when the
// firewall has none for it. The gate's decisions are not recorded: pass
// them to Record when the stream ends.
func (g *Guard) Gate(ctx context.Context, f catalog.Format) Gate {
	switch f {
	case catalog.OpenAI:
		return NewOpenAIGate(ctx, g.Policy, &g.Env)
	case catalog.Anthropic:
		return NewAnthropicGate(ctx, g.Policy, &g.Env)
	case catalog.Gemini:
		return NewGeminiGate(ctx, g.Policy, &g.Env)
	case catalog.Responses:
		return NewResponsesGate(ctx, g.Policy, &g.Env)
	}
	return nil
}

// UsageDecisions returns the decisions recorded, as the usage event
// stores them; nil when there are none.
func (g *Guard) UsageDecisions() []store.FirewallDecision {
	if g == nil || len(g.Decisions) == 0 {
		return nil
	}
	out := make([]store.FirewallDecision, len(g.Decisions))
	for i, d := range g.Decisions {
		out[i] = store.FirewallDecision{Policy: d.Policy, Rule: d.Rule, RuleName: d.RuleName, Action: string(d.Action),
			Mode: string(d.Mode), Phase: string(d.Phase), Tool: d.Tool, Message: d.Message}
	}
	return out
}
