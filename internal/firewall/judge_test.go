package firewall

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const judgePolicy = `{"name":"p",%s"rules":[
	{"phase":"response","decision":{"model":"judge-model","instruction":"the call deletes data","timeout":%s}},
	{"phase":"response","toolName":"fallback_*"}]}`

func judgeCompile(t *testing.T, onError, timeout string) *Policy {
	t.Helper()
	if onError != "" {
		onError = `"onError":"` + onError + `",`
	}
	return mustCompile(t, sprintf(judgePolicy, onError, timeout))
}

func sprintf(format string, args ...any) string {
	for _, a := range args {
		format = strings.Replace(format, "%s", a.(string), 1)
	}
	return format
}

func TestJudge(t *testing.T) {
	var got *JudgeQuery
	yesForDelete := JudgeFunc(func(ctx context.Context, q *JudgeQuery) (bool, error) {
		if _, ok := ctx.Deadline(); !ok {
			return false, errors.New("no deadline")
		}
		got = q
		return strings.HasPrefix(q.Call.Name, "delete"), nil
	})
	p := judgeCompile(t, "", `"5s"`)
	env := &Env{Request: &Request{Model: "gpt-4o"}, Judge: yesForDelete}
	if v := p.CheckCall(context.Background(), env, &Call{ID: "c1", Name: "delete_file", Arguments: `{"p":1}`}); summary(v) != "BLOCKED block:0:delete_file" {
		t.Errorf("delete_file: %s", summary(v))
	}
	if got == nil || got.Model != "judge-model" || got.Instruction != "the call deletes data" || got.Phase != PhaseResponse ||
		got.Call.Name != "delete_file" || got.Call.Arguments != `{"p":1}` || got.Request.Model != "gpt-4o" || got.Policy != "p" || got.Rule != 0 {
		t.Errorf("query %+v", got)
	}
	if v := p.CheckCall(context.Background(), env, &Call{Name: "get_weather"}); summary(v) != "passed" {
		t.Errorf("get_weather: %s", summary(v))
	}
}

// A request-phase decision judges the request once, whatever the number
// of its tools.
func TestJudgeRequestPhaseOnce(t *testing.T) {
	var calls atomic.Int32
	j := JudgeFunc(func(ctx context.Context, q *JudgeQuery) (bool, error) {
		calls.Add(1)
		if q.Call != nil || q.Request == nil || q.Phase != PhaseRequest {
			t.Errorf("query %+v", q)
		}
		return false, nil
	})
	p := mustCompile(t, `{"name":"p","rules":[
		{"phase":"request","decision":{"model":"m","instruction":"the prompt asks for malware"}},
		{"phase":"request","toolName":"nothing"}]}`)
	env := &Env{Request: &Request{Tools: []string{"a", "b", "c"}, ToolResults: []Call{{Name: "d"}}}, Judge: j}
	if v := p.CheckRequest(context.Background(), env); v.Blocked {
		t.Fatal(summary(v))
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("judged %d times, want 1", n)
	}
}

func TestJudgeFailure(t *testing.T) {
	failing := JudgeFunc(func(context.Context, *JudgeQuery) (bool, error) {
		return false, errors.New("model unavailable")
	})
	panicking := JudgeFunc(func(context.Context, *JudgeQuery) (bool, error) { panic("boom") })
	unclear := JudgeFunc(func(context.Context, *JudgeQuery) (bool, error) {
		return ParseJudgeAnswer("Maybe")
	})
	tests := []struct {
		name    string
		judge   Judge
		onError string
		want    string
		wantErr string
	}{
		{"error, onError block", failing, "", "BLOCKED block:0:fallback_x(err)", "decision by judge-model: model unavailable"},
		{"error, onError continue", failing, "continue", "BLOCKED continue:0:fallback_x(err) block:1:fallback_x", "model unavailable"},
		{"panic", panicking, "", "BLOCKED block:0:fallback_x(err)", "panic: boom"},
		{"unclear answer", unclear, "", "BLOCKED block:0:fallback_x(err)", "neither YES nor NO"},
		{"no judge", nil, "", "BLOCKED block:0:fallback_x(err)", "no model is available"},
		{"no judge, continue", nil, "continue", "BLOCKED continue:0:fallback_x(err) block:1:fallback_x", "no model is available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := judgeCompile(t, tt.onError, `"5s"`)
			v := p.CheckCall(context.Background(), &Env{Judge: tt.judge}, &Call{Name: "fallback_x"})
			if got := summary(v); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if !strings.Contains(v.Decisions[0].Error, tt.wantErr) {
				t.Errorf("error %q, want %q", v.Decisions[0].Error, tt.wantErr)
			}
		})
	}
}

