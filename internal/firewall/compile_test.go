package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		field  string // the ValidationError's Field
		rule   int
		msg    string // in the error text
	}{
		{"no name", `{"rules":[]}`, "name", -1, "required"},
		{"bad mode", `{"name":"p","mode":"audit","rules":[]}`, "mode", -1, `"enforce" or "dryRun"`},
		{"bad onError", `{"name":"p","onError":"ignore","rules":[]}`, "onError", -1, `"block" or "continue"`},
		{"no phase", `{"name":"p","rules":[{"toolName":"x"}]}`, "rules[0].phase", 0, "required"},
		{"bad phase", `{"name":"p","rules":[{"phase":"both","toolName":"x"}]}`, "rules[0].phase", 0, `not "both"`},
		{"bad action", `{"name":"p","rules":[{"phase":"request","action":"deny","toolName":"x"}]}`, "rules[0].action", 0, `not "deny"`},
		{"no matcher", `{"name":"p","rules":[{"phase":"request"}]}`, "rules[0]", 0, "needs one matcher"},
		{"two matchers", `{"name":"p","rules":[{"phase":"request","toolName":"a"},{"phase":"response","toolName":"x","cel":"true"}]}`, "rules[1]", 1, "toolName and cel"},
		{"bad glob", `{"name":"p","rules":[{"phase":"response","toolName":"get_[a"}]}`, "rules[0].toolName", 0, `without its "]"`},
		{"regex on missing", `{"name":"p","rules":[{"phase":"response","regex":{"pattern":"x"}}]}`, "rules[0].regex.on", 0, "required"},
		{"regex on bad", `{"name":"p","rules":[{"phase":"response","regex":{"on":"body","pattern":"x"}}]}`, "rules[0].regex.on", 0, `not "body"`},
		{"regex text in response", `{"name":"p","rules":[{"phase":"response","regex":{"on":"text","pattern":"x"}}]}`, "rules[0].regex.on", 0, "request phase only"},
		{"regex no pattern", `{"name":"p","rules":[{"phase":"request","regex":{"on":"text"}}]}`, "rules[0].regex.pattern", 0, "required"},
		{"regex bad", `{"name":"p","rules":[{"phase":"request","regex":{"on":"text","pattern":"(a"}}]}`, "rules[0].regex.pattern", 0, "missing closing )"},
		{"regex backreference (not RE2)", `{"name":"p","rules":[{"phase":"request","regex":{"on":"text","pattern":"(a)\\1"}}]}`, "rules[0].regex.pattern", 0, "invalid escape"},
		{"cel syntax", `{"name":"p","rules":[{"phase":"response","cel":"call.name =="}]}`, "rules[0].cel", 0, "Syntax error"},
		{"cel unknown field", `{"name":"p","rules":[{"phase":"response","cel":"call.nmae == 'x'"}]}`, "rules[0].cel", 0, "nmae"},
		{"cel unknown variable", `{"name":"p","rules":[{"phase":"response","cel":"request.model == 'x'"}]}`, "rules[0].cel", 0, "undeclared reference"},
		{"cel not bool", `{"name":"p","rules":[{"phase":"response","cel":"call.name"}]}`, "rules[0].cel", 0, "must evaluate to a bool"},
		{"decision no model", `{"name":"p","rules":[{"phase":"response","decision":{"instruction":"x"}}]}`, "rules[0].decision.model", 0, "required"},
		{"decision no instruction", `{"name":"p","rules":[{"phase":"response","decision":{"model":"m"}}]}`, "rules[0].decision.instruction", 0, "required"},
		{"decision timeout", `{"name":"p","rules":[{"phase":"response","decision":{"model":"m","instruction":"x","timeout":"1h"}}]}`, "rules[0].decision.timeout", 0, "between"},
		{"long message", `{"name":"p","rules":[{"phase":"response","toolName":"x","message":"` + strings.Repeat("m", MaxMessageLength+1) + `"}]}`, "rules[0].message", 0, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c PolicyConfig
			if err := json.Unmarshal([]byte(tt.policy), &c); err != nil {
				t.Fatal(err)
			}
			_, err := Compile(&c)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Compile = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || ve.Rule != tt.rule {
				t.Errorf("field %q rule %d, want %q rule %d (%v)", ve.Field, ve.Rule, tt.field, tt.rule, err)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("error %q: want it to start with %q and contain %q", err, tt.field+": ", tt.msg)
			}
		})
	}
}

