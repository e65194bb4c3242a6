package firewall

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// agentAnthStream: a text block, a tool_use whose input comes in one
// delta per character, a ping while it is held, a second tool_use in three
// deltas, message_delta and message_stop.
func agentAnthStream(first, second string) []ev {
	s := []ev{anthStart, anthTextStart(0), anthText(0, "I'll "), anthText(0, "clean up."), anthBlockStop(0)}
	s = append(s, anthToolStart(1, "toolu_1", first))
	args := anthArgs(1, `{"path":"/etc/passwd"}`, 22)
	s = append(s, args[:6]...)
	s = append(s, anthPing)
	s = append(s, args[6:]...)
	s = append(s, anthBlockStop(1), anthToolStart(2, "toolu_2", second))
	s = append(s, anthArgs(2, `{"city":"Paris"}`, 3)...)
	return append(s, anthBlockStop(2), anthMessageDelta("tool_use"), anthStop)
}

func TestAnthropicGate(t *testing.T) {
	blocked := anthBlock{Type: "text", Text: blockedText}
	text := anthBlock{Type: "text", Text: "I'll clean up."}
	weather := func(id, args string) anthBlock {
		return anthBlock{Type: "tool_use", Call: Call{ID: id, Name: "get_weather", Arguments: args}}
	}
	del := func(id, args string) anthBlock {
		return anthBlock{Type: "tool_use", Call: Call{ID: id, Name: "delete_file", Arguments: args}}
	}
	const a1, a2 = `{"path":"/etc/passwd"}`, `{"city":"Paris"}`
	tests := []struct {
		name          string
		mode          string
		first, second string
		blocks        []anthBlock
		stop          string
	}{
		{"first blocked", "enforce", "delete_file", "get_weather", []anthBlock{text, blocked, weather("toolu_2", a2)}, "tool_use"},
		{"second blocked", "enforce", "get_weather", "delete_file", []anthBlock{text, weather("toolu_1", a1), blocked}, "tool_use"},
		{"both allowed", "enforce", "get_weather", "get_weather", []anthBlock{text, weather("toolu_1", a1), weather("toolu_2", a2)}, "tool_use"},
		{"both blocked", "enforce", "delete_file", "delete_file", []anthBlock{text, blocked, blocked}, "end_turn"},
		{"dryRun", "dryRun", "delete_file", "delete_file", []anthBlock{text, del("toolu_1", a1), del("toolu_2", a2)}, "tool_use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := agentAnthStream(tt.first, tt.second)
			g := NewAnthropicGate(context.Background(), deleteGatePolicy(t, tt.mode), &Env{})
			r := runGate(t, g, in, true)
			sseRoundTrip(t, r.out)
			res := readAnthStream(t, r.out)
			if !slices.Equal(res.Blocks, tt.blocks) || res.StopReason != tt.stop {
				t.Fatalf("got %+v\nwant %+v %s", res, tt.blocks, tt.stop)
			}
			// Text and pings are never held.
			for i, e := range in {
				if (strings.Contains(e.data, "text_delta") || e.name == "ping") && !r.passedAt[i] {
					t.Errorf("event %d was held: %s", i, e.data)
				}
			}
			// Every event of an allowed tool_use goes out unchanged.
			if tt.mode == "dryRun" && !slices.Equal(r.out, in) {
				t.Errorf("dryRun changed the stream:\n%v", r.out)
			}
			if tt.name == "both allowed" {
				for _, e := range in {
					if !slices.Contains(r.out, e) {
						t.Errorf("event %s did not go out unchanged", e.data)
					}
				}
			}
			if n := len(g.Decisions()); n != 2 {
				t.Errorf("%d decisions", n)
			}
		})
	}
}

// The tool_use goes out only once its block stopped.
func TestAnthropicGateHoldsUntilStop(t *testing.T) {
	g := NewAnthropicGate(context.Background(), deleteGatePolicy(t, "enforce"), &Env{})
	in := agentAnthStream("get_weather", "get_weather")
	stop := slices.Index(in, anthBlockStop(1))
	var out []ev
	for i, e := range in {
		_ = g.Event(e.name, []byte(e.data), func(name string, data []byte) error {
			out = append(out, ev{name, string(data)})
			return nil
		})
		released := slices.ContainsFunc(out, func(o ev) bool { return strings.Contains(o.data, "toolu_1") })
		if released != (i >= stop) {
			t.Fatalf("after event %d (stop at %d): released %v", i, stop, released)
		}
	}
}

