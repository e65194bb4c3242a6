package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
)

// gateFactories make the gates the fuzz targets exercise.
var gateFactories = map[string]func(p *Policy) Gate{
	"openai":    func(p *Policy) Gate { return NewOpenAIGate(context.Background(), p, &Env{}) },
	"anthropic": func(p *Policy) Gate { return NewAnthropicGate(context.Background(), p, &Env{}) },
}

func encodeEvents(events []ev) []byte {
	var buf bytes.Buffer
	for _, e := range events {
		_ = sse.Write(&buf, e.name, []byte(e.data))
	}
	return buf.Bytes()
}

// fuzzRawGate feeds any byte stream, read as SSE, through a gate: it must
// not panic, and every event it emits is either one it was given,
// unchanged, or one it made, which is valid JSON and writes as well-formed
// SSE.
func fuzzRawGate(t *testing.T, p *Policy, format string, stream []byte) {
	g := gateFactories[format](p)
	rd := sse.NewReader(bytes.NewReader(stream))
	rd.SetMaxEventSize(1 << 16)
	given := map[string]bool{}
	var out []ev
	emit := func(name string, data []byte) error {
		out = append(out, ev{name, string(data)})
		return nil
	}
	for {
		e, err := rd.Next()
		if err != nil {
			break
		}
		if e.Data == nil {
			continue
		}
		given[e.Name+"\x00"+string(e.Data)] = true
		if err := g.Event(e.Name, e.Data, emit); err != nil {
			t.Fatalf("Event: %v", err)
		}
	}
	if err := g.Close(emit); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, e := range out {
		if given[e.name+"\x00"+e.data] {
			continue
		}
		if !json.Valid([]byte(e.data)) {
			t.Fatalf("made an invalid event %q: %q", e.name, e.data)
		}
		if strings.ContainsAny(e.name, "\r\n") {
			t.Fatalf("made an event name with a line break: %q", e.name)
		}
	}
	var buf bytes.Buffer
	for _, e := range out {
		if strings.ContainsAny(e.name, "\r\n") {
			continue // one it was given: the SSE reader never returns such a name
		}
		if err := sse.Write(&buf, e.name, []byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	back := sse.NewReader(&buf)
	for i := 0; ; i++ {
		e, err := back.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// Data with a lone \r or \r\n reads back as \n: compare modulo
		// line-break style, as the SSE spec does.
		norm := func(s string) string { return strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s) }
		if norm(string(e.Data)) != norm(out[i].data) {
			t.Fatalf("event %d reads back as %q, wrote %q", i, e.Data, out[i].data)
		}
	}
}

func FuzzOpenAIGate(f *testing.F) {
	f.Add(encodeEvents(agentChatStream("delete_file", "get_weather")))
	f.Add(encodeEvents(agentChatStream("get_weather", "delete_file")))
	f.Add(encodeEvents([]ev{chatCallStart(0, "c1", "delete_file"), {"", `{"error":{"message":"x"}}`}}))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"delete_x\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[1,{\"index\":-1}]}}]}\n\n"))
	p := mustCompile(f, sprintf(deletePolicy, `"enforce"`))
	f.Fuzz(func(t *testing.T, stream []byte) { fuzzRawGate(t, p, "openai", stream) })
}

func FuzzAnthropicGate(f *testing.F) {
	f.Add(encodeEvents(agentAnthStream("delete_file", "get_weather")))
	f.Add(encodeEvents(agentAnthStream("get_weather", "delete_file")))
	f.Add(encodeEvents([]ev{anthStart, anthToolStart(3, "t", "delete_file"), anthTextStart(0), anthBlockStop(3), anthBlockStop(0)}))
	f.Add([]byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"name\":\"delete_x\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"}}\n\n"))
	p := mustCompile(f, sprintf(deletePolicy, `"enforce"`))
	f.Fuzz(func(t *testing.T, stream []byte) { fuzzRawGate(t, p, "anthropic", stream) })
}

// fuzzNames are the tools generated streams call; delete_* are blocked.
var fuzzNames = []string{"delete_file", "get_weather", "delete_user", "read_file"}

// byteSource hands out fuzz bytes, then zeros.
type byteSource []byte

func (b *byteSource) next() int {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return int(c)
}

type genCall struct {
	id, name, args string
}

