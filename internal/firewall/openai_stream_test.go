package firewall

import (
	"context"
	"slices"
	"strings"
	"testing"
)

const deletePolicy = `{"name":"agents","mode":%s,"rules":[
	{"phase":"response","action":"allow","toolName":"get_weather"},
	{"name":"no-delete","phase":"response","toolName":"delete_*","message":"deleting is not allowed"}]}`

func deleteGatePolicy(t testing.TB, mode string) *Policy {
	return mustCompile(t, sprintf(deletePolicy, `"`+mode+`"`))
}

const blockedText = "[tool call delete_file blocked by the gateway's firewall: deleting is not allowed]"

// agentChatStream: text, a delete_file call split into one fragment per
// character of its arguments with text arriving while it is held, a
// get_weather call in three fragments, finish, usage, [DONE].
func agentChatStream(first, second string) []ev {
	s := []ev{chatEv(0, `{"role":"assistant","content":""}`, ""), chatText("I'll "), chatText("clean up.")}
	s = append(s, chatCallStart(0, "call_1", first))
	args := `{"path":"/etc/passwd"}`
	frags := chatArgs(0, args, len(args))
	s = append(s, frags[:5]...)
	s = append(s, chatText(" Working…")) // text while the call is held
	s = append(s, frags[5:]...)
	s = append(s, chatCallStart(1, "call_2", second))
	s = append(s, chatArgs(1, `{"city":"Paris"}`, 3)...)
	return append(s, chatEv(0, `{}`, "tool_calls"), chatUsage, chatDone)
}

func TestOpenAIGate(t *testing.T) {
	tests := []struct {
		name          string
		mode          string
		first, second string
		content       string
		calls         string
		finish        string
	}{
		{"first blocked", "enforce", "delete_file", "get_weather",
			"I'll clean up. Working…\n\n" + blockedText, "get_weather", "tool_calls"},
		{"both allowed", "enforce", "get_weather", "get_weather",
			"I'll clean up. Working…", "get_weather,get_weather", "tool_calls"},
		{"both blocked", "enforce", "delete_file", "delete_file",
			"I'll clean up. Working…\n\n" + blockedText + "\n\n" + blockedText, "", "stop"},
		{"second blocked", "enforce", "get_weather", "delete_file",
			"I'll clean up. Working…\n\n" + blockedText, "get_weather", "tool_calls"},
		{"dryRun", "dryRun", "delete_file", "delete_file",
			"I'll clean up. Working…", "delete_file,delete_file", "tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := agentChatStream(tt.first, tt.second)
			g := NewOpenAIGate(context.Background(), deleteGatePolicy(t, tt.mode), &Env{})
			r := runGate(t, g, in, true)
			sseRoundTrip(t, r.out)
			res := readChatStream(t, r.out)
			c := res[0]
			if c == nil || c.Content != tt.content || namesOf(c.Calls) != tt.calls || c.Finish != tt.finish {
				t.Fatalf("got %+v\nwant content %q calls %s finish %s", c, tt.content, tt.calls, tt.finish)
			}
			for _, call := range c.Calls {
				want := map[string]string{"call_1": `{"path":"/etc/passwd"}`, "call_2": `{"city":"Paris"}`}[call.ID]
				if call.Arguments != want {
					t.Errorf("call %s arguments %q, want %q", call.ID, call.Arguments, want)
				}
			}
			// Text is never held: each text chunk went out during its
			// own Event call.
			for i, e := range in {
				if strings.Contains(e.data, `"content":"`) && !strings.Contains(e.data, "tool_calls") && !r.passedAt[i] {
					t.Errorf("text event %d was held: %s", i, e.data)
				}
			}
			// dryRun changes nothing; an allowed call goes out as it
			// came: its chunks unchanged when its index did not move
			// (the text that came while it was held went before it).
			if tt.mode == "dryRun" && !slices.Equal(r.out, in) {
				t.Errorf("dryRun changed the stream:\n%v", r.out)
			}
			if tt.name == "both allowed" {
				sortedOut, sortedIn := slices.Clone(r.out), slices.Clone(in)
				cmp := func(a, b ev) int { return strings.Compare(a.data, b.data) }
				slices.SortFunc(sortedOut, cmp)
				slices.SortFunc(sortedIn, cmp)
				if !slices.Equal(sortedOut, sortedIn) || slices.Equal(r.out, in) {
					t.Errorf("want the same chunks, the held call after the text:\n%v", r.out)
				}
			}
			if tt.name == "first blocked" {
				// get_weather moved from index 1 to 0: its fragments are
				// the same, renumbered.
				n := 0
				for _, e := range r.out {
					if strings.Contains(e.data, `"tool_calls":[{"index":0`) {
						n++
					}
				}
				if n != 4 {
					t.Errorf("%d chunks of call index 0, want 4:\n%v", n, r.out)
				}
			}
			// The decisions.
			var got []string
			for _, d := range g.Decisions() {
				got = append(got, string(d.Action)+":"+d.Tool)
			}
			if len(got) != 2 {
				t.Errorf("decisions %v", got)
			}
		})
	}
}

