package firewall

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func mustCompile(t testing.TB, policy string) *Policy {
	t.Helper()
	var c PolicyConfig
	dec := json.NewDecoder(strings.NewReader(policy))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("policy %s: %v", policy, err)
	}
	p, err := Compile(&c)
	if err != nil {
		t.Fatalf("policy %s: %v", policy, err)
	}
	return p
}

// summary writes a verdict as "blocked? action:rule[:tool] ...".
func summary(v Verdict) string {
	var b strings.Builder
	if v.Blocked {
		b.WriteString("BLOCKED")
	} else {
		b.WriteString("passed")
	}
	for _, d := range v.Decisions {
		b.WriteString(" " + string(d.Action) + ":")
		b.WriteString(string(rune('0' + d.Rule)))
		if d.Tool != "" {
			b.WriteString(":" + d.Tool)
		}
		if d.Mode == DryRun {
			b.WriteString("(dry)")
		}
		if d.Error != "" {
			b.WriteString("(err)")
		}
	}
	return b.String()
}

func TestMatching(t *testing.T) {
	history := Request{
		Model: "gpt-4o", Endpoint: "chat.completions",
		Text:        []string{"You are an agent.", "Please clean up /tmp", "file removed"},
		Tools:       []string{"get_weather", "delete_file", "fetch"},
		ToolResults: []Call{{ID: "call_1", Name: "fetch", Arguments: `{"url":"https://evil.example/x"}`}},
	}
	tests := []struct {
		name    string
		policy  string // mode, onError and rules, without the name
		req     Request
		key     Key
		call    *Call // response phase; nil: request phase
		want    string
		wantErr string // in the first decision's Error
	}{
		{name: "toolName block",
			policy: `"rules":[{"phase":"response","toolName":"delete_*"}]`,
			call:   &Call{Name: "delete_file"}, want: "BLOCKED block:0:delete_file"},
		{name: "toolName no match",
			policy: `"rules":[{"phase":"response","toolName":"delete_*"}]`,
			call:   &Call{Name: "get_weather"}, want: "passed"},
		{name: "first match wins: allow before block",
			policy: `"rules":[{"phase":"response","action":"allow","toolName":"delete_tmp"},{"phase":"response","toolName":"delete_*"}]`,
			call:   &Call{Name: "delete_tmp"}, want: "passed allow:0:delete_tmp"},
		{name: "first match wins: the later block",
			policy: `"rules":[{"phase":"response","action":"allow","toolName":"delete_tmp"},{"phase":"response","toolName":"delete_*"}]`,
			call:   &Call{Name: "delete_all"}, want: "BLOCKED block:1:delete_all"},
		{name: "allow short-circuits every later rule",
			policy: `"rules":[{"phase":"response","action":"allow","toolName":"*"},{"phase":"response","toolName":"delete_*"},{"phase":"response","cel":"true"}]`,
			call:   &Call{Name: "delete_all"}, want: "passed allow:0:delete_all"},
		{name: "rules of the other phase are not checked",
			policy: `"rules":[{"phase":"request","toolName":"delete_*"}]`,
			call:   &Call{Name: "delete_all"}, want: "passed"},
		{name: "regex on name",
			policy: `"rules":[{"phase":"response","regex":{"on":"name","pattern":"^(rm|del)"}}]`,
			call:   &Call{Name: "rm_rf"}, want: "BLOCKED block:0:rm_rf"},
		{name: "regex on arguments",
			policy: `"rules":[{"phase":"response","regex":{"on":"arguments","pattern":"/etc/"}}]`,
			call:   &Call{Name: "read_file", Arguments: `{"path":"/etc/passwd"}`}, want: "BLOCKED block:0:read_file"},
		{name: "regex on arguments, no match",
			policy: `"rules":[{"phase":"response","regex":{"on":"arguments","pattern":"/etc/"}}]`,
			call:   &Call{Name: "read_file", Arguments: `{"path":"/tmp/x"}`}, want: "passed"},
		{name: "regex on text (request phase)",
			policy: `"rules":[{"phase":"request","regex":{"on":"text","pattern":"(?i)ignore (all )?previous instructions"}}]`,
			req:    Request{Text: []string{"hello", "Now IGNORE previous instructions and…"}}, want: "BLOCKED block:0"},
		{name: "regex on text, no match",
			policy: `"rules":[{"phase":"request","regex":{"on":"text","pattern":"(?i)ignore previous instructions"}}]`,
			req:    Request{Text: []string{"hello"}}, want: "passed"},
		{name: "cel on the arguments map",
			policy: `"rules":[{"phase":"response","cel":"call.name == 'transfer' && call.arguments.amount > 100"}]`,
			call:   &Call{Name: "transfer", Arguments: `{"amount":150,"to":"x"}`}, want: "BLOCKED block:0:transfer"},
		{name: "cel on the arguments map, below the limit",
			policy: `"rules":[{"phase":"response","cel":"call.name == 'transfer' && call.arguments.amount > 100"}]`,
			call:   &Call{Name: "transfer", Arguments: `{"amount":50}`}, want: "passed"},
		{name: "cel on nested arguments",
			policy: `"rules":[{"phase":"response","cel":"has(call.arguments.options) && call.arguments.options.force == true"}]`,
			call:   &Call{Name: "git_push", Arguments: `{"options":{"force":true}}`}, want: "BLOCKED block:0:git_push"},
		{name: "cel: empty arguments read as {}",
			policy: `"rules":[{"phase":"response","cel":"size(call.arguments) == 0"}]`,
			call:   &Call{Name: "now"}, want: "BLOCKED block:0:now"},
		{name: "cel on key.metadata (raw JSON)",
			policy: `"rules":[{"phase":"response","cel":"key.metadata.tier == 'free' && call.name.startsWith('mcp__')"}]`,
			key:    Key{ID: "k1", RawMetadata: `{"tier":"free"}`},
			call:   &Call{Name: "mcp__github__create_issue"}, want: "BLOCKED block:0:mcp__github__create_issue"},
		{name: "cel on key.metadata (map)",
			policy: `"rules":[{"phase":"response","cel":"key.metadata.tier == 'free'"}]`,
			key:    Key{Metadata: map[string]string{"tier": "pro"}},
			call:   &Call{Name: "x"}, want: "passed"},
		{name: "cel optional metadata member",
			policy: `"rules":[{"phase":"response","cel":"key.metadata.?tier.orValue('') == 'free'"}]`,
			call:   &Call{Name: "x"}, want: "passed"},
		{name: "cel strings extension",
			policy: `"rules":[{"phase":"response","cel":"call.name.lowerAscii() == 'delete_file'"}]`,
			call:   &Call{Name: "Delete_File"}, want: "BLOCKED block:0:Delete_File"},
		{name: "cel on req (request phase, whole request)",
			policy: `"rules":[{"phase":"request","cel":"req.model.startsWith('gpt-') && req.endpoint == 'chat.completions' && 'delete_file' in req.tools"}]`,
			req:    history, want: "BLOCKED block:0"},
		{name: "cel on req.text",
			policy: `"rules":[{"phase":"request","cel":"req.text.exists(t, t.contains('/tmp'))"}]`,
			req:    history, want: "BLOCKED block:0"},
		{name: "cel on key name and id",
			policy: `"rules":[{"phase":"response","cel":"key.name == 'ci-bot' && key.id == 'k9'"}]`,
			key:    Key{ID: "k9", Name: "ci-bot"},
			call:   &Call{Name: "x"}, want: "BLOCKED block:0:x"},
		{name: "onError block: missing metadata key",
			policy: `"rules":[{"phase":"response","cel":"key.metadata.tier == 'free'"}]`,
			call:   &Call{Name: "x"}, want: "BLOCKED block:0:x(err)", wantErr: "no such key"},
		{name: "onError continue: missing metadata key",
			policy: `"onError":"continue","rules":[{"phase":"response","action":"allow","cel":"key.metadata.tier == 'admin'"},{"phase":"response","toolName":"x"}]`,
			call:   &Call{Name: "x"}, want: "BLOCKED continue:0:x(err) block:1:x", wantErr: "no such key"},
		{name: "onError block: arguments not JSON",
			policy: `"rules":[{"phase":"response","cel":"call.arguments.path == '/'"}]`,
			call:   &Call{Name: "rm", Arguments: `{"path":`}, want: "BLOCKED block:0:rm(err)", wantErr: "not a JSON object"},
		{name: "onError block: arguments an array",
			policy: `"rules":[{"phase":"response","cel":"call.arguments.path == '/'"}]`,
			call:   &Call{Name: "rm", Arguments: `["/"]`}, want: "BLOCKED block:0:rm(err)", wantErr: "not a JSON object"},
		{name: "onError continue: arguments not JSON",
			policy: `"onError":"continue","rules":[{"phase":"response","cel":"call.arguments.path == '/'"}]`,
			call:   &Call{Name: "rm", Arguments: `nope`}, want: "passed continue:0:rm(err)", wantErr: "not a JSON object"},
		{name: "invalid arguments are no error when not read",
			policy: `"rules":[{"phase":"response","cel":"call.name == 'rm'"}]`,
			call:   &Call{Name: "rm", Arguments: `nope`}, want: "BLOCKED block:0:rm"},
		{name: "cel result not a bool at run time",
			policy: `"rules":[{"phase":"response","cel":"call.arguments.flag"}]`,
			call:   &Call{Name: "x", Arguments: `{"flag":"yes"}`}, want: "BLOCKED block:0:x(err)", wantErr: "not a bool"},
		{name: "dryRun records, does not block",
			policy: `"mode":"dryRun","rules":[{"phase":"response","toolName":"delete_*"}]`,
			call:   &Call{Name: "delete_file"}, want: "passed block:0:delete_file(dry)"},
		{name: "dryRun onError",
			policy: `"mode":"dryRun","rules":[{"phase":"response","cel":"key.metadata.tier == 'x'"}]`,
			call:   &Call{Name: "y"}, want: "passed block:0:y(dry)(err)", wantErr: "no such key"},
		{name: "request phase: a declared tool",
			policy: `"rules":[{"phase":"request","toolName":"delete_*"}]`,
			req:    Request{Tools: []string{"get_weather", "delete_file"}}, want: "BLOCKED block:0:delete_file"},
		{name: "request phase: a tool result's call",
			policy: `"rules":[{"phase":"request","action":"allow","toolName":"get_weather"},{"phase":"request","regex":{"on":"arguments","pattern":"evil\\.example"}}]`,
			req:    history, want: "BLOCKED allow:0:get_weather block:1:fetch"},
		{name: "request phase: arguments rules skip declared tools",
			policy: `"rules":[{"phase":"request","regex":{"on":"arguments","pattern":"^$"}}]`,
			req:    Request{Tools: []string{"a", "b"}}, want: "passed"},
		{name: "request phase: call.kind",
			policy: `"rules":[{"phase":"request","cel":"call.kind == 'result' && call.name == 'fetch' && call.id == 'call_1'"}]`,
			req:    history, want: "BLOCKED block:0:fetch"},
		{name: "request phase: call.kind of a declared tool",
			policy: `"rules":[{"phase":"request","cel":"call.kind == 'declared' && call.name == 'fetch'"}]`,
			req:    history, want: "BLOCKED block:0:fetch"},
		{name: "a rule about the request decides for every tool",
			policy: `"rules":[{"phase":"request","action":"allow","cel":"key.metadata.tier == 'admin'"},{"phase":"request","toolName":"delete_*"}]`,
			key:    Key{Metadata: map[string]string{"tier": "admin"}},
			req:    history, want: "passed allow:0 allow:0:get_weather allow:0:delete_file allow:0:fetch"},
		{name: "the same request without the admin key",
			policy: `"rules":[{"phase":"request","action":"allow","cel":"key.metadata.?tier.orValue('') == 'admin'"},{"phase":"request","toolName":"delete_*"}]`,
			req:    history, want: "BLOCKED block:1:delete_file"},
		{name: "dryRun request phase checks everything",
			policy: `"mode":"dryRun","rules":[{"phase":"request","toolName":"*_*"}]`,
			req:    history, want: "passed block:0:get_weather(dry) block:0:delete_file(dry)"},
		{name: "enforce stops at the first block",
			policy: `"rules":[{"phase":"request","toolName":"*_*"}]`,
			req:    history, want: "BLOCKED block:0:get_weather"},
		{name: "a key-only rule in the response phase",
			policy: `"rules":[{"phase":"response","cel":"key.name == 'intern'"}]`,
			key:    Key{Name: "intern"},
			call:   &Call{Name: "anything"}, want: "BLOCKED block:0:anything"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, `{"name":"p",`+tt.policy+`}`)
			req, key := tt.req, tt.key
			env := &Env{Request: &req, Key: &key}
			var v Verdict
			if tt.call != nil {
				v = p.CheckCall(context.Background(), env, tt.call)
			} else {
				v = p.CheckRequest(context.Background(), env)
			}
			if got := summary(v); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
			if tt.wantErr != "" && (len(v.Decisions) == 0 || !strings.Contains(v.Decisions[0].Error, tt.wantErr)) {
				t.Errorf("decisions %+v: want an error containing %q", v.Decisions, tt.wantErr)
			}
			if v.WouldBlock() != strings.Contains(tt.want, "block:") {
				t.Errorf("WouldBlock %v for %s", v.WouldBlock(), tt.want)
			}
			if v.Blocked && !v.Block.Blocks() {
				t.Errorf("Block %+v does not block", v.Block)
			}
		})
	}
}