// genChatStream makes a valid chat completions stream from fuzz bytes:
// text chunks, calls whose fragments (name first, arguments in pieces) may
// have text between them, the finish, usage and [DONE].
func genChatStream(seed []byte) (events []ev, texts []string, calls []genCall) {
	src := byteSource(seed)
	events = append(events, chatEv(0, `{"role":"assistant","content":""}`, ""))
	var cur *genCall
	sent := 0 // bytes of cur's arguments sent
	for steps := 0; len(src) > 0 && steps < 200; steps++ {
		switch op := src.next() % 4; {
		case op == 0:
			s := fmt.Sprintf("t%d ", steps)
			texts = append(texts, s)
			events = append(events, chatText(s))
		case op == 1 || cur == nil:
			if cur != nil && sent < len(cur.args) {
				events = append(events, chatArgs(len(calls)-1, cur.args[sent:], 1)...)
			}
			calls = append(calls, genCall{id: fmt.Sprintf("call_%d", len(calls)), name: fuzzNames[src.next()%len(fuzzNames)],
				args: fmt.Sprintf(`{"n":%d,"s":"%s"}`, steps, strings.Repeat("x", src.next()%20))})
			cur, sent = &calls[len(calls)-1], 0
			events = append(events, chatCallStart(len(calls)-1, cur.id, cur.name))
		default:
			if sent < len(cur.args) {
				n := min(1+src.next()%8, len(cur.args)-sent)
				events = append(events, chatEv(0, fmt.Sprintf(`{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}`, len(calls)-1, quote(cur.args[sent:sent+n])), ""))
				sent += n
			}
		}
	}
	if cur != nil && sent < len(cur.args) {
		events = append(events, chatArgs(len(calls)-1, cur.args[sent:], 1)...)
	}
	finish := "stop"
	if len(calls) > 0 {
		finish = "tool_calls"
	}
	return append(events, chatEv(0, `{}`, finish), chatUsage, chatDone), texts, calls
}

// genAnthStream makes a valid messages stream from fuzz bytes: text
// blocks and tool_use blocks with their deltas in pieces, pings anywhere.
func genAnthStream(seed []byte) (events []ev, blocks []anthBlock) {
	src := byteSource(seed)
	events = append(events, anthStart)
	tools := 0
	for len(src) > 0 && len(blocks) < 30 {
		idx := len(blocks)
		if src.next()%2 == 0 {
			events = append(events, anthTextStart(idx))
			var text string
			for n := src.next() % 4; n >= 0; n-- {
				s := fmt.Sprintf("w%d ", n)
				text += s
				events = append(events, anthText(idx, s))
				if src.next()%5 == 0 {
					events = append(events, anthPing)
				}
			}
			blocks = append(blocks, anthBlock{Type: "text", Text: text})
		} else {
			c := Call{ID: fmt.Sprintf("toolu_%d", idx), Name: fuzzNames[src.next()%len(fuzzNames)],
				Arguments: fmt.Sprintf(`{"i":%d,"s":"%s"}`, idx, strings.Repeat("y", src.next()%20))}
			events = append(events, anthToolStart(idx, c.ID, c.Name))
			pieces := 1 + src.next()%10
			for _, e := range anthArgs(idx, c.Arguments, pieces) {
				events = append(events, e)
				if src.next()%5 == 0 {
					events = append(events, anthPing)
				}
			}
			blocks = append(blocks, anthBlock{Type: "tool_use", Call: c})
			tools++
		}
		events = append(events, anthBlockStop(idx))
	}
	stop := "end_turn"
	if tools > 0 {
		stop = "tool_use"
	}
	return append(events, anthMessageDelta(stop), anthStop), blocks
}

func callText(name string) string {
	return "[tool call " + name + " blocked by the gateway's firewall: deleting is not allowed]"
}

// FuzzChatGateStreams: whatever the shape of a valid stream, what comes out
// is a valid stream where the text is the text in order, each allowed call
// is whole, and each blocked call is replaced by its text.
func FuzzChatGateStreams(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 2, 0, 2, 2, 2, 1, 1, 2, 2, 2, 2, 0})
	f.Add([]byte{1, 1, 3, 2, 2, 0, 2, 1, 0, 5, 2, 2, 2, 2})
	f.Add([]byte("interleaved text and tool calls"))
	p := mustCompile(f, sprintf(deletePolicy, `"enforce"`))
	f.Fuzz(func(t *testing.T, seed []byte) { checkGeneratedChat(t, p, seed) })
}