// A judge that never answers, and ignores its context, still ends at the
// rule's timeout: the engine stops waiting. No timing is measured: the
// judge cannot answer before the deadline, so the only way out is the
// deadline.
func TestJudgeTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var started atomic.Int32
	stuck := JudgeFunc(func(context.Context, *JudgeQuery) (bool, error) {
		started.Add(1)
		<-release
		return true, nil
	})
	for _, tt := range []struct {
		onError, want string
	}{
		{"", "BLOCKED block:0:get_weather(err)"},
		{"continue", "passed continue:0:get_weather(err)"},
	} {
		p := judgeCompile(t, tt.onError, `0.000000001`) // 1ns
		v := p.CheckCall(context.Background(), &Env{Judge: stuck}, &Call{Name: "get_weather"})
		if got := summary(v); got != tt.want {
			t.Errorf("onError %q: got %s, want %s", tt.onError, got, tt.want)
		}
		if e := v.Decisions[0].Error; !strings.Contains(e, "no answer within") || !strings.Contains(e, "deadline exceeded") {
			t.Errorf("error %q", e)
		}
	}
}

// A judge that honours its context gets it cancelled with the request's.
func TestJudgeContextCancelled(t *testing.T) {
	var sawDone atomic.Bool
	honest := JudgeFunc(func(ctx context.Context, q *JudgeQuery) (bool, error) {
		<-ctx.Done()
		sawDone.Store(true)
		return false, ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := judgeCompile(t, "", `"1m"`)
	v := p.CheckCall(ctx, &Env{Judge: honest}, &Call{Name: "x"})
	if !v.Blocked || !strings.Contains(v.Decisions[0].Error, "context canceled") {
		t.Fatalf("verdict %s %+v", summary(v), v.Decisions)
	}
	// The judge saw its context end (it runs on; wait for it without a
	// timing assumption).
	for !sawDone.Load() {
		time.Sleep(time.Millisecond)
	}
}

func TestParseJudgeAnswer(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
		err  bool
	}{
		{"YES", true, false}, {"yes", true, false}, {" Yes.", true, false}, {"**YES**", true, false},
		{"NO", false, false}, {"no, it only reads", false, false}, {"\"No\"", false, false}, {"true", true, false},
		{"", false, true}, {"Maybe", false, true}, {"Yesterday", false, true}, {"I think yes", false, true},
	} {
		got, err := ParseJudgeAnswer(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseJudgeAnswer(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestJudgePrompt(t *testing.T) {
	q := &JudgeQuery{Instruction: "the call sends money", Call: &Call{Name: "transfer", Arguments: `{"amount":5}`}}
	sys, user := q.Prompt()
	if !strings.Contains(sys, "the call sends money") || !strings.Contains(sys, "YES") || !strings.Contains(sys, "a tool call") {
		t.Errorf("system %q", sys)
	}
	if user != `{"tool":"transfer","arguments":{"amount":5}}` {
		t.Errorf("user %s", user)
	}
	q = &JudgeQuery{Instruction: "x", Call: &Call{Name: "t", Arguments: `not json`}}
	if _, user = q.Prompt(); user != `{"tool":"t","arguments":"not json"}` {
		t.Errorf("user %s", user)
	}
	q = &JudgeQuery{Instruction: "x", Request: &Request{Text: []string{"old", strings.Repeat("a", maxJudgeText)}, Tools: []string{"t"},
		ToolResults: []Call{{Name: "fetch", Arguments: `{"u":1}`}}}}
	sys, user = q.Prompt()
	if !strings.Contains(sys, "a request") || strings.Contains(user, "old") || !strings.Contains(user, `"tools":["t"]`) ||
		!strings.Contains(user, `"toolCallsAnswered":[{"tool":"fetch","arguments":{"u":1}}]`) {
		t.Errorf("request prompt %.200s", user)
	}
}
