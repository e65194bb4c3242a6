package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
)

// --- Gemini streams ---

func gemChunk(parts string, finish string) ev {
	fin := ""
	if finish != "" {
		fin = `,"finishReason":` + strconv.Quote(finish)
	}
	return ev{"", `{"candidates":[{"content":{"role":"model","parts":[` + parts + `]}` + fin + `,"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r1"}`}
}

func gemText(s string) ev { return gemChunk(`{"text":`+string(quote(s))+`}`, "") }

func gemCallPart(id, name, args string) string {
	idm := ""
	if id != "" {
		idm = `"id":` + strconv.Quote(id) + `,`
	}
	return `{"functionCall":{` + idm + `"name":` + strconv.Quote(name) + `,"args":` + args + `}}`
}

var gemUsage = ev{"", `{"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":12,"totalTokenCount":21},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`}

// gemResult is one candidate as a strict client accumulates it.
type gemResult struct {
	Text   string
	Calls  []Call
	Finish string
}

// readGeminiStream reads a Gemini stream strictly: every event is a
// data-only GenerateContentResponse with no member the API does not
// define, every part is a text or a functionCall (with an object of
// args), and a finishReason comes in the last chunk only.
func readGeminiStream(t testing.TB, events []ev) map[int]*gemResult {
	t.Helper()
	type part struct {
		Text             *string `json:"text"`
		Thought          bool    `json:"thought"`
		ThoughtSignature string  `json:"thoughtSignature"`
		FunctionCall     *struct {
			ID   string          `json:"id"`
			Name string          `json:"name"`
			Args json.RawMessage `json:"args"`
		} `json:"functionCall"`
	}
	type chunk struct {
		Candidates []struct {
			Content *struct {
				Role  string `json:"role"`
				Parts []part `json:"parts"`
			} `json:"content"`
			FinishReason string `json:"finishReason"`
			Index        int    `json:"index"`
		} `json:"candidates"`
		UsageMetadata json.RawMessage `json:"usageMetadata"`
		ModelVersion  string          `json:"modelVersion"`
		ResponseID    string          `json:"responseId"`
	}
	res := map[int]*gemResult{}
	finished := false
	for i, e := range events {
		if e.name != "" {
			t.Fatalf("event %d has a name %q", i, e.name)
		}
		if finished {
			t.Fatalf("event %d after the finishReason: %s", i, e.data)
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(e.data)))
		dec.DisallowUnknownFields()
		var c chunk
		if err := dec.Decode(&c); err != nil || dec.More() {
			t.Fatalf("event %d is not a strict GenerateContentResponse (%v): %s", i, err, e.data)
		}
		for _, cand := range c.Candidates {
			r := res[cand.Index]
			if r == nil {
				r = &gemResult{}
				res[cand.Index] = r
			}
			if cand.Content != nil {
				for _, p := range cand.Content.Parts {
					switch {
					case p.Text != nil && p.FunctionCall == nil:
						if !p.Thought {
							r.Text += *p.Text
						}
					case p.FunctionCall != nil && p.Text == nil:
						args := bytes.TrimSpace(p.FunctionCall.Args)
						if len(args) == 0 || args[0] != '{' || !json.Valid(args) {
							t.Fatalf("event %d: functionCall args %s", i, args)
						}
						r.Calls = append(r.Calls, Call{ID: p.FunctionCall.ID, Name: p.FunctionCall.Name, Arguments: compactJSON(args)})
					default:
						t.Fatalf("event %d: a part with neither or both of text and functionCall: %s", i, e.data)
					}
				}
			}
			if cand.FinishReason != "" {
				r.Finish = cand.FinishReason
				finished = true
			}
		}
	}
	return res
}

// --- Responses streams ---

// respStream builds a Responses stream as OpenAI writes it, numbering
// events as they are added.
type respStream struct {
	events []ev
	seq    int
	output []string // the done items, for response.completed
}

func (s *respStream) add(typ, body string) {
	s.events = append(s.events, ev{typ, fmt.Sprintf(`{"type":%q,"sequence_number":%d%s}`, typ, s.seq, body)})
	s.seq++
}