func TestCompileTooManyRules(t *testing.T) {
	c := PolicyConfig{Name: "p"}
	for range MaxRules + 1 {
		c.Rules = append(c.Rules, RuleConfig{Phase: PhaseResponse, ToolName: "x"})
	}
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "rules: at most") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestCompileDefaults(t *testing.T) {
	c := PolicyConfig{Name: "p", Rules: []RuleConfig{
		{Phase: PhaseResponse, ToolName: "x"},
		{Phase: PhaseResponse, Decision: &DecisionMatcher{Model: "m", Instruction: "i"}},
		{Phase: PhaseResponse, Decision: &DecisionMatcher{Model: "m", Instruction: "i", Timeout: Duration(2 * time.Second)}},
	}}
	p, err := Compile(&c)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != Enforce || p.OnError != OnErrorBlock {
		t.Errorf("mode %q onError %q, want enforce and block", p.Mode, p.OnError)
	}
	if p.rules[0].action != Block {
		t.Errorf("action %q, want block", p.rules[0].action)
	}
	if p.rules[1].timeout != DefaultJudgeLimit || p.rules[2].timeout != 2*time.Second {
		t.Errorf("timeouts %v %v", p.rules[1].timeout, p.rules[2].timeout)
	}
	if p.HasRequestRules() || !p.HasResponseRules() {
		t.Error("HasRequestRules/HasResponseRules wrong")
	}
}

func TestPolicyJSONRoundTrip(t *testing.T) {
	src := `{"name":"agents","mode":"dryRun","onError":"continue","rules":[` +
		`{"name":"no-delete","phase":"response","action":"block","message":"no deleting","toolName":"delete_*"},` +
		`{"phase":"request","regex":{"on":"text","pattern":"(?i)password"}},` +
		`{"phase":"response","cel":"call.arguments.amount > 100"},` +
		`{"phase":"response","decision":{"model":"gpt-4o-mini","instruction":"deletes data","timeout":"3s"}}]}`
	var c PolicyConfig
	if err := json.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		t.Fatal(err)
	}
	if b := bytes.TrimSpace(buf.Bytes()); string(b) != src {
		t.Errorf("round trip:\n got %s\nwant %s", b, src)
	}
	var d Duration
	if err := json.Unmarshal([]byte(`2.5`), &d); err != nil || time.Duration(d) != 2500*time.Millisecond {
		t.Errorf("Duration from seconds: %v %v", d, err)
	}
}

func TestCompilePolicies(t *testing.T) {
	named := func(n string) *PolicyConfig { return &PolicyConfig{Name: n, Rules: []RuleConfig{}} }
	tests := []struct {
		name    string
		configs []*PolicyConfig
		names   []string // compiled, when no error
		err     string   // in the error text
	}{
		{"none", nil, nil, ""},
		{"two", []*PolicyConfig{named("a"), named("b")}, []string{"a", "b"}, ""},
		{"nil", []*PolicyConfig{named("a"), nil}, nil, "firewall_policies[1]: a policy needs a name"},
		{"no name", []*PolicyConfig{named("")}, nil, "firewall_policies[0]: a policy needs a name"},
		{"twice", []*PolicyConfig{named("a"), named("a")}, nil, `firewall_policy "a" is defined twice`},
		{"invalid", []*PolicyConfig{{Name: "a", Mode: "audit"}}, nil, `firewall_policy "a": mode`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CompilePolicies(tt.configs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.names) {
				t.Fatalf("%d policies, want %v", len(got), tt.names)
			}
			for _, n := range tt.names {
				if got[n] == nil || got[n].Name != n {
					t.Errorf("policy %q: %+v", n, got[n])
				}
			}
		})
	}
}

// TestFailClosed: the stand-in for a policy that cannot be used refuses
// every request, whatever it carries.
func TestFailClosed(t *testing.T) {
	p := FailClosed("unavailable", "cannot be used")
	for _, req := range []*Request{{}, {Model: "gpt-4o", Text: []string{"hi"}, Tools: []string{"read_file"}}} {
		v := p.CheckRequest(context.Background(), &Env{Request: req, Key: &Key{}})
		if !v.Blocked || v.Block.Policy != "unavailable" || v.Block.Message != "cannot be used" {
			t.Fatalf("request %+v: %+v", req, v)
		}
	}
}