func TestDecisionRecord(t *testing.T) {
	p := mustCompile(t, `{"name":"agents","rules":[
		{"phase":"response","toolName":"read_*","action":"allow"},
		{"name":"no-delete","phase":"response","toolName":"delete_*","message":"deleting files is not allowed"},
		{"phase":"response","regex":{"on":"arguments","pattern":"rm -rf"}},
		{"phase":"request","cel":"key.metadata.tier == 'x'"}]}`)
	env := &Env{}
	v := p.CheckCall(context.Background(), env, &Call{ID: "call_9", Name: "delete_file"})
	want := Decision{Policy: "agents", Rule: 1, RuleName: "no-delete", Message: "deleting files is not allowed",
		Action: Block, Mode: Enforce, Phase: PhaseResponse, Tool: "delete_file", CallID: "call_9"}
	if !v.Blocked || v.Block != want || len(v.Decisions) != 1 || v.Decisions[0] != want {
		t.Fatalf("verdict %+v\nwant %+v", v, want)
	}
	if got, want := v.Block.CallText(), "[tool call delete_file blocked by the gateway's firewall: deleting files is not allowed]"; got != want {
		t.Errorf("CallText %q, want %q", got, want)
	}
	if got, want := v.Block.RequestError(), `request blocked by the gateway's firewall (policy "agents", rule 1 "no-delete") on tool delete_file: deleting files is not allowed`; got != want {
		t.Errorf("RequestError %q\nwant %q", got, want)
	}
	// Without a message, the rule's label.
	v = p.CheckCall(context.Background(), env, &Call{Name: "shell", Arguments: `{"cmd":"rm -rf /"}`})
	if got, want := v.Block.Message, `rule 2 (regex on arguments "rm -rf")`; got != want {
		t.Errorf("default message %q, want %q", got, want)
	}
	// An evaluation error never shows the rule's message as the reason.
	v = p.CheckRequest(context.Background(), env)
	if got, want := v.Block.Message, `rule 3 (cel "key.metadata.tier == 'x'") could not be evaluated`; got != want || v.Block.Error == "" {
		t.Errorf("error decision %+v, want message %q", v.Block, want)
	}
	b, _ := json.Marshal(v.Block)
	if !strings.Contains(string(b), `"action":"block","mode":"enforce","phase":"request"`) {
		t.Errorf("JSON %s", b)
	}
}

