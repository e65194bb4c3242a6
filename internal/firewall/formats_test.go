package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFormatsResponseGolden is TestResponseGolden for the Gemini and
// Responses adapters: each answer under testdata/gemini and
// testdata/responses is rewritten and compared with its .golden file
// (-update rewrites them); an answer named nothing_* comes back as it was.
func TestFormatsResponseGolden(t *testing.T) {
	p := mustCompile(t, goldenPolicy)
	formats := map[string]struct {
		check func(context.Context, *Policy, *Env, []byte) ([]byte, []Decision, error)
		calls func([]byte) ([]ResponseCall, error)
	}{
		"gemini":    {CheckGeminiResponse, GeminiResponseCalls},
		"responses": {CheckResponsesResponse, ResponsesResponseCalls},
	}
	for format, fn := range formats {
		files, _ := filepath.Glob(filepath.Join("testdata", format, "*.json"))
		if len(files) == 0 {
			t.Fatalf("no testdata for %s", format)
		}
		for _, f := range files {
			t.Run(format+"/"+filepath.Base(f), func(t *testing.T) {
				in, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				before, err := fn.calls(in)
				if err != nil || len(before) == 0 {
					t.Fatalf("calls of the input: %v %v", before, err)
				}
				out, decisions, err := fn.check(context.Background(), p, &Env{}, in)
				if err != nil {
					t.Fatal(err)
				}
				if !json.Valid(out) {
					t.Fatalf("invalid JSON: %s", out)
				}
				if len(decisions) != len(before) {
					t.Errorf("%d decisions for %d calls", len(decisions), len(before))
				}
				for _, d := range decisions {
					if strings.HasPrefix(d.Tool, "delete_") != (d.Action == Block) {
						t.Errorf("decision %+v", d)
					}
				}
				if strings.HasPrefix(filepath.Base(f), "nothing_") {
					if !bytes.Equal(out, in) {
						t.Errorf("changed an answer with nothing blocked:\n%s", out)
					}
					return
				}
				golden := strings.TrimSuffix(f, ".json") + ".golden"
				if *update {
					if err := os.WriteFile(golden, out, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, want) {
					t.Errorf("got\n%s\nwant\n%s", out, want)
				}
				after, err := fn.calls(out)
				if err != nil {
					t.Fatal(err)
				}
				var kept []string
				for _, c := range before {
					if !strings.HasPrefix(c.Name, "delete_") {
						kept = append(kept, c.Name)
					}
				}
				if got := namesOf(callsOf(after)); got != strings.Join(kept, ",") {
					t.Errorf("calls left %s, want %v", got, kept)
				}
				// The replacement says why, in the format's text.
				if !strings.Contains(string(out), "blocked by the gateway's firewall: deleting is not allowed") {
					t.Errorf("no replacement text in %s", out)
				}
				switch format {
				case "gemini": // finishReason stays STOP
					if strings.Count(string(out), `"finishReason": "STOP"`) != strings.Count(string(in), `"finishReason": "STOP"`) {
						t.Errorf("finishReason changed: %s", out)
					}
				case "responses": // a completed message item in the call's place
					var r struct {
						Status string `json:"status"`
						Output []struct {
							ID, Type, Status, Role string
							Content                []struct{ Type, Text string }
						} `json:"output"`
					}
					if err := json.Unmarshal(out, &r); err != nil || r.Status != "completed" {
						t.Fatalf("%v %s", err, out)
					}
					for i, c := range before {
						if !strings.HasPrefix(c.Name, "delete_") {
							continue
						}
						it := r.Output[c.Position]
						if it.Type != "message" || it.Status != "completed" || it.Role != "assistant" || it.ID != "msg_fw_"+c.ID ||
							len(it.Content) != 1 || it.Content[0].Type != "output_text" || !strings.Contains(it.Content[0].Text, c.Name) {
							t.Errorf("call %d replaced by %+v", i, it)
						}
					}
				}
			})
		}
	}
}

func callsOf(rc []ResponseCall) []Call {
	out := make([]Call, len(rc))
	for i := range rc {
		out[i] = rc[i].Call
	}
	return out
}

func TestFormatsResponseDryRun(t *testing.T) {
	p := mustCompile(t, sprintf(deletePolicy, `"dryRun"`))
	for _, f := range []string{"gemini/one_of_two_blocked.json", "responses/all_blocked.json"} {
		in, _ := os.ReadFile(filepath.Join("testdata", f))
		check := CheckGeminiResponse
		if strings.HasPrefix(f, "responses") {
			check = CheckResponsesResponse
		}
		out, ds, err := check(context.Background(), p, &Env{}, in)
		if err != nil || !bytes.Equal(out, in) {
			t.Errorf("%s: dryRun changed the answer (%v)", f, err)
		}
		blocked := 0
		for _, d := range ds {
			if d.Action == Block && d.Mode == DryRun {
				blocked++
			}
		}
		if blocked == 0 {
			t.Errorf("%s: dryRun recorded no block: %+v", f, ds)
		}
	}
}

// agentGemStream: text, a first call (with text after it in the same
// chunk), a second call alone, the finish with usage.
func agentGemStream(first, second string) []ev {
	return []ev{
		gemText("I'll "), gemText("clean up."),
		gemChunk(gemCallPart("fc_1", first, `{"path":"/etc/passwd"}`)+`,{"text":" Working…"}`, ""),
		gemChunk(gemCallPart("", second, `{"city":"Paris"}`), ""),
		gemUsage,
	}
}

func TestGeminiGate(t *testing.T) {
	tests := []struct {
		name, mode, first, second string
		text, calls               string
	}{
		{"first blocked", "enforce", "delete_file", "get_weather",
			"I'll clean up.\n\n" + blockedText + " Working…", "get_weather"},
		{"both allowed", "enforce", "get_weather", "get_weather", "I'll clean up. Working…", "get_weather,get_weather"},
		{"both blocked", "enforce", "delete_file", "delete_file",
			"I'll clean up.\n\n" + blockedText + " Working…\n\n" + blockedText, ""},
		{"second blocked", "enforce", "get_weather", "delete_file", "I'll clean up. Working…\n\n" + blockedText, "get_weather"},
		{"dryRun", "dryRun", "delete_file", "delete_file", "I'll clean up. Working…", "delete_file,delete_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := agentGemStream(tt.first, tt.second)
			g := NewGeminiGate(context.Background(), deleteGatePolicy(t, tt.mode), &Env{})
			r := runGate(t, g, in, true)
			sseRoundTrip(t, r.out)
			res := readGeminiStream(t, r.out)[0]
			if res == nil || res.Text != tt.text || namesOf(res.Calls) != tt.calls || res.Finish != "STOP" {
				t.Fatalf("got %+v\nwant text %q calls %s", res, tt.text, tt.calls)
			}
			for i := range in { // nothing is held: every chunk goes out at once
				if len(r.out) != len(in) || (!r.passedAt[i] && !strings.Contains(in[i].data, "delete_")) {
					t.Errorf("event %d was held or changed", i)
				}
			}
			if len(g.Decisions()) != 2 {
				t.Errorf("decisions %+v", g.Decisions())
			}
		})
	}
}

