package firewall

import (
	"context"
	"strconv"
)

// Env is what one request's checks read: the request, the access key and
// the Judge for decision rules. It remembers, for the request, the result
// of each rule about the request as a whole, so the same Env serves the
// request phase and every tool call of the answer. Set its fields before
// the first check and leave them; an Env is not safe for concurrent use.
type Env struct {
	Request *Request
	Key     *Key
	// Judge answers decision rules; nil makes them fail (onError).
	Judge Judge

	policy   *Policy
	memo     []memoEntry
	memoBuf  [16]memoEntry
	call     callVal // the subject being checked
	noCall   callVal // call for rules about the request as a whole
	declared Call    // the declared tool being checked
	req      requestVal
	key      keyVal
	act      activation // call is the subject
	reqAct   activation // call is empty
}

type memoEntry struct {
	done, matched bool
	err           error
}

// bind readies the Env for p's rules.
func (e *Env) bind(p *Policy) {
	if e.policy == p {
		return
	}
	e.policy = p
	if p.memoized <= len(e.memoBuf) {
		e.memo = e.memoBuf[:p.memoized]
	} else {
		e.memo = make([]memoEntry, p.memoized)
	}
	clear(e.memo)
	e.req = requestVal{r: e.Request}
	e.key = keyVal{k: e.Key}
	e.noCall = callVal{c: &Call{}}
	e.act = activation{call: &e.call, req: &e.req, key: &e.key}
	e.reqAct = activation{call: &e.noCall, req: &e.req, key: &e.key}
}

func (e *Env) request() *Request { return e.req.req() }

// Decision is one rule that matched (or could not be evaluated), as
// recorded on the usage event and counted in the metrics.
type Decision struct {
	Policy   string `json:"policy"`
	Rule     int    `json:"rule"` // the rule's index in the policy
	RuleName string `json:"ruleName,omitempty"`
	// Message is the rule's message, or one naming the rule.
	Message string `json:"message"`
	// Action is what the firewall did: block, allow, or continue (the
	// rule could not be evaluated and onError is continue).
	Action Action `json:"action"`
	Mode   Mode   `json:"mode"`
	Phase  Phase  `json:"phase"`
	// Tool is the tool name the decision is about; empty for the request
	// as a whole (text, a request-phase decision rule).
	Tool   string `json:"tool,omitempty"`
	CallID string `json:"callId,omitempty"`
	// Error is why the rule could not be evaluated (for logs; the client
	// sees only Message).
	Error string `json:"error,omitempty"`
}

// Blocks reports whether the decision is enforced: a block in enforce mode.
func (d *Decision) Blocks() bool { return d.Action == Block && d.Mode == Enforce }

// CallText is the text that replaces a blocked tool call, telling the
// model and the client why.
func (d *Decision) CallText() string {
	return "[tool call " + d.Tool + " blocked by the gateway's firewall: " + d.Message + "]"
}

// RequestError is the message of a blocked request's 403
// firewall_blocked error, naming the policy and the rule.
func (d *Decision) RequestError() string {
	s := "request blocked by the gateway's firewall (policy " + strconv.Quote(d.Policy) + ", rule " + strconv.Itoa(d.Rule)
	if d.RuleName != "" {
		s += " " + strconv.Quote(d.RuleName)
	}
	s += ")"
	if d.Tool != "" {
		s += " on tool " + d.Tool
	}
	return s + ": " + d.Message
}

// MaxDecisions bounds the decisions one check records; a request declaring
// hundreds of tools under an allow-all rule records the first ones.
const MaxDecisions = 64

// Verdict is the outcome of a check.
type Verdict struct {
	// Blocked: a block decision is enforced; Block is the first one.
	Blocked bool
	Block   Decision
	// Decisions lists every rule that decided a subject (allow and block,
	// enforced or dry-run) and every rule that could not be evaluated,
	// each (rule, tool, action) once.
	Decisions []Decision
}

// WouldBlock reports whether a rule decided to block, enforced or not: in
// dryRun, what enforce would have done.
func (v *Verdict) WouldBlock() bool {
	for i := range v.Decisions {
		if v.Decisions[i].Action == Block {
			return true
		}
	}
	return v.Blocked
}

func (v *Verdict) add(d Decision) {
	if d.Blocks() && !v.Blocked {
		v.Blocked, v.Block = true, d
	}
	for i := range v.Decisions {
		o := &v.Decisions[i]
		if o.Rule == d.Rule && o.Tool == d.Tool && o.Action == d.Action && o.Phase == d.Phase {
			return
		}
	}
	if len(v.Decisions) < MaxDecisions {
		v.Decisions = append(v.Decisions, d)
	}
}