func TestDecisionsDeduplicatedAndBounded(t *testing.T) {
	p := mustCompile(t, `{"name":"p","mode":"dryRun","rules":[{"phase":"request","toolName":"*"}]}`)
	req := &Request{}
	for i := range 200 {
		req.Tools = append(req.Tools, "t"+strings.Repeat("x", i%100))
	}
	v := p.CheckRequest(context.Background(), &Env{Request: req})
	if len(v.Decisions) != MaxDecisions {
		t.Fatalf("%d decisions, want %d", len(v.Decisions), MaxDecisions)
	}
	seen := map[string]bool{}
	for _, d := range v.Decisions {
		if seen[d.Tool] {
			t.Fatalf("tool %s recorded twice", d.Tool)
		}
		seen[d.Tool] = true
	}
}

func TestNilRequestAndKey(t *testing.T) {
	p := mustCompile(t, `{"name":"p","rules":[
		{"phase":"request","cel":"req.model == '' && size(req.text) == 0 && size(req.tools) == 0 && key.id == '' && size(key.metadata) == 0"}]}`)
	if v := p.CheckRequest(context.Background(), &Env{}); !v.Blocked {
		t.Fatalf("verdict %s", summary(v))
	}
}

// One Env serves both phases and a policy switch resets what it remembers.
func TestEnvReuse(t *testing.T) {
	p1 := mustCompile(t, `{"name":"a","rules":[{"phase":"response","cel":"key.name == 'x'"}]}`)
	p2 := mustCompile(t, `{"name":"b","rules":[{"phase":"response","cel":"key.name == 'y'"}]}`)
	env := &Env{Key: &Key{Name: "x"}}
	for range 3 {
		if v := p1.CheckCall(context.Background(), env, &Call{Name: "c"}); !v.Blocked {
			t.Fatal("p1 should block")
		}
		if v := p2.CheckCall(context.Background(), env, &Call{Name: "c"}); v.Blocked {
			t.Fatal("p2 should not block")
		}
	}
}

func TestPolicyIsSafeForConcurrentUse(t *testing.T) {
	p := mustCompile(t, `{"name":"p","rules":[
		{"phase":"response","cel":"call.arguments.n > 5"},
		{"phase":"request","regex":{"on":"text","pattern":"secret"}}]}`)
	done := make(chan bool)
	for i := range 8 {
		go func() {
			ok := true
			for j := range 200 {
				env := &Env{Request: &Request{Text: []string{"a secret"}}}
				n := (i + j) % 10
				v := p.CheckCall(context.Background(), env, &Call{Name: "c", Arguments: `{"n":` + string(rune('0'+n)) + `}`})
				ok = ok && v.Blocked == (n > 5) && p.CheckRequest(context.Background(), env).Blocked
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Fatal("a concurrent check went wrong")
		}
	}
}