// agentRespStream: reasoning-free text item, a first call with its
// arguments one character at a time, a second call in three pieces, the
// final response.
func agentRespStream(first, second string) []ev {
	var s respStream
	s.start()
	s.text(0, "I'll ", "clean up.")
	s.call(1, first, `{"path":"/etc/passwd"}`, 22)
	s.call(2, second, `{"city":"Paris"}`, 3)
	s.completed()
	return s.events
}

func TestResponsesGate(t *testing.T) {
	tests := []struct {
		name, mode, first, second string
		texts                     []string
		calls                     string
	}{
		{"first blocked", "enforce", "delete_file", "get_weather", []string{"I'll clean up.", blockedText}, "get_weather"},
		{"both allowed", "enforce", "get_weather", "get_weather", []string{"I'll clean up."}, "get_weather,get_weather"},
		{"both blocked", "enforce", "delete_file", "delete_file", []string{"I'll clean up.", blockedText, blockedText}, ""},
		{"second blocked", "enforce", "get_weather", "delete_file", []string{"I'll clean up.", blockedText}, "get_weather"},
		{"dryRun", "dryRun", "delete_file", "delete_file", []string{"I'll clean up."}, "delete_file,delete_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := agentRespStream(tt.first, tt.second)
			g := NewResponsesGate(context.Background(), deleteGatePolicy(t, tt.mode), &Env{})
			r := runGate(t, g, in, true)
			sseRoundTrip(t, r.out)
			res := readResponsesStream(t, r.out)
			if !res.Completed || !slices.Equal(res.Texts, tt.texts) || namesOf(res.Calls) != tt.calls {
				t.Fatalf("got %+v\nwant texts %q calls %s", res, tt.texts, tt.calls)
			}
			for _, c := range res.Calls {
				want := map[string]string{"call_1": `{"path":"/etc/passwd"}`, "call_2": `{"city":"Paris"}`}[c.ID]
				if c.Arguments != want {
					t.Errorf("call %s arguments %q", c.ID, c.Arguments)
				}
			}
			// Text is never held; an allowed call goes out as it came.
			for i, e := range in {
				if strings.Contains(e.data, `"msg_0"`) && e.name != "response.completed" && !r.passedAt[i] {
					t.Errorf("text event %d was held", i)
				}
			}
			if tt.mode == "dryRun" || tt.name == "both allowed" {
				if len(r.out) != len(in) {
					t.Fatalf("%d events out of %d", len(r.out), len(in))
				}
				for i := range in {
					if r.out[i] != in[i] {
						t.Errorf("event %d changed:\n%s\n%s", i, in[i].data, r.out[i].data)
					}
				}
			}
			if len(g.Decisions()) != 2 {
				t.Errorf("decisions %+v", g.Decisions())
			}
		})
	}
}