// A call is released only when it is whole: nothing of it before the
// next index or the finish.
func TestOpenAIGateHoldsUntilComplete(t *testing.T) {
	p := deleteGatePolicy(t, "enforce")
	g := NewOpenAIGate(context.Background(), p, &Env{})
	in := agentChatStream("get_weather", "get_weather")
	start := slices.IndexFunc(in, func(e ev) bool { return strings.Contains(e.data, `"id":"call_1"`) })
	second := slices.IndexFunc(in, func(e ev) bool { return strings.Contains(e.data, `"id":"call_2"`) })
	var out []ev
	for i, e := range in {
		_ = g.Event(e.name, []byte(e.data), func(name string, data []byte) error {
			out = append(out, ev{name, string(data)})
			return nil
		})
		released := slices.ContainsFunc(out, func(o ev) bool { return strings.Contains(o.data, `"id":"call_1"`) })
		if released != (i >= second) {
			t.Fatalf("after event %d (call starts at %d, next at %d): released %v", i, start, second, released)
		}
	}
}

func TestOpenAIGateShapes(t *testing.T) {
	p := deleteGatePolicy(t, "enforce")
	tests := []struct {
		name    string
		in      []ev
		close   bool
		content string
		calls   string
		finish  string
	}{
		{
			// OpenAI's first tool chunk carries the role; Ollama sends
			// the whole call in one chunk.
			name: "role with the call, whole call in one chunk",
			in: []ev{
				chatEv(0, `{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"delete_file","arguments":"{\"p\":1}"}}],"refusal":null}`, ""),
				chatEv(0, `{"tool_calls":[{"index":1,"id":"c2","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}`, ""),
				chatEv(0, `{}`, "tool_calls"), chatDone},
			content: blockedText, calls: "get_weather", finish: "tool_calls",
		},
		{
			name: "the call and the finish in one chunk, usage in it too",
			in: []ev{
				chatEv(0, `{"role":"assistant","content":"ok"}`, ""),
				{"", chatPrefix + `{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"delete_file","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`},
				chatDone},
			content: "ok\n\n" + blockedText, finish: "stop",
		},
		{
			name: "two calls in one chunk",
			in: []ev{
				chatEv(0, `{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"delete_file","arguments":"{}"}},{"index":1,"id":"c2","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}`, ""),
				chatEv(0, `{}`, "tool_calls"), chatDone},
			content: blockedText, calls: "get_weather", finish: "tool_calls",
		},
		{
			name: "no index (a lenient server), arguments as an object",
			in: []ev{
				chatEv(0, `{"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]}`, ""),
				chatEv(0, `{"tool_calls":[{"id":"c2","type":"function","function":{"name":"delete_file"}}]}`, ""),
				chatEv(0, `{"tool_calls":[{"function":{"arguments":"{}"}}]}`, ""),
				chatEv(0, `{}`, "tool_calls"), chatDone},
			content: blockedText, calls: "get_weather", finish: "tool_calls",
		},
		{
			// A name in pieces is checked whole, and released whole.
			name: "a name in pieces",
			in: []ev{
				chatEv(0, `{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"delete","arguments":""}}]}`, ""),
				chatEv(0, `{"tool_calls":[{"index":0,"function":{"name":"_file","arguments":"{}"}}]}`, ""),
				chatEv(0, `{}`, "tool_calls"), chatDone},
			content: blockedText, finish: "stop",
		},
		{
			name: "a name repeated in every fragment is released once",
			in: []ev{
				chatEv(0, `{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"a\""}}]}`, ""),
				chatEv(0, `{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_weather","arguments":":1}"}}]}`, ""),
				chatEv(0, `{}`, "tool_calls"), chatDone},
			calls: "get_weather", finish: "tool_calls",
		},
		{
			name: "a fragment of a decided call is dropped",
			in: []ev{
				chatCallStart(0, "c1", "get_weather"),
				chatCallStart(1, "c2", "get_weather"),
				chatEv(0, `{"tool_calls":[{"index":0,"function":{"arguments":"{\"sneaky\":1}"}}]}`, ""),
				chatEv(0, `{}`, "tool_calls"), chatDone},
			calls: "get_weather,get_weather", finish: "tool_calls",
		},
		{
			name:  "the stream ends without finish or [DONE]: Close releases",
			in:    []ev{chatText("hi"), chatCallStart(0, "c1", "delete_file")},
			close: true, content: "hi\n\n" + blockedText,
		},
		{
			name: "an error while a call is held drops it",
			in: []ev{chatCallStart(0, "c1", "get_weather"),
				{"", `{"error":{"message":"overloaded","type":"server_error"}}`}},
			close: true,
		},
		{
			name:  "tool_calls: [] with text (some servers)",
			in:    []ev{chatEv(0, `{"content":"hi","tool_calls":[]}`, ""), chatEv(0, `{}`, "stop"), chatDone},
			close: true, content: "hi", finish: "stop",
		},
		{
			name: "custom tools",
			in: []ev{
				chatEv(0, `{"tool_calls":[{"index":0,"id":"c1","type":"custom","custom":{"name":"delete_file","input":"rm"}}]}`, ""),
				chatEv(0, `{}`, "tool_calls"), chatDone},
			content: blockedText, finish: "stop",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewOpenAIGate(context.Background(), p, &Env{})
			r := runGate(t, g, tt.in, tt.close)
			sseRoundTrip(t, r.out)
			var outData []ev
			for _, e := range r.out {
				if !strings.Contains(e.data, `"error"`) {
					outData = append(outData, e)
				}
			}
			res := readChatStream(t, outData)
			c := res[0]
			if c == nil {
				c = &chatChoiceResult{}
			}
			if c.Content != tt.content || namesOf(c.Calls) != tt.calls || c.Finish != tt.finish {
				t.Fatalf("got %+v\nwant content %q calls %q finish %q\n%v", c, tt.content, tt.calls, tt.finish, r.out)
			}
			for _, call := range c.Calls {
				if strings.Contains(call.Arguments, "sneaky") {
					t.Errorf("a late fragment reached the client: %q", call.Arguments)
				}
			}
		})
	}
}

