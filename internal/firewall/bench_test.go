package firewall

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// policy20 has 20 rules of every kind but decision: 8 request-phase, 12
// response-phase. Nothing in benchRequest or benchCalls matches, so every
// subject goes through every rule of its phase: the worst case of a
// request that passes.
const policy20 = `{"name":"bench","rules":[
	{"phase":"request","regex":{"on":"text","pattern":"(?i)ignore (all )?previous instructions"}},
	{"phase":"request","regex":{"on":"text","pattern":"(?i)\\b(api[_-]?key|password)\\s*[:=]"}},
	{"phase":"request","toolName":"mcp__payments__*"},
	{"phase":"request","cel":"key.metadata.?tier.orValue('') == 'free' && req.tools.exists(t, t.startsWith('mcp__'))"},
	{"phase":"request","regex":{"on":"arguments","pattern":"/etc/(passwd|shadow)"}},
	{"phase":"request","toolName":"*_admin"},
	{"phase":"request","cel":"call.kind == 'result' && call.name == 'fetch' && has(call.arguments.url) && call.arguments.url.contains('internal')"},
	{"phase":"request","action":"allow","toolName":"get_weather"},
	{"phase":"response","action":"allow","toolName":"get_weather"},
	{"phase":"response","toolName":"delete_*"},
	{"phase":"response","toolName":"drop_[a-z]*"},
	{"phase":"response","regex":{"on":"name","pattern":"^(rm|rmdir|unlink)$"}},
	{"phase":"response","regex":{"on":"arguments","pattern":"rm\\s+-rf"}},
	{"phase":"response","regex":{"on":"arguments","pattern":"(?i)DROP\\s+TABLE"}},
	{"phase":"response","cel":"call.name == 'transfer' && call.arguments.amount > 1000"},
	{"phase":"response","cel":"call.name.startsWith('mcp__github__') && key.metadata.?team.orValue('') != 'platform'"},
	{"phase":"response","cel":"key.name == 'intern-bot'"},
	{"phase":"response","toolName":"mcp__*__delete*"},
	{"phase":"response","regex":{"on":"name","pattern":"(?i)shell|exec"}},
	{"phase":"response","cel":"size(call.arguments) > 20"}]}`