// TestResponsesGateOdd: streams a server may send: interleaved items, a
// call whose only event is its done item, a call only in the final
// response, a call still held at Close, an error while a call is held.
func TestResponsesGateOdd(t *testing.T) {
	p := deleteGatePolicy(t, "enforce")
	t.Run("interleaved", func(t *testing.T) {
		var a, b respStream
		a.call(0, "delete_file", `{"path":"/x"}`, 2)
		b.text(1, "Hi", " there")
		var s respStream
		s.start()
		// the call's added, then the whole text item, then the rest of the call
		evs := append([]ev{}, s.events...)
		evs = append(evs, a.events[0])
		evs = append(evs, b.events...)
		evs = append(evs, a.events[1:]...)
		s.output = []string{a.output[0], b.output[0]}
		s.seq = 0
		s.events = nil
		s.completed()
		evs = append(evs, s.events...)
		evs = renumberSeq(evs)
		r := runGate(t, NewResponsesGate(context.Background(), p, &Env{}), evs, true)
		res := readResponsesStream(t, r.out)
		if !slices.Equal(res.Texts, []string{"Hi there", "[tool call delete_file blocked by the gateway's firewall: deleting is not allowed]"}) || len(res.Calls) != 0 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("done only and final only", func(t *testing.T) {
		var s respStream
		s.start()
		s.call(0, "delete_file", `{}`, 1)
		s.events = append(s.events[:2], s.events[len(s.events)-1]) // only output_item.done
		s.output = append(s.output, `{"id":"fc_9","type":"function_call","status":"completed","arguments":"{}","call_id":"call_9","name":"delete_dir"}`)
		s.completed()
		evs := renumberSeq(s.events)
		g := NewResponsesGate(context.Background(), p, &Env{})
		r := runGate(t, g, evs, true)
		last := r.out[len(r.out)-1].data
		if strings.Contains(last, `"function_call"`) || !strings.Contains(last, "msg_fw_call_9") || !strings.Contains(last, "msg_fw_call_0") {
			t.Fatalf("final output not rewritten: %s", last)
		}
		if len(g.Decisions()) != 2 {
			t.Errorf("decisions %+v", g.Decisions())
		}
	})
	t.Run("held at close", func(t *testing.T) {
		var s respStream
		s.start()
		s.call(0, "get_weather", `{"city":"Oslo"}`, 2)
		evs := s.events[:len(s.events)-2] // no arguments done, no item done
		r := runGate(t, NewResponsesGate(context.Background(), p, &Env{}), evs, true)
		if len(r.out) != len(evs) {
			t.Fatalf("allowed call not released at Close: %d of %d", len(r.out), len(evs))
		}
	})
	t.Run("error while held", func(t *testing.T) {
		var s respStream
		s.start()
		s.call(0, "delete_file", `{"path":"/x"}`, 2)
		evs := append(slices.Clone(s.events[:3]), ev{"error", `{"type":"error","sequence_number":99,"code":"server_error","message":"boom"}`})
		evs = append(evs, s.events[3:]...)
		r := runGate(t, NewResponsesGate(context.Background(), p, &Env{}), evs, true)
		for _, e := range r.out {
			if strings.Contains(e.data, "delete_file") && !strings.Contains(e.data, "blocked") {
				t.Fatalf("the call reached the client: %s", e.data)
			}
		}
	})
}

// renumberSeq gives events increasing sequence numbers from 0.
func renumberSeq(evs []ev) []ev {
	out := make([]ev, len(evs))
	for i, e := range evs {
		var m map[string]json.RawMessage
		_ = json.Unmarshal([]byte(e.data), &m)
		d := []byte(e.data)
		if _, ok := m["sequence_number"]; ok {
			d, _ = setMember(d, "sequence_number", i)
		}
		out[i] = ev{e.name, string(d)}
	}
	return out
}

func setMember(d []byte, k string, n int) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d, &m); err != nil {
		return d, err
	}
	m[k], _ = json.Marshal(n)
	return json.Marshal(m)
}