func TestOpenAIGateTwoChoices(t *testing.T) {
	p := deleteGatePolicy(t, "enforce")
	in := []ev{
		chatEv(0, `{"role":"assistant","content":null}`, ""),
		chatEv(1, `{"role":"assistant","content":null}`, ""),
		chatEv(0, `{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"delete_file","arguments":"{}"}}]}`, ""),
		chatEv(1, `{"tool_calls":[{"index":0,"id":"b","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}`, ""),
		{"", chatPrefix + `{"index":0,"delta":{},"finish_reason":"tool_calls"},{"index":1,"delta":{},"finish_reason":"tool_calls"}]}`},
		chatDone,
	}
	r := runGate(t, NewOpenAIGate(context.Background(), p, &Env{}), in, true)
	res := readChatStream(t, r.out)
	if c := res[0]; c.Content != blockedText || len(c.Calls) != 0 || c.Finish != "stop" {
		t.Errorf("choice 0: %+v", c)
	}
	if c := res[1]; c.Content != "" || namesOf(c.Calls) != "get_weather" || c.Finish != "tool_calls" {
		t.Errorf("choice 1: %+v", c)
	}
}

// The Env of the request reaches the stream's checks (key metadata).
func TestOpenAIGateUsesEnv(t *testing.T) {
	p := mustCompile(t, `{"name":"p","rules":[{"phase":"response","cel":"key.metadata.tier == 'free' && call.arguments.amount > 10"}]}`)
	in := []ev{chatCallStart(0, "c", "transfer")}
	in = append(in, chatArgs(0, `{"amount":50}`, 4)...)
	in = append(in, chatEv(0, `{}`, "tool_calls"), chatDone)
	for tier, blocked := range map[string]bool{"free": true, "pro": false} {
		env := &Env{Key: &Key{Metadata: map[string]string{"tier": tier}}}
		r := runGate(t, NewOpenAIGate(context.Background(), p, env), in, true)
		res := readChatStream(t, r.out)
		if got := len(res[0].Calls) == 0; got != blocked {
			t.Errorf("tier %s: blocked %v, want %v", tier, got, blocked)
		}
	}
}
