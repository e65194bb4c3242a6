package firewall

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ValidationError is a policy that cannot be compiled, naming the field as
// a JSON path ("rules[2].regex.pattern"), for a 400 in the management API
// and a Caddyfile error.
type ValidationError struct {
	Rule  int    // the rule's index; -1 for a policy-level field
	Field string // the JSON path of the field
	Err   error
}

func (e *ValidationError) Error() string {
	return e.Field + ": " + e.Err.Error()
}

func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(rule int, field string, format string, args ...any) *ValidationError {
	path := field
	if rule >= 0 {
		path = "rules[" + strconv.Itoa(rule) + "]"
		if field != "" {
			path += "." + field
		}
	}
	return &ValidationError{Rule: rule, Field: path, Err: fmt.Errorf(format, args...)}
}

// Policy is a compiled firewall policy. It is immutable and safe for
// concurrent use.
type Policy struct {
	Name    string
	Mode    Mode
	OnError OnError

	rules    []rule
	request  []*rule // rules of each phase, in order
	response []*rule
	// memoized counts the rules whose result holds for a whole request
	// (see rule.perRequest).
	memoized int
}

type matcherKind uint8

const (
	matchToolName matcherKind = iota
	matchRegex
	matchCEL
	matchDecision
)

// rule is one compiled rule.
type rule struct {
	index   int
	name    string
	message string
	phase   Phase
	action  Action
	kind    matcherKind
	desc    string // the matcher in a few words, for the default message

	glob     glob
	re       *regexp.Regexp
	pre      *prefilter // nil: none known
	on       RegexTarget
	cel      *celRule
	decision DecisionMatcher
	timeout  time.Duration

	// perRequest: the result depends on the request only, not on the
	// call, so it is computed once per Env (memo slot memo).
	perRequest bool
	memo       int
}

// Validate reports whether the policy compiles.
func (c *PolicyConfig) Validate() error {
	_, err := Compile(c)
	return err
}

// Compile checks and compiles a policy: globs parsed, RE2 patterns and CEL
// expressions compiled and type-checked. Errors are *ValidationError.
func Compile(c *PolicyConfig) (*Policy, error) {
	if strings.TrimSpace(c.Name) == "" {
		return nil, invalid(-1, "name", "required")
	}
	p := &Policy{Name: c.Name, Mode: c.Mode, OnError: c.OnError}
	switch p.Mode {
	case "":
		p.Mode = Enforce
	case Enforce, DryRun:
	default:
		return nil, invalid(-1, "mode", "must be %q or %q, not %q", Enforce, DryRun, c.Mode)
	}
	switch p.OnError {
	case "":
		p.OnError = OnErrorBlock
	case OnErrorBlock, OnErrorContinue:
	default:
		return nil, invalid(-1, "onError", "must be %q or %q, not %q", OnErrorBlock, OnErrorContinue, c.OnError)
	}
	if len(c.Rules) > MaxRules {
		return nil, invalid(-1, "rules", "at most %d rules, not %d", MaxRules, len(c.Rules))
	}
	p.rules = make([]rule, len(c.Rules))
	for i := range c.Rules {
		if err := compileRule(&p.rules[i], i, &c.Rules[i]); err != nil {
			return nil, err
		}
	}
	for i := range p.rules {
		r := &p.rules[i]
		if r.perRequest {
			r.memo = p.memoized
			p.memoized++
		}
		if r.phase == PhaseRequest {
			p.request = append(p.request, r)
		} else {
			p.response = append(p.response, r)
		}
	}
	return p, nil
}

// CompilePolicies compiles the policies of the gateway's config (the ai
// app's firewall_policies) into a map by name; each needs a name, unique
// among them.
func CompilePolicies(cs []*PolicyConfig) (map[string]*Policy, error) {
	out := make(map[string]*Policy, len(cs))
	for i, c := range cs {
		if c == nil || c.Name == "" {
			return nil, fmt.Errorf("firewall_policies[%d]: a policy needs a name", i)
		}
		if _, dup := out[c.Name]; dup {
			return nil, fmt.Errorf("firewall_policy %q is defined twice", c.Name)
		}
		p, err := Compile(c)
		if err != nil {
			return nil, fmt.Errorf("firewall_policy %q: %w", c.Name, err)
		}
		out[c.Name] = p
	}
	return out, nil
}

// FailClosed returns a policy named name that blocks every request with
// message: it stands in for a policy that cannot be used, so that what it
// would have checked is refused rather than let through. It panics if
// message is not a valid rule message (longer than MaxMessageLength).
func FailClosed(name, message string) *Policy {
	p, err := Compile(&PolicyConfig{Name: name, Rules: []RuleConfig{{
		Phase: PhaseRequest, Action: Block, CEL: "true", Message: message,
	}}})
	if err != nil {
		panic(err)
	}
	return p
}