// genRespStream makes a valid Responses stream from a seed: text items
// and calls (delete_* or not) in random order, arguments in random pieces.
func genRespStream(seed []byte) (events []ev, texts []string, calls []genCall) {
	bs := byteSource(seed)
	src := &bs
	var s respStream
	s.start()
	n := src.next() % 5
	for i := range n {
		if src.next()%2 == 0 {
			t := callText("t") + strings.Repeat("x", src.next()%5)
			s.text(i, t[:len(t)/2], t[len(t)/2:])
			texts = append(texts, t)
			continue
		}
		name := []string{"get_weather", "delete_file", "read_file"}[src.next()%3]
		args := `{"n":` + strings.Repeat("1", 1+src.next()%9) + `}`
		s.call(i, name, args, 1+src.next()%5)
		calls = append(calls, genCall{name: name, args: args})
	}
	s.completed()
	return s.events, texts, calls
}

func genGemStream(seed []byte) (events []ev, calls []genCall) {
	bs := byteSource(seed)
	src := &bs
	n := src.next() % 6
	for range n {
		var parts []string
		for k := src.next() % 3; k >= 0; k-- {
			if src.next()%2 == 0 {
				parts = append(parts, `{"text":"w`+strings.Repeat("o", src.next()%4)+`"}`)
				continue
			}
			name := []string{"get_weather", "delete_file", "read_file"}[src.next()%3]
			parts = append(parts, gemCallPart("", name, `{"n":1}`))
			calls = append(calls, genCall{name: name, args: `{"n":1}`})
		}
		events = append(events, gemChunk(strings.Join(parts, ","), ""))
	}
	return append(events, gemUsage), calls
}

