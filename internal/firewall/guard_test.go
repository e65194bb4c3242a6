package firewall

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

func TestReadRequest(t *testing.T) {
	chat := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	tests := []struct {
		name   string
		format catalog.Format
		body   string
		toChat func() ([]byte, error)
		text   []string
		err    bool
	}{
		{"openai", catalog.OpenAI, string(chat), nil, []string{"hi"}, false},
		{"anthropic", catalog.Anthropic, `{"model":"m","messages":[{"role":"user","content":"hello"}]}`, nil, []string{"hello"}, false},
		{"responses through chat", catalog.Responses, `{"input":"ignored"}`, func() ([]byte, error) { return chat, nil }, []string{"hi"}, false},
		{"translation fails", catalog.Gemini, `{}`, func() ([]byte, error) { return nil, errors.New("no") }, nil, true},
		{"unreadable", catalog.OpenAI, `{"messages":`, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view, err := ReadRequest(tt.format, []byte(tt.body), tt.toChat)
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want one: %v", err, tt.err)
			}
			if view == nil {
				t.Fatal("nil view")
			}
			if !reflect.DeepEqual(view.Text, tt.text) {
				t.Errorf("text %q, want %q", view.Text, tt.text)
			}
		})
	}
}

func TestGuardCheckRequest(t *testing.T) {
	const blockTool = `{"name":"p",%s"rules":[{"phase":"request","toolName":"delete_*","message":"no deleting"}]}`
	tests := []struct {
		name    string
		policy  string
		req     *Request
		readErr error
		refusal string // "" passes
		n       int    // decisions recorded
	}{
		{"passes", sprintf(blockTool, ""), &Request{Tools: []string{"read_file"}}, nil, "", 0},
		{"blocked", sprintf(blockTool, ""), &Request{Tools: []string{"delete_file"}},
			nil, `request blocked by the gateway's firewall (policy "p", rule 0) on tool delete_file: no deleting`, 1},
		{"unreadable fails closed", sprintf(blockTool, ""), &Request{}, errors.New("bad json"),
			"request blocked by the gateway's firewall: the request cannot be read for its checks: bad json", 0},
		{"unreadable with onError continue", sprintf(blockTool, `"onError":"continue",`), &Request{}, errors.New("bad json"), "", 0},
		{"no request rules", `{"name":"p","rules":[{"phase":"response","toolName":"*"}]}`, &Request{Tools: []string{"delete_file"}}, nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var observed int
			g := &Guard{Policy: mustCompile(t, tt.policy), Env: Env{Request: tt.req, Key: &Key{}}, Observe: func(Decision) { observed++ }}
			refusal, refused := g.CheckRequest(context.Background(), tt.readErr)
			if refusal != tt.refusal || refused != (tt.refusal != "") {
				t.Errorf("refusal %q (%v), want %q", refusal, refused, tt.refusal)
			}
			if len(g.Decisions) != tt.n || observed != tt.n {
				t.Errorf("%d decisions, %d observed, want %d", len(g.Decisions), observed, tt.n)
			}
		})
	}
}

// Record keeps at most MaxDecisions and observes them all.
func TestGuardRecord(t *testing.T) {
	var observed int
	g := &Guard{Observe: func(Decision) { observed++ }}
	for range MaxDecisions + 3 {
		g.Record([]Decision{{Policy: "p"}})
	}
	if len(g.Decisions) != MaxDecisions || observed != MaxDecisions+3 {
		t.Errorf("%d kept, %d observed", len(g.Decisions), observed)
	}
	(&Guard{}).Record([]Decision{{}}) // no Observe
}

func TestGuardAnswers(t *testing.T) {
	const deleteCall = `delete_file`
	answers := map[catalog.Format]string{
		catalog.OpenAI: `{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[` +
			`{"id":"c1","type":"function","function":{"name":"delete_file","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`,
		catalog.Anthropic: `{"content":[{"type":"tool_use","id":"t1","name":"delete_file","input":{}}],"stop_reason":"tool_use"}`,
		catalog.Gemini:    `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"delete_file","args":{}}}]}}]}`,
		catalog.Responses: `{"output":[{"type":"function_call","call_id":"c1","name":"delete_file","arguments":"{}"}]}`,
	}
	p := mustCompile(t, `{"name":"p","rules":[{"phase":"response","toolName":"delete_*","message":"no deleting"}]}`)
	for f, body := range answers {
		t.Run(string(f), func(t *testing.T) {
			g := &Guard{Policy: p, Env: Env{Request: &Request{}, Key: &Key{}}}
			out, err := g.CheckAnswer(context.Background(), f, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "blocked by the gateway's firewall: no deleting") {
				t.Errorf("answer not rewritten: %s", out)
			}
			if len(g.Decisions) != 1 || g.Decisions[0].Tool != deleteCall {
				t.Errorf("decisions %+v", g.Decisions)
			}
			if g.Gate(context.Background(), f) == nil {
				t.Error("no gate")
			}
		})
	}
	g := &Guard{Policy: p, Env: Env{Request: &Request{}, Key: &Key{}}}
	unreadable := `{"choices":[{"message":{"tool_calls":[{"function":{"name":"delete_file"`
	if out, err := g.CheckAnswer(context.Background(), catalog.OpenAI, []byte(unreadable)); err == nil || string(out) != unreadable {
		t.Errorf("unreadable: %q, %v", out, err)
	}
	if out, err := g.CheckAnswer(context.Background(), "other", []byte("x")); err != nil || string(out) != "x" {
		t.Errorf("other format: %q, %v", out, err)
	}
	if g.Gate(context.Background(), "other") != nil {
		t.Error("a gate for another format")
	}
}

func TestGuardChecksAnswers(t *testing.T) {
	response := &Guard{Policy: mustCompile(t, `{"name":"p","rules":[{"phase":"response","toolName":"x"}]}`)}
	request := &Guard{Policy: mustCompile(t, `{"name":"p","rules":[{"phase":"request","toolName":"x"}]}`)}
	tests := []struct {
		name string
		g    *Guard
		kind usage.Endpoint
		want bool
	}{
		{"chat", response, usage.ChatCompletions, true},
		{"messages", response, usage.Messages, true},
		{"responses", response, usage.Responses, true},
		{"generateContent", response, usage.GenerateContent, true},
		{"embeddings", response, usage.Embeddings, false},
		{"no response rules", request, usage.ChatCompletions, false},
		{"no guard", nil, usage.ChatCompletions, false},
	}
	for _, tt := range tests {
		if got := tt.g.ChecksAnswers(tt.kind); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGuardUsageDecisions(t *testing.T) {
	var none *Guard
	if none.UsageDecisions() != nil || (&Guard{}).UsageDecisions() != nil {
		t.Error("decisions of none")
	}
	g := &Guard{Decisions: []Decision{{Policy: "p", Rule: 2, RuleName: "r", Message: "m", Action: Block, Mode: DryRun,
		Phase: PhaseResponse, Tool: "t", CallID: "c", Error: "e"}}}
	want := []store.FirewallDecision{{Policy: "p", Rule: 2, RuleName: "r", Action: "block", Mode: "dryRun", Phase: "response", Tool: "t", Message: "m"}}
	if got := g.UsageDecisions(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