func compileRule(r *rule, i int, c *RuleConfig) error {
	*r = rule{index: i, name: c.Name, message: c.Message, phase: c.Phase, action: c.Action}
	switch r.phase {
	case PhaseRequest, PhaseResponse:
	case "":
		return invalid(i, "phase", "required: %q or %q", PhaseRequest, PhaseResponse)
	default:
		return invalid(i, "phase", "must be %q or %q, not %q", PhaseRequest, PhaseResponse, c.Phase)
	}
	switch r.action {
	case "":
		r.action = Block
	case Block, Allow:
	default:
		return invalid(i, "action", "must be %q or %q, not %q", Block, Allow, c.Action)
	}
	if n := utf8.RuneCountInString(c.Message); n > MaxMessageLength {
		return invalid(i, "message", "at most %d characters, not %d", MaxMessageLength, n)
	}
	if len(c.Name) > MaxMessageLength {
		return invalid(i, "name", "at most %d characters", MaxMessageLength)
	}
	var set []string
	if c.ToolName != "" {
		set = append(set, "toolName")
	}
	if c.Regex != nil {
		set = append(set, "regex")
	}
	if c.CEL != "" {
		set = append(set, "cel")
	}
	if c.Decision != nil {
		set = append(set, "decision")
	}
	switch len(set) {
	case 0:
		return invalid(i, "", "needs one matcher: toolName, regex, cel or decision")
	case 1:
	default:
		return invalid(i, "", "has %s: a rule has exactly one matcher", strings.Join(set, " and "))
	}

	switch {
	case c.ToolName != "":
		if len(c.ToolName) > MaxPatternLength {
			return invalid(i, "toolName", "at most %d bytes", MaxPatternLength)
		}
		g, err := compileGlob(c.ToolName)
		if err != nil {
			return invalid(i, "toolName", "%v", err)
		}
		r.kind, r.glob, r.desc = matchToolName, g, "toolName "+strconv.Quote(c.ToolName)

	case c.Regex != nil:
		switch c.Regex.On {
		case OnName, OnArguments:
		case OnText:
			if r.phase != PhaseRequest {
				return invalid(i, "regex.on", "%q applies to the request phase only (the response phase checks tool calls)", OnText)
			}
			r.perRequest = true
		case "":
			return invalid(i, "regex.on", "required: %q, %q or %q", OnName, OnArguments, OnText)
		default:
			return invalid(i, "regex.on", "must be %q, %q or %q, not %q", OnName, OnArguments, OnText, c.Regex.On)
		}
		if c.Regex.Pattern == "" {
			return invalid(i, "regex.pattern", "required")
		}
		if len(c.Regex.Pattern) > MaxPatternLength {
			return invalid(i, "regex.pattern", "at most %d bytes", MaxPatternLength)
		}
		re, err := regexp.Compile(c.Regex.Pattern)
		if err != nil {
			return invalid(i, "regex.pattern", "%v", err)
		}
		r.kind, r.re, r.on = matchRegex, re, c.Regex.On
		r.pre = newPrefilter(c.Regex.Pattern)
		r.desc = "regex on " + string(c.Regex.On) + " " + strconv.Quote(c.Regex.Pattern)

	case c.CEL != "":
		if len(c.CEL) > MaxPatternLength {
			return invalid(i, "cel", "at most %d bytes", MaxPatternLength)
		}
		cr, err := compileCEL(c.CEL)
		if err != nil {
			return invalid(i, "cel", "%v", err)
		}
		r.kind, r.cel, r.perRequest = matchCEL, cr, !cr.readsCall
		r.desc = "cel " + strconv.Quote(c.CEL)

	case c.Decision != nil:
		d := *c.Decision
		d.Model = strings.TrimSpace(d.Model)
		if d.Model == "" {
			return invalid(i, "decision.model", "required")
		}
		if strings.TrimSpace(d.Instruction) == "" {
			return invalid(i, "decision.instruction", "required")
		}
		if n := utf8.RuneCountInString(d.Instruction); n > MaxInstruction {
			return invalid(i, "decision.instruction", "at most %d characters, not %d", MaxInstruction, n)
		}
		r.timeout = time.Duration(d.Timeout)
		switch {
		case r.timeout == 0:
			r.timeout = DefaultJudgeLimit
		case r.timeout < 0 || r.timeout > MaxJudgeTimeout:
			return invalid(i, "decision.timeout", "must be between 0 and %s", MaxJudgeTimeout)
		}
		// A request-phase decision judges the whole request, once.
		r.kind, r.decision, r.perRequest = matchDecision, d, r.phase == PhaseRequest
		r.desc = "decision by " + d.Model
	}
	if len(r.desc) > 120 {
		cut := 117
		for cut > 0 && !utf8.RuneStart(r.desc[cut]) {
			cut--
		}
		r.desc = r.desc[:cut] + "..."
	}
	return nil
}

// HasRequestRules reports whether the request phase has anything to check,
// so the gateway can skip extracting a Request.
func (p *Policy) HasRequestRules() bool { return p != nil && len(p.request) > 0 }

// HasResponseRules reports whether answers need checking (and streams a
// gate).
func (p *Policy) HasResponseRules() bool { return p != nil && len(p.response) > 0 }

var errNoJudge = errors.New("no model is available to judge decision rules")