func TestAnthropicGateShapes(t *testing.T) {
	p := deleteGatePolicy(t, "enforce")
	tests := []struct {
		name   string
		in     []ev
		close  bool
		blocks string // types and names/texts, comma separated
		stop   string
	}{
		{
			// A server interleaving a text block into a held tool_use:
			// the text goes first and takes the tool's index.
			name: "interleaved blocks are renumbered",
			in: append(append([]ev{anthStart, anthToolStart(0, "t1", "get_weather")}, anthArgs(0, `{"a":1}`, 2)...),
				anthTextStart(1), anthText(1, "meanwhile"), anthBlockStop(0), anthText(1, "!"), anthBlockStop(1),
				anthMessageDelta("tool_use"), anthStop),
			blocks: "text:meanwhile!,tool_use:get_weather", stop: "tool_use",
		},
		{
			name:   "a tool_use never stopped is completed at message_delta",
			in:     []ev{anthStart, anthToolStart(0, "t1", "get_weather"), anthMessageDelta("tool_use"), anthStop},
			blocks: "tool_use:get_weather", stop: "tool_use",
		},
		{
			name:   "the stream ends with a tool_use open: Close completes it",
			in:     []ev{anthStart, anthTextStart(0), anthText(0, "x"), anthBlockStop(0), anthToolStart(1, "t1", "delete_file")},
			close:  true,
			blocks: "text:x,text:" + blockedText,
		},
		{
			name: "a delta after the tool's stop is dropped",
			in: []ev{anthStart, anthToolStart(0, "t1", "get_weather"), anthBlockStop(0),
				anthEv("content_block_delta", `,"index":0,"delta":{"type":"input_json_delta","partial_json":"{\"sneaky\":1}"}`),
				anthMessageDelta("tool_use"), anthStop},
			blocks: "tool_use:get_weather", stop: "tool_use",
		},
		{
			name: "server tools pass as other blocks",
			in: []ev{anthStart,
				anthEv("content_block_start", `,"index":0,"content_block":{"type":"server_tool_use","id":"s1","name":"web_search","input":{}}`),
				anthEv("content_block_delta", `,"index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}`),
				anthBlockStop(0), anthToolStart(1, "t1", "delete_all"), anthBlockStop(1), anthMessageDelta("tool_use"), anthStop},
			blocks: "server_tool_use:,text:[tool call delete_all blocked by the gateway's firewall: deleting is not allowed]", stop: "end_turn",
		},
		{
			name: "a thinking block passes",
			in: []ev{anthStart,
				anthEv("content_block_start", `,"index":0,"content_block":{"type":"thinking","thinking":""}`),
				anthEv("content_block_delta", `,"index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}`),
				anthBlockStop(0), anthToolStart(1, "t1", "delete_file"), anthBlockStop(1), anthMessageDelta("tool_use"), anthStop},
			blocks: "thinking:,text:" + blockedText, stop: "end_turn",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runGate(t, NewAnthropicGate(context.Background(), p, &Env{}), tt.in, tt.close)
			sseRoundTrip(t, r.out)
			out := r.out
			if tt.close { // cut off: the validator wants the closing events
				out = append(slices.Clone(out), anthMessageDelta("end_turn"), anthStop)
			}
			res := readAnthStream(t, out)
			var got []string
			for _, b := range res.Blocks {
				got = append(got, b.Type+":"+b.Text+b.Call.Name)
				if strings.Contains(b.Call.Arguments, "sneaky") {
					t.Errorf("a late delta reached the client")
				}
			}
			if strings.Join(got, ",") != tt.blocks || (!tt.close && res.StopReason != tt.stop) {
				t.Fatalf("got %v %s\nwant %s %s\n%v", got, res.StopReason, tt.blocks, tt.stop, r.out)
			}
		})
	}
}

func TestAnthropicGateErrorDropsHeld(t *testing.T) {
	p := deleteGatePolicy(t, "enforce")
	in := []ev{anthStart, anthToolStart(0, "t1", "get_weather"), {"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}}
	r := runGate(t, NewAnthropicGate(context.Background(), p, &Env{}), in, true)
	if len(r.out) != 2 || r.out[1].name != "error" {
		t.Fatalf("out %v", r.out)
	}
}
