package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
)

// ev is one SSE event.
type ev struct{ name, data string }

// gateRun is what a gate did with a stream.
type gateRun struct {
	out []ev
	// passedAt[i] is true when input event i went out unchanged during
	// its own Event call (it was not held).
	passedAt []bool
}

func runGate(t testing.TB, g Gate, in []ev, closeAtEnd bool) gateRun {
	t.Helper()
	var r gateRun
	for _, e := range in {
		before := len(r.out)
		err := g.Event(e.name, []byte(e.data), func(name string, data []byte) error {
			r.out = append(r.out, ev{name, string(data)}) // data is only valid during emit
			return nil
		})
		if err != nil {
			t.Fatalf("Event(%s): %v", e.data, err)
		}
		passed := false
		for _, o := range r.out[before:] {
			if o == e {
				passed = true
			}
		}
		r.passedAt = append(r.passedAt, passed)
	}
	if closeAtEnd {
		if err := g.Close(func(name string, data []byte) error {
			r.out = append(r.out, ev{name, string(data)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// sseRoundTrip writes the events as SSE and reads them back: what the
// client's SSE parser sees must be what the gate emitted.
func sseRoundTrip(t testing.TB, events []ev) {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range events {
		if err := sse.Write(&buf, e.name, []byte(e.data)); err != nil {
			t.Fatalf("writing %q: %v", e.data, err)
		}
	}
	rd := sse.NewReader(&buf)
	for i := 0; ; i++ {
		got, err := rd.Next()
		if err == io.EOF {
			if i != len(events) {
				t.Fatalf("read %d events back, wrote %d", i, len(events))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(events) || got.Name != events[i].name || string(got.Data) != events[i].data {
			t.Fatalf("event %d read back as %q %q", i, got.Name, got.Data)
		}
	}
}

// --- OpenAI chat completions streams ---

const chatPrefix = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[`

func chatEv(choice int, delta string, finish string) ev {
	if finish == "" {
		finish = "null"
	} else {
		finish = strconv.Quote(finish)
	}
	return ev{"", chatPrefix + `{"index":` + strconv.Itoa(choice) + `,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}]}`}
}

func chatText(s string) ev { return chatEv(0, `{"content":`+string(quote(s))+`}`, "") }

// chatCallStart is a call's first fragment; chatArgs its argument pieces.
func chatCallStart(index int, id, name string) ev {
	return chatEv(0, fmt.Sprintf(`{"tool_calls":[{"index":%d,"id":%q,"type":"function","function":{"name":%q,"arguments":""}}]}`, index, id, name), "")
}

func chatArgs(index int, args string, pieces int) []ev {
	var out []ev
	n := (len(args) + pieces - 1) / pieces
	for i := 0; i < len(args); i += n {
		piece := args[i:min(i+n, len(args))]
		out = append(out, chatEv(0, fmt.Sprintf(`{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}`, index, quote(piece)), ""))
	}
	return out
}

var (
	chatUsage = ev{"", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}`}
	chatDone  = ev{"", "[DONE]"}
)

// chatChoiceResult is one choice as a client accumulates it.
type chatChoiceResult struct {
	Content string
	Calls   []Call
	Finish  string
}

// readChatStream checks that events make a valid chat completions stream,
// as an SDK's accumulator needs it, and accumulates it: JSON chunks and
// "[DONE]" last; a tool call's index is the next one (0, 1, 2…) when it
// starts, with its id and name, or the latest when it continues; nothing
// after a choice's finish_reason.
func readChatStream(t testing.TB, events []ev) map[int]*chatChoiceResult {
	t.Helper()
	res := map[int]*chatChoiceResult{}
	for i, e := range events {
		if e.data == "[DONE]" {
			if i != len(events)-1 {
				t.Fatalf("[DONE] at %d of %d", i, len(events))
			}
			continue
		}
		var c struct {
			Choices []struct {
				Index *int `json:"index"`
				Delta struct {
					Content   *string `json:"content"`
					ToolCalls []struct {
						Index    *int   `json:"index"`
						ID       string `json:"id"`
						Function struct {
							Name      string  `json:"name"`
							Arguments *string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(e.data), &c); err != nil {
			t.Fatalf("event %d is not a chunk: %v\n%s", i, err, e.data)
		}
		for _, ch := range c.Choices {
			if ch.Index == nil {
				t.Fatalf("event %d: a choice without index", i)
			}
			r := res[*ch.Index]
			if r == nil {
				r = &chatChoiceResult{}
				res[*ch.Index] = r
			}
			if r.Finish != "" {
				t.Fatalf("event %d: choice %d continues after finish_reason %q:\n%s", i, *ch.Index, r.Finish, e.data)
			}
			if ch.Delta.Content != nil {
				r.Content += *ch.Delta.Content
			}
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index == nil {
					t.Fatalf("event %d: a tool call without index", i)
				}
				switch idx := *tc.Index; {
				case idx == len(r.Calls):
					if tc.ID == "" || tc.Function.Name == "" {
						t.Fatalf("event %d: call %d starts without id or name: %s", i, idx, e.data)
					}
					r.Calls = append(r.Calls, Call{ID: tc.ID, Name: tc.Function.Name})
				case idx == len(r.Calls)-1:
					if tc.Function.Name != "" || tc.ID != "" {
						t.Fatalf("event %d: call %d's id or name repeated: %s", i, idx, e.data)
					}
				default:
					t.Fatalf("event %d: tool call index %d after %d calls", i, idx, len(r.Calls))
				}
				if tc.Function.Arguments != nil {
					r.Calls[*tc.Index].Arguments += *tc.Function.Arguments
				}
			}
			if ch.FinishReason != nil {
				r.Finish = *ch.FinishReason
			}
		}
	}
	return res
}

// --- Anthropic messages streams ---

func anthEv(typ, body string) ev {
	return ev{typ, `{"type":"` + typ + `"` + body + `}`}
}

var (
	anthStart = anthEv("message_start", `,"message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1}}`)
	anthPing  = anthEv("ping", ``)
	anthStop  = anthEv("message_stop", ``)
)

func anthTextStart(index int) ev {
	return anthEv("content_block_start", fmt.Sprintf(`,"index":%d,"content_block":{"type":"text","text":""}`, index))
}

func anthText(index int, s string) ev {
	return anthEv("content_block_delta", fmt.Sprintf(`,"index":%d,"delta":{"type":"text_delta","text":%s}`, index, quote(s)))
}

func anthBlockStop(index int) ev {
	return anthEv("content_block_stop", fmt.Sprintf(`,"index":%d`, index))
}

func anthToolStart(index int, id, name string) ev {
	return anthEv("content_block_start", fmt.Sprintf(`,"index":%d,"content_block":{"type":"tool_use","id":%q,"name":%q,"input":{}}`, index, id, name))
}

func anthArgs(index int, args string, pieces int) []ev {
	out := []ev{anthEv("content_block_delta", fmt.Sprintf(`,"index":%d,"delta":{"type":"input_json_delta","partial_json":""}`, index))}
	n := (len(args) + pieces - 1) / pieces
	for i := 0; i < len(args); i += n {
		out = append(out, anthEv("content_block_delta", fmt.Sprintf(`,"index":%d,"delta":{"type":"input_json_delta","partial_json":%s}`, index, quote(args[i:min(i+n, len(args))]))))
	}
	return out
}

func anthMessageDelta(stop string) ev {
	return anthEv("message_delta", `,"delta":{"stop_reason":"`+stop+`","stop_sequence":null},"usage":{"output_tokens":42}`)
}

// anthBlock is one content block as a client accumulates it.
type anthBlock struct {
	Type, Text string
	Call       Call
}

type anthResult struct {
	Blocks     []anthBlock
	StopReason string
}

// readAnthStream checks that events make a valid messages stream, as the
// SDKs' accumulators need it, and accumulates it: message_start first and
// message_stop last; blocks start at the next index, get deltas of their
// type while open, and stop; a tool_use's input is JSON; the message_delta
// comes after the blocks. (The SDKs find blocks by index, so two may be
// open at once.)
func readAnthStream(t testing.TB, events []ev) anthResult {
	t.Helper()
	var r anthResult
	open := map[int]bool{}
	stopped := false
	for i, e := range events {
		var m struct {
			Type         string `json:"type"`
			Index        *int   `json:"index"`
			ContentBlock *struct {
				Type, ID, Name, Text string
			} `json:"content_block"`
			Delta *struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(e.data), &m); err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, e.data)
		}
		if m.Type != e.name {
			t.Fatalf("event %d named %q has type %q", i, e.name, m.Type)
		}
		if (i == 0) != (m.Type == "message_start") || (i == len(events)-1) != (m.Type == "message_stop") {
			t.Fatalf("event %d of %d is %s", i, len(events), m.Type)
		}
		switch m.Type {
		case "content_block_start":
			if m.Index == nil || *m.Index != len(r.Blocks) || stopped {
				t.Fatalf("event %d: block start %s after %d blocks", i, e.data, len(r.Blocks))
			}
			open[*m.Index] = true
			b := anthBlock{Type: m.ContentBlock.Type, Text: m.ContentBlock.Text}
			if b.Type == "tool_use" {
				b.Call = Call{ID: m.ContentBlock.ID, Name: m.ContentBlock.Name}
			}
			r.Blocks = append(r.Blocks, b)
		case "content_block_delta":
			if m.Index == nil || !open[*m.Index] {
				t.Fatalf("event %d: delta %s to a block that is not open", i, e.data)
			}
			b := &r.Blocks[*m.Index]
			switch {
			case b.Type == "text" && m.Delta.Type == "text_delta":
				b.Text += m.Delta.Text
			case b.Type == "tool_use" && m.Delta.Type == "input_json_delta":
				b.Call.Arguments += m.Delta.PartialJSON
			case b.Type != "text" && b.Type != "tool_use": // thinking, server tools
			default:
				t.Fatalf("event %d: a %s delta to a %s block", i, m.Delta.Type, b.Type)
			}
		case "content_block_stop":
			if m.Index == nil || !open[*m.Index] {
				t.Fatalf("event %d: stop %s of a block that is not open", i, e.data)
			}
			if b := r.Blocks[*m.Index]; b.Type == "tool_use" && b.Call.Arguments != "" && !json.Valid([]byte(b.Call.Arguments)) {
				t.Fatalf("event %d: tool_use input %q", i, b.Call.Arguments)
			}
			delete(open, *m.Index)
		case "message_delta":
			if len(open) > 0 {
				t.Fatalf("event %d: message_delta with blocks %v open", i, open)
			}
			stopped = true
			r.StopReason = m.Delta.StopReason
		}
	}
	return r
}

func namesOf(calls []Call) string {
	var s []string
	for _, c := range calls {
		s = append(s, c.Name)
	}
	return strings.Join(s, ",")
}

// TestGatesPassTheSameSlice: an event that passes unchanged is emitted with
// the caller's own slice (so the gateway can write the provider's raw
// bytes), for both gates and for events read fast or parsed.
func TestGatesPassTheSameSlice(t *testing.T) {
	p := mustCompile(t, sprintf(deletePolicy, `"enforce"`))
	streams := map[string][]ev{
		"openai":    agentChatStream("get_weather", "delete_file"),
		"anthropic": agentAnthStream("get_weather", "delete_file"),
	}
	for format, in := range streams {
		g := gateFactories[format](p)
		same := 0
		for _, e := range in {
			data := []byte(e.data)
			_ = g.Event(e.name, data, func(name string, out []byte) error {
				if len(out) > 0 && &out[0] == &data[0] {
					same++
				} else if string(out) == e.data && !strings.Contains(e.data, "tool") && !strings.Contains(e.data, "input_json") && e.name != "content_block_stop" {
					t.Errorf("%s: %q passed unchanged in a copy", format, e.data)
				}
				return nil
			})
		}
		if same < 5 {
			t.Errorf("%s: only %d events passed as the same slice", format, same)
		}
	}
}