// benchRequest: about 2 KB of prompt in 5 pieces, 8 tools, 2 tool results.
func benchRequest() *Request {
	para := strings.Repeat("The quarterly report lists revenue by region and the forecast for next year. ", 5)
	return &Request{
		Model: "gpt-4o", Endpoint: "chat.completions",
		Text: []string{"You are a helpful operations agent. Use the tools when needed.", para, para,
			"Summarise the report and check the weather in Paris.", `{"temperature": 18, "conditions": "cloudy"}`},
		Tools: []string{"get_weather", "get_time", "read_file", "write_file", "search_docs",
			"mcp__github__create_issue", "mcp__slack__post_message", "fetch"},
		ToolResults: []Call{
			{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
			{ID: "call_2", Name: "fetch", Arguments: `{"url":"https://example.com/report.pdf"}`},
		},
	}
}

var benchCalls = []Call{
	{ID: "call_3", Name: "read_file", Arguments: `{"path":"/srv/reports/q3.md","encoding":"utf-8"}`},
	{ID: "call_4", Name: "mcp__github__create_issue", Arguments: `{"repo":"acme/ops","title":"Q3 report","body":"See the summary."}`},
}

var benchKey = &Key{ID: "ak_1", Name: "ops-agent", RawMetadata: `{"tier":"pro","team":"platform"}`}

// loop runs op b.N times and reports, besides ns/op, the process's CPU time
// per operation (GC included): on a shared machine closer to what a quiet
// one measures than wall time.
func loop(b *testing.B, op func()) {
	b.ReportAllocs()
	cpu0, cpuOK := cpuNanos()
	for b.Loop() {
		op()
	}
	if cpu1, ok := cpuNanos(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkPolicy20Rules(b *testing.B) {
	p := mustCompile(b, policy20)
	req := benchRequest()
	ctx := context.Background()
	loop(b, func() {
		env := &Env{Request: req, Key: benchKey}
		if v := p.CheckRequest(ctx, env); v.Blocked || len(v.Decisions) != 1 { // the allow of get_weather
			b.Fatalf("request: %s", summary(v))
		}
		for i := range benchCalls {
			if v := p.CheckCall(ctx, env, &benchCalls[i]); v.Blocked || len(v.Decisions) != 0 {
				b.Fatalf("call: %s", summary(v))
			}
		}
	})
}

// BenchmarkPolicy20RulesDecision adds a decision rule with a judge that
// answers at once: the engine's own cost of a judgment (the model's time
// comes on top).
func BenchmarkPolicy20RulesDecision(b *testing.B) {
	src := strings.Replace(policy20, `{"phase":"response","cel":"size(call.arguments) > 20"}`,
		`{"phase":"response","decision":{"model":"m","instruction":"the call leaks data"}}`, 1)
	p := mustCompile(b, src)
	j := JudgeFunc(func(context.Context, *JudgeQuery) (bool, error) { return false, nil })
	req := benchRequest()
	ctx := context.Background()
	loop(b, func() {
		env := &Env{Request: req, Key: benchKey, Judge: j}
		p.CheckRequest(ctx, env)
		for i := range benchCalls {
			if v := p.CheckCall(ctx, env, &benchCalls[i]); v.Blocked {
				b.Fatal(summary(v))
			}
		}
	})
}

// BenchmarkOpenAIRequest reads the Request of a chat completions body like
// benchRequest's.
func BenchmarkOpenAIRequest(b *testing.B) {
	r := benchRequest()
	var msgs []string
	msgs = append(msgs, fmt.Sprintf(`{"role":"system","content":%s}`, quote(r.Text[0])))
	msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":[{"type":"text","text":%s},{"type":"text","text":%s}]}`, quote(r.Text[1]), quote(r.Text[2])))
	msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":%s}`, quote(r.Text[3])))
	msgs = append(msgs, `{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"fetch","arguments":"{\"url\":\"https://example.com/report.pdf\"}"}}]}`)
	msgs = append(msgs, fmt.Sprintf(`{"role":"tool","tool_call_id":"call_1","content":%s}`, quote(r.Text[4])))
	msgs = append(msgs, `{"role":"tool","tool_call_id":"call_2","content":"(pdf text)"}`)
	var tools []string
	for _, t := range r.Tools {
		tools = append(tools, fmt.Sprintf(`{"type":"function","function":{"name":%q,"description":"A tool.","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}}`, t))
	}
	body := []byte(`{"model":"gpt-4o","stream":true,"messages":[` + strings.Join(msgs, ",") + `],"tools":[` + strings.Join(tools, ",") + `]}`)
	b.SetBytes(int64(len(body)))
	loop(b, func() {
		if _, err := OpenAIRequest(body); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkGateText is what a gate adds to each streamed text token.
func BenchmarkGateText(b *testing.B) {
	p := mustCompile(b, policy20)
	emit := func(string, []byte) error { return nil }
	b.Run("openai", func(b *testing.B) {
		g := NewOpenAIGate(context.Background(), p, &Env{})
		data := []byte(chatText("Hello there, how").data)
		loop(b, func() {
			_ = g.Event("", data, emit)
		})
	})
	b.Run("anthropic", func(b *testing.B) {
		g := NewAnthropicGate(context.Background(), p, &Env{})
		_ = g.Event(anthStart.name, []byte(anthStart.data), emit)
		_ = g.Event("content_block_start", []byte(anthTextStart(0).data), emit)
		data := []byte(anthText(0, "Hello there, how").data)
		loop(b, func() {
			_ = g.Event("content_block_delta", data, emit)
		})
	})
}

// BenchmarkGateToolCall is a whole streamed call: held, checked, released.
func BenchmarkGateToolCall(b *testing.B) {
	p := mustCompile(b, policy20)
	emit := func(string, []byte) error { return nil }
	in := []ev{chatCallStart(0, "call_3", "read_file")}
	in = append(in, chatArgs(0, benchCalls[0].Arguments, 10)...)
	in = append(in, chatEv(0, `{}`, "tool_calls"), chatDone)
	loop(b, func() {
		g := NewOpenAIGate(context.Background(), p, &Env{Request: benchRequest(), Key: benchKey})
		for _, e := range in {
			_ = g.Event(e.name, []byte(e.data), emit)
		}
	})
}