func checkGeneratedChat(t *testing.T, p *Policy, seed []byte) {
	in, texts, calls := genChatStream(seed)
	r := runGate(t, NewOpenAIGate(context.Background(), p, &Env{}), in, true)
	res := readChatStream(t, r.out)[0]
	content := res.Content
	var want []genCall
	for _, c := range calls {
		if strings.HasPrefix(c.name, "delete_") {
			if !strings.Contains(content, callText(c.name)) {
				t.Fatalf("no text for blocked %s in %q", c.name, content)
			}
			content = strings.Replace(content, callText(c.name), "", 1)
		} else {
			want = append(want, c)
		}
	}
	if got := strings.ReplaceAll(content, "\n\n", ""); got != strings.Join(texts, "") {
		t.Fatalf("text %q, want %q", got, strings.Join(texts, ""))
	}
	if len(res.Calls) != len(want) {
		t.Fatalf("calls %+v, want %+v", res.Calls, want)
	}
	for i, c := range want {
		if g := res.Calls[i]; g.ID != c.id || g.Name != c.name || g.Arguments != c.args {
			t.Fatalf("call %d: %+v, want %+v", i, g, c)
		}
	}
	wantFinish := "stop"
	if len(want) > 0 {
		wantFinish = "tool_calls"
	}
	if res.Finish != wantFinish {
		t.Fatalf("finish %q, want %q", res.Finish, wantFinish)
	}
	for i, e := range in {
		if strings.Contains(e.data, `"content":"t`) && !r.passedAt[i] {
			t.Fatalf("text event %d was held", i)
		}
	}
}

// FuzzAnthropicGateStreams is FuzzChatGateStreams for messages streams.
func FuzzAnthropicGateStreams(f *testing.F) {
	f.Add([]byte{0, 2, 1, 1, 3, 0, 1, 4, 2, 9, 9, 9})
	f.Add([]byte("tool after tool after text"))
	p := mustCompile(f, sprintf(deletePolicy, `"enforce"`))
	f.Fuzz(func(t *testing.T, seed []byte) { checkGeneratedAnth(t, p, seed) })
}

func checkGeneratedAnth(t *testing.T, p *Policy, seed []byte) {
	in, blocks := genAnthStream(seed)
	r := runGate(t, NewAnthropicGate(context.Background(), p, &Env{}), in, true)
	res := readAnthStream(t, r.out)
	if len(res.Blocks) != len(blocks) {
		t.Fatalf("%d blocks, want %d", len(res.Blocks), len(blocks))
	}
	allowed := 0
	for i, b := range blocks {
		want := b
		if b.Type == "tool_use" {
			if strings.HasPrefix(b.Call.Name, "delete_") {
				want = anthBlock{Type: "text", Text: callText(b.Call.Name)}
			} else {
				allowed++
			}
		}
		if res.Blocks[i] != want {
			t.Fatalf("block %d: %+v, want %+v", i, res.Blocks[i], want)
		}
	}
	tools := strings.Count(fmt.Sprint(blocks), "tool_use")
	wantStop := "end_turn"
	if allowed > 0 {
		wantStop = "tool_use"
	}
	if tools > 0 && res.StopReason != wantStop {
		t.Fatalf("stop_reason %q, want %q", res.StopReason, wantStop)
	}
	for i, e := range in {
		if (strings.Contains(e.data, "text_delta") || e.name == "ping") && !r.passedAt[i] {
			t.Fatalf("event %d was held: %s", i, e.data)
		}
	}
}

// TestGatesRandomStreams runs the fuzz targets' checks on inputs made from
// a fixed random source, so every test run covers more than the seeds:
// generated valid streams, and the agent streams mutated byte by byte.
func TestGatesRandomStreams(t *testing.T) {
	p := mustCompile(t, sprintf(deletePolicy, `"enforce"`))
	rng := rand.New(rand.NewPCG(1, 2))
	n := 300
	if testing.Short() {
		n = 50
	}
	for range n {
		seed := make([]byte, rng.IntN(64))
		for i := range seed {
			seed[i] = byte(rng.IntN(256))
		}
		checkGeneratedChat(t, p, seed)
		checkGeneratedAnth(t, p, seed)
	}
	seeds := [][]byte{
		encodeEvents(agentAnthStream("delete_file", "get_weather")),
		encodeEvents(agentChatStream("delete_file", "get_weather")),
	}
	const alphabet = "{}[]\":,0index\n\ndata: event: tool_use content_block_stop finish_reason"
	for range 3 * n {
		in := slices.Clone(seeds[rng.IntN(len(seeds))])
		for k := rng.IntN(20); k >= 0; k-- {
			switch i := rng.IntN(len(in) + 1); rng.IntN(3) {
			case 0:
				if i < len(in) {
					in[i] = byte(rng.IntN(256))
				}
			case 1:
				in = slices.Delete(in, i, min(len(in), i+rng.IntN(40)))
			case 2:
				j := rng.IntN(len(alphabet))
				in = slices.Insert(in, i, []byte(alphabet[j:min(len(alphabet), j+rng.IntN(12))])...)
			}
		}
		fuzzRawGate(t, p, "openai", in)
		fuzzRawGate(t, p, "anthropic", in)
	}
}