// subject is what one rule pass decides about: a call (declared tool,
// tool result, returned call) or, with call nil, the request as a whole.
type subject struct {
	call *Call
	kind string
}

// CheckRequest runs the request-phase rules on env.Request: the request as
// a whole, each declared tool and each tool result. In enforce mode it
// stops at the first block; in dry-run it checks everything.
func (p *Policy) CheckRequest(ctx context.Context, env *Env) Verdict {
	var v Verdict
	if len(p.request) == 0 {
		return v
	}
	env.bind(p)
	p.check(ctx, env, p.request, subject{}, &v)
	req := env.request()
	for i := range req.Tools {
		if v.Blocked {
			return v
		}
		env.declared = Call{Name: req.Tools[i]}
		p.check(ctx, env, p.request, subject{call: &env.declared, kind: kindDeclared}, &v)
	}
	for i := range req.ToolResults {
		if v.Blocked {
			return v
		}
		p.check(ctx, env, p.request, subject{call: &req.ToolResults[i], kind: kindResult}, &v)
	}
	return v
}

// CheckCall runs the response-phase rules on one tool call the model
// returned.
func (p *Policy) CheckCall(ctx context.Context, env *Env, call *Call) Verdict {
	var v Verdict
	if len(p.response) == 0 {
		return v
	}
	env.bind(p)
	p.check(ctx, env, p.response, subject{call: call, kind: kindCall}, &v)
	return v
}

// check gives a subject its decision: the first rule that applies and
// matches.
func (p *Policy) check(ctx context.Context, env *Env, rules []*rule, s subject, v *Verdict) {
	if s.call != nil {
		env.call = callVal{c: s.call, kind: s.kind} // arguments parsed once per subject
	}
	for _, r := range rules {
		if !r.applies(s) {
			continue
		}
		matched, err := p.match(ctx, env, r, s)
		if err != nil {
			if p.OnError == OnErrorContinue {
				v.add(p.decision(r, s, Continue, err))
				continue
			}
			v.add(p.decision(r, s, Block, err))
			return
		}
		if matched {
			v.add(p.decision(r, s, r.action, nil))
			return
		}
	}
}

func (p *Policy) decision(r *rule, s subject, action Action, err error) Decision {
	d := Decision{
		Policy: p.Name, Rule: r.index, RuleName: r.name, Message: r.message,
		Action: action, Mode: p.Mode, Phase: r.phase,
	}
	if s.call != nil {
		d.Tool, d.CallID = s.call.Name, s.call.ID
	}
	if err != nil {
		d.Error = err.Error()
		// The rule's own message speaks of a match that did not happen.
		d.Message = "rule " + r.label() + " could not be evaluated"
	} else if d.Message == "" {
		d.Message = "rule " + r.label()
	}
	return d
}

// label names the rule: its index, name and matcher.
func (r *rule) label() string {
	s := strconv.Itoa(r.index)
	if r.name != "" {
		s += " " + strconv.Quote(r.name)
	}
	return s + " (" + r.desc + ")"
}

// applies reports whether the rule reads what the subject has.
func (r *rule) applies(s subject) bool {
	if r.perRequest {
		return true
	}
	if s.call == nil {
		return false
	}
	if r.kind == matchRegex && r.on == OnArguments && s.kind == kindDeclared {
		return false // a declared tool has no arguments
	}
	return true
}

func (p *Policy) match(ctx context.Context, env *Env, r *rule, s subject) (bool, error) {
	if r.perRequest {
		m := &env.memo[r.memo]
		if !m.done {
			m.matched, m.err = p.matchRequest(ctx, env, r)
			m.done = true
		}
		return m.matched, m.err
	}
	c := s.call
	switch r.kind {
	case matchToolName:
		return r.glob.match(c.Name), nil
	case matchRegex:
		subj := c.Arguments
		if r.on == OnName {
			subj = c.Name
		}
		if r.pre != nil && !r.pre.mayMatch(subj) {
			return false, nil
		}
		return r.re.MatchString(subj), nil
	case matchCEL:
		return r.cel.eval(&env.act)
	case matchDecision:
		return r.judge(ctx, env, c)
	}
	return false, nil
}

// matchRequest evaluates a rule about the request as a whole.
func (p *Policy) matchRequest(ctx context.Context, env *Env, r *rule) (bool, error) {
	switch r.kind {
	case matchRegex: // on text
		for _, t := range env.request().Text {
			if r.pre != nil && !r.pre.mayMatch(t) {
				continue
			}
			if r.re.MatchString(t) {
				return true, nil
			}
		}
		return false, nil
	case matchCEL:
		return r.cel.eval(&env.reqAct)
	case matchDecision:
		return r.judge(ctx, env, nil)
	}
	return false, nil
}