// checkGenerated runs a generated stream through a gate and reads what
// comes out strictly: every delete_* call is replaced, every other call
// arrives with its arguments.
func checkGeneratedFormats(t *testing.T, p *Policy, seed []byte) {
	evs, _, calls := genRespStream(seed)
	r := runGate(t, NewResponsesGate(context.Background(), p, &Env{}), evs, true)
	res := readResponsesStream(t, r.out)
	var want []string
	for _, c := range calls {
		if !strings.HasPrefix(c.name, "delete_") {
			want = append(want, c.name)
		}
	}
	if namesOf(res.Calls) != strings.Join(want, ",") {
		t.Fatalf("responses calls %s, want %v", namesOf(res.Calls), want)
	}
	gevs, gcalls := genGemStream(seed)
	gr := runGate(t, NewGeminiGate(context.Background(), p, &Env{}), gevs, true)
	gres := readGeminiStream(t, gr.out)
	want = want[:0]
	for _, c := range gcalls {
		if !strings.HasPrefix(c.name, "delete_") {
			want = append(want, c.name)
		}
	}
	if got := gres[0]; got == nil || namesOf(got.Calls) != strings.Join(want, ",") {
		t.Fatalf("gemini calls %+v, want %v", got, want)
	}
}

// mutatedGate runs bytes through a gate as SSE: it must not panic, and
// whatever it writes itself (an event that is not one it was given) is
// valid JSON; in enforce no unchecked delete_* call gets out.
func mutatedGate(t *testing.T, p *Policy, g Gate, in []ev) {
	seen := map[string]bool{}
	for _, e := range in {
		seen[e.data] = true
	}
	r := runGate(t, g, in, true)
	for _, o := range r.out {
		if !seen[o.data] && !json.Valid([]byte(o.data)) {
			t.Fatalf("the gate wrote malformed JSON: %q", o.data)
		}
	}
}

func TestFormatGatesRandomStreams(t *testing.T) {
	p := mustCompile(t, sprintf(deletePolicy, `"enforce"`))
	rng := rand.New(rand.NewPCG(3, 4))
	n := 400
	if testing.Short() {
		n = 60
	}
	for range n {
		seed := make([]byte, rng.IntN(64))
		for i := range seed {
			seed[i] = byte(rng.IntN(256))
		}
		checkGeneratedFormats(t, p, seed)
	}
	seeds := [][]ev{agentRespStream("delete_file", "get_weather"), agentGemStream("delete_file", "get_weather")}
	const alphabet = `{}[]":,0output_index sequence_number functionCall function_call response.output_item.done "type"`
	for range 3 * n {
		src := seeds[rng.IntN(len(seeds))]
		in := slices.Clone(src)
		for k := rng.IntN(6); k >= 0; k-- {
			i := rng.IntN(len(in))
			d := []byte(in[i].data)
			switch j := rng.IntN(len(d) + 1); rng.IntN(4) {
			case 0:
				if j < len(d) {
					d[j] = byte(rng.IntN(256))
				}
			case 1:
				d = slices.Delete(d, j, min(len(d), j+rng.IntN(20)))
			case 2:
				a := rng.IntN(len(alphabet))
				d = slices.Insert(d, j, []byte(alphabet[a:min(len(alphabet), a+rng.IntN(16))])...)
			case 3: // drop, repeat or move an event
				e := in[i]
				in = slices.Delete(in, i, i+1)
				if rng.IntN(2) == 0 {
					in = slices.Insert(in, rng.IntN(len(in)+1), e, e)
				}
				continue
			}
			in[i].data = string(d)
		}
		mutatedGate(t, p, NewResponsesGate(context.Background(), p, &Env{}), in)
		mutatedGate(t, p, NewGeminiGate(context.Background(), p, &Env{}), in)
	}
}

// A reordered or repeated stream that is still valid JSON keeps the
// Responses gate's promises: strictly increasing sequence numbers and
// no unchecked delete_* call.
func TestResponsesGateShuffled(t *testing.T) {
	p := mustCompile(t, sprintf(deletePolicy, `"enforce"`))
	rng := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		in := slices.Clone(agentRespStream("delete_file", "get_weather"))
		for k := rng.IntN(4); k >= 0; k-- {
			i, j := rng.IntN(len(in)), rng.IntN(len(in))
			in[i], in[j] = in[j], in[i]
		}
		if rng.IntN(2) == 0 {
			i := rng.IntN(len(in))
			in = slices.Insert(in, i, in[i])
		}
		r := runGate(t, NewResponsesGate(context.Background(), p, &Env{}), in, true)
		last := int64(-1)
		for _, o := range r.out {
			h, ok := readHead([]byte(o.data))
			if !ok || !h.hasSq || h.seq <= last {
				t.Fatalf("sequence_number %d after %d: %s", h.seq, last, o.data)
			}
			last = h.seq
			if strings.Contains(o.data, `"name":"delete_file"`) {
				t.Fatalf("a delete_file call got out: %s", o.data)
			}
		}
	}
}