func (s *respStream) start() {
	s.add("response.created", `,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-pro","output":[]}`)
	s.add("response.in_progress", `,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-pro","output":[]}`)
}

// text adds a message item at output index i with the text in pieces.
func (s *respStream) text(i int, pieces ...string) {
	id := fmt.Sprintf("msg_%d", i)
	ref := fmt.Sprintf(`,"item_id":%q,"output_index":%d,"content_index":0`, id, i)
	s.add("response.output_item.added", fmt.Sprintf(`,"output_index":%d,"item":{"id":%q,"type":"message","status":"in_progress","role":"assistant","content":[]}`, i, id))
	s.add("response.content_part.added", ref+`,"part":{"type":"output_text","annotations":[],"text":""}`)
	all := ""
	for _, p := range pieces {
		all += p
		s.add("response.output_text.delta", ref+`,"delta":`+string(quote(p))+`,"logprobs":[]`)
	}
	s.add("response.output_text.done", ref+`,"text":`+string(quote(all))+`,"logprobs":[]`)
	s.add("response.content_part.done", ref+`,"part":{"type":"output_text","annotations":[],"text":`+string(quote(all))+`}`)
	item := fmt.Sprintf(`{"id":%q,"type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":%s}]}`, id, quote(all))
	s.add("response.output_item.done", fmt.Sprintf(`,"output_index":%d,"item":%s`, i, item))
	s.output = append(s.output, item)
}

// call adds a function_call item at output index i, its arguments in
// pieces.
func (s *respStream) call(i int, name, args string, pieces int) {
	id, callID := fmt.Sprintf("fc_%d", i), fmt.Sprintf("call_%d", i)
	s.add("response.output_item.added", fmt.Sprintf(`,"output_index":%d,"item":{"id":%q,"type":"function_call","status":"in_progress","arguments":"","call_id":%q,"name":%q}`, i, id, callID, name))
	ref := fmt.Sprintf(`,"item_id":%q,"output_index":%d`, id, i)
	n := max(1, (len(args)+pieces-1)/pieces)
	for k := 0; k < len(args); k += n {
		s.add("response.function_call_arguments.delta", ref+`,"delta":`+string(quote(args[k:min(k+n, len(args))])))
	}
	s.add("response.function_call_arguments.done", ref+`,"arguments":`+string(quote(args)))
	item := fmt.Sprintf(`{"id":%q,"type":"function_call","status":"completed","arguments":%s,"call_id":%q,"name":%q}`, id, quote(args), callID, name)
	s.add("response.output_item.done", fmt.Sprintf(`,"output_index":%d,"item":%s`, i, item))
	s.output = append(s.output, item)
}

func (s *respStream) completed() {
	out := "["
	for i, it := range s.output {
		if i > 0 {
			out += ","
		}
		out += it
	}
	s.add("response.completed", `,"response":{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-pro","output":`+out+`],"usage":{"input_tokens":9,"output_tokens":12,"total_tokens":21}}`)
}

// respResult is a Responses stream as a strict client reads it.
type respResult struct {
	Items     []map[string]any // the done items, by output index
	Texts     []string         // the text of each message item
	Calls     []Call
	Completed bool
}