func FuzzResponsesGate(f *testing.F) {
	f.Add(encodeEvents(agentRespStream("delete_file", "get_weather")))
	p := mustCompile(f, sprintf(deletePolicy, `"enforce"`))
	f.Fuzz(func(t *testing.T, stream []byte) { fuzzFormatGate(t, p, stream) })
}

func fuzzFormatGate(t *testing.T, p *Policy, stream []byte) {
	var in []ev
	for _, block := range strings.Split(string(stream), "\n\n") {
		var e ev
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				e.name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				e.data = v
			}
		}
		in = append(in, e)
	}
	mutatedGate(t, p, NewResponsesGate(context.Background(), p, &Env{}), in)
	mutatedGate(t, p, NewGeminiGate(context.Background(), p, &Env{}), in)
}

func BenchmarkFormatGateText(b *testing.B) {
	p := mustCompile(b, policy20)
	emit := func(string, []byte) error { return nil }
	b.Run("gemini", func(b *testing.B) {
		g := NewGeminiGate(context.Background(), p, &Env{})
		data := []byte(gemText("Hello there, how").data)
		loop(b, func() { _ = g.Event("", data, emit) })
	})
	b.Run("responses", func(b *testing.B) {
		var s respStream
		s.start()
		s.text(0, "Hello there, how")
		g := NewResponsesGate(context.Background(), p, &Env{})
		for _, e := range s.events[:3] {
			_ = g.Event(e.name, []byte(e.data), emit)
		}
		data := []byte(s.events[4].data)
		loop(b, func() {
			g.lastSeq = 3 // each token a new one
			_ = g.Event("response.output_text.delta", data, emit)
		})
	})
}

func BenchmarkFormatGateToolCall(b *testing.B) {
	p := mustCompile(b, policy20)
	emit := func(string, []byte) error { return nil }
	var s respStream
	s.call(0, "read_file", benchCalls[0].Arguments, 10)
	s.completed()
	loop(b, func() {
		g := NewResponsesGate(context.Background(), p, &Env{Request: benchRequest(), Key: benchKey})
		for _, e := range s.events {
			_ = g.Event(e.name, []byte(e.data), emit)
		}
	})
}

// TestResponsesGateInconsistent: when a server's events disagree about a
// call (the added item, the deltas, the done item, the final output),
// every version is checked and a blocked one blocks.
func TestResponsesGateInconsistent(t *testing.T) {
	p := deleteGatePolicy(t, "enforce")
	swap := func(evs []ev, i int, from, to string) []ev {
		evs = slices.Clone(evs)
		evs[i].data = strings.Replace(evs[i].data, from, to, 1)
		return evs
	}
	var s respStream
	s.start()
	s.call(0, "get_weather", `{"city":"Paris"}`, 2)
	s.completed()
	n := len(s.events)
	for name, in := range map[string][]ev{
		"added says delete":  swap(s.events, 2, `"get_weather"`, `"delete_file"`),
		"done says delete":   swap(s.events, n-2, `"get_weather"`, `"delete_file"`),
		"output says delete": swap(s.events, n-1, `"get_weather"`, `"delete_file"`),
	} {
		t.Run(name, func(t *testing.T) {
			r := runGate(t, NewResponsesGate(context.Background(), p, &Env{}), in, true)
			for _, o := range r.out {
				if strings.Contains(o.data, `"delete_file"`) && !strings.Contains(o.data, "blocked") {
					t.Fatalf("delete_file got out: %s", o.data)
				}
			}
			if name != "output says delete" {
				res := readResponsesStream(t, r.out)
				if len(res.Calls) != 0 || len(res.Texts) != 1 {
					t.Fatalf("%+v", res)
				}
			}
		})
	}
}