// readResponsesStream reads a Responses stream strictly: each event's
// name is its type; sequence_number goes up by one; items are added
// at output_index 0, 1, 2…; every event of an item comes between its
// added and done events and names its item_id; the text and argument
// deltas add up to their .done events and to the done item; the final
// response's output is the done items, in order; nothing follows it.
func readResponsesStream(t testing.TB, events []ev) respResult {
	t.Helper()
	type open struct {
		id, typ, name, callID string
		text, args            string
		textDone, argsDone    bool
		done                  bool
	}
	var res respResult
	var items []*open
	lastSeq := int64(-1)
	for i, e := range events {
		fail := func(f string, a ...any) {
			t.Helper()
			t.Fatalf("event %d (%s): %s\n%s", i, e.name, fmt.Sprintf(f, a...), e.data)
		}
		if res.Completed {
			fail("after the final response event")
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(e.data)))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || dec.More() {
			fail("not a JSON object: %v", err)
		}
		if m["type"] != e.name {
			fail("type %v, event name %q", m["type"], e.name)
		}
		seqN, ok := m["sequence_number"].(json.Number)
		seq, err := seqN.Int64()
		if !ok || err != nil || seq <= lastSeq || (lastSeq >= 0 && seq != lastSeq+1) {
			fail("sequence_number %v after %d", m["sequence_number"], lastSeq)
		}
		lastSeq = seq
		var it *open
		if idx, ok := m["output_index"].(json.Number); ok {
			n, err := idx.Int64()
			if err != nil || n < 0 || int(n) > len(items) {
				fail("output_index %v with %d items", idx, len(items))
			}
			if e.name == "response.output_item.added" {
				if int(n) != len(items) {
					fail("item added at %d, want %d", n, len(items))
				}
			} else {
				if int(n) == len(items) || items[n].done {
					fail("output_index %d names no open item", n)
				}
				it = items[n]
				if id, ok := m["item_id"]; ok && id != it.id {
					fail("item_id %v, item is %s", id, it.id)
				}
			}
		}
		str := func(k string) string {
			s, ok := m[k].(string)
			if !ok {
				fail("%s is not a string", k)
			}
			return s
		}
		item := func() map[string]any {
			x, ok := m["item"].(map[string]any)
			if !ok {
				fail("no item")
			}
			return x
		}
		switch e.name {
		case "response.output_item.added":
			x := item()
			o := &open{id: fmt.Sprint(x["id"]), typ: fmt.Sprint(x["type"])}
			if o.typ == "function_call" {
				o.name, o.callID = fmt.Sprint(x["name"]), fmt.Sprint(x["call_id"])
			}
			items = append(items, o)
		case "response.output_text.delta":
			if it.typ != "message" || it.textDone {
				fail("text delta")
			}
			it.text += str("delta")
		case "response.output_text.done":
			if it.typ != "message" || str("text") != it.text {
				fail("text done %q, deltas %q", m["text"], it.text)
			}
			it.textDone = true
		case "response.content_part.added", "response.content_part.done":
			if it.typ != "message" {
				fail("content part of a %s", it.typ)
			}
			if p, _ := m["part"].(map[string]any); p == nil || (e.name == "response.content_part.done" && p["text"] != it.text) {
				fail("part")
			}
		case "response.function_call_arguments.delta":
			if it.typ != "function_call" || it.argsDone {
				fail("arguments delta")
			}
			it.args += str("delta")
		case "response.function_call_arguments.done":
			if it.typ != "function_call" || str("arguments") != it.args {
				fail("arguments done %q, deltas %q", m["arguments"], it.args)
			}
			it.argsDone = true
		case "response.output_item.done":
			x := item()
			if fmt.Sprint(x["id"]) != it.id || fmt.Sprint(x["type"]) != it.typ || x["status"] != "completed" {
				fail("done item is not the added one")
			}
			switch it.typ {
			case "message":
				content, _ := x["content"].([]any)
				text := ""
				for _, c := range content {
					text += fmt.Sprint(c.(map[string]any)["text"])
				}
				if text != it.text || !it.textDone {
					fail("message item text %q, deltas %q", text, it.text)
				}
				res.Texts = append(res.Texts, text)
			case "function_call":
				if x["arguments"] != it.args || !it.argsDone || x["name"] != it.name || x["call_id"] != it.callID {
					fail("call item %v, deltas %q", x, it.args)
				}
				res.Calls = append(res.Calls, Call{ID: it.callID, Name: it.name, Arguments: it.args})
			}
			it.done = true
			res.Items = append(res.Items, x)
		case "response.completed", "response.incomplete", "response.failed":
			for k, o := range items {
				if !o.done {
					fail("item %d not done", k)
				}
			}
			r, _ := m["response"].(map[string]any)
			out, _ := r["output"].([]any)
			got := make([]map[string]any, len(out))
			for k := range out {
				got[k], _ = out[k].(map[string]any)
			}
			if len(got) != len(res.Items) || (len(got) > 0 && !reflect.DeepEqual(got, res.Items)) {
				fail("final output %v\nstreamed items %v", got, res.Items)
			}
			res.Completed = true
		case "response.created", "response.in_progress", "error":
		default:
			if it == nil {
				fail("unknown event")
			}
		}
	}
	return res
}
