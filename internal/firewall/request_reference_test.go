package firewall

// The request readers as first written, with encoding/json: the reference
// the zero-copy readers (jsonwalk.go) are checked against.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// refTextOf is a message's content as text pieces: a JSON string, or an array
// of parts of which the text ones count. It skips everything else (images,
// audio) without copying it.
type refTextOf []string

func (t *refTextOf) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "" {
			*t = append(*t, s)
		}
	case '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		for _, p := range parts {
			switch p.Type {
			case "text", "input_text":
				if p.Text != "" {
					*t = append(*t, p.Text)
				}
			}
		}
	}
	return nil
}

type refChatRequest struct {
	Model    string           `json:"model"`
	Messages []refChatMessage `json:"messages"`
	Tools    []struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
		Custom *struct {
			Name string `json:"name"`
		} `json:"custom"`
	} `json:"tools"`
	Functions []struct { // the deprecated functions parameter
		Name string `json:"name"`
	} `json:"functions"`
}

type refChatMessage struct {
	Role       string         `json:"role"`
	Content    refTextOf      `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls"`
	ToolCallID string         `json:"tool_call_id"`
	Name       string         `json:"name"`
}

// refOpenAIRequest reads a chat completions request body into a Request:
// Model from the body, Endpoint "chat.completions"; the text of system,
// developer, user and tool messages; the declared tools (function and
// custom tools, and the deprecated functions); and for each tool message
// the assistant's call it answers.
func refOpenAIRequest(body []byte) (*Request, error) {
	var cr refChatRequest
	if err := json.Unmarshal(body, &cr); err != nil {
		return nil, fmt.Errorf("reading the chat completions request: %w", err)
	}
	r := &Request{Model: cr.Model, Endpoint: "chat.completions"}
	for _, t := range cr.Tools {
		switch {
		case t.Function != nil:
			r.Tools = append(r.Tools, t.Function.Name)
		case t.Custom != nil:
			r.Tools = append(r.Tools, t.Custom.Name)
		}
	}
	for _, f := range cr.Functions {
		r.Tools = append(r.Tools, f.Name)
	}
	r.Tools = slices.DeleteFunc(r.Tools, func(s string) bool { return s == "" }) // nameless tools are left out
	var calls map[string]Call
	for i := range cr.Messages {
		m := &cr.Messages[i]
		switch m.Role {
		case "assistant":
			for j := range m.ToolCalls {
				c := m.ToolCalls[j].call()
				if calls == nil {
					calls = make(map[string]Call)
				}
				calls[c.ID] = c
			}
		case "tool":
			c, ok := calls[m.ToolCallID]
			if !ok {
				c = Call{ID: m.ToolCallID}
			}
			r.ToolResults = append(r.ToolResults, c)
			r.Text = append(r.Text, m.Content...)
		case "function": // the deprecated function result
			r.ToolResults = append(r.ToolResults, Call{Name: m.Name})
			r.Text = append(r.Text, m.Content...)
		default: // system, developer, user
			r.Text = append(r.Text, m.Content...)
		}
	}
	return r, nil
}

type refMessagesRequest struct {
	Model    string    `json:"model"`
	System   refTextOf `json:"system"`
	Messages []struct {
		Role    string             `json:"role"`
		Content refAnthropicBlocks `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

// refAnthropicBlocks is a message's content: a string (one text block) or
// blocks.
type refAnthropicBlocks []refAnthropicBlock

type refAnthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   refTextOf       `json:"content"` // a tool_result's
	Source    refTextSource   `json:"source"`  // a document's
}

func (b *refAnthropicBlocks) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*b = refAnthropicBlocks{{Type: "text", Text: s}}
		return nil
	}
	var blocks []refAnthropicBlock
	if err := json.Unmarshal(data, &blocks); err != nil {
		return err
	}
	*b = blocks
	return nil
}

// refTextSource is a document block's source: its data when it is plain
// text; a base64 source (a PDF, an image) is skipped without copying.
type refTextSource string

func (s *refTextSource) UnmarshalJSON(b []byte) error {
	typ, ok, err := jsonobj.Get(b, "type")
	if err != nil || !ok || string(typ) != `"text"` {
		return nil
	}
	data, ok, _ := jsonobj.Get(b, "data")
	if !ok {
		return nil
	}
	var v string
	if json.Unmarshal(data, &v) == nil {
		*s = refTextSource(v)
	}
	return nil
}

// refAnthropicRequest reads a messages request body into a Request: Model
// from the body, Endpoint "messages"; the system text, the user messages'
// text and documents, and each tool_result's content as text; the declared
// tools; and for each tool_result the tool_use it answers.
func refAnthropicRequest(body []byte) (*Request, error) {
	var mr refMessagesRequest
	if err := json.Unmarshal(body, &mr); err != nil {
		return nil, fmt.Errorf("reading the messages request: %w", err)
	}
	r := &Request{Model: mr.Model, Endpoint: "messages", Text: mr.System}
	for _, t := range mr.Tools {
		if t.Name != "" {
			r.Tools = append(r.Tools, t.Name)
		}
	}
	var calls map[string]Call
	for i := range mr.Messages {
		m := &mr.Messages[i]
		for j := range m.Content {
			b := &m.Content[j]
			if m.Role == "assistant" {
				if b.Type == "tool_use" {
					if calls == nil {
						calls = make(map[string]Call)
					}
					calls[b.ID] = Call{ID: b.ID, Name: b.Name, Arguments: compactJSON(b.Input)}
				}
				continue
			}
			switch b.Type {
			case "text":
				if b.Text != "" {
					r.Text = append(r.Text, b.Text)
				}
			case "document":
				if b.Source != "" {
					r.Text = append(r.Text, string(b.Source))
				}
			case "tool_result":
				c, ok := calls[b.ToolUseID]
				if !ok {
					c = Call{ID: b.ToolUseID}
				}
				r.ToolResults = append(r.ToolResults, c)
				r.Text = append(r.Text, b.Content...)
			}
		}
	}
	return r, nil
}

// requestBodies are the bodies the readers are compared on (and the fuzz
// seeds).
var requestBodies = []string{
	`{"model":"gpt-4o","messages":[{"role":"system","content":"You are an agent."},{"role":"user","content":[{"type":"text","text":"a \"quoted\" \u00e9 text\n"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"list_dir","arguments":"{\"path\":\"/tmp\"}"}},{"id":"c2","type":"function","function":{"name":"lenient","arguments":{"a": [1, 2]}}},{"id":"c3","type":"custom","custom":{"name":"shell","input":"ls"}}]},{"role":"tool","tool_call_id":"c1","content":"a.txt"},{"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":"x"}]},{"role":"tool","tool_call_id":"zz","content":"?"},{"role":"function","name":"legacy","content":"r"},{"role":"developer","content":[{"type":"input_text","text":"dev"}]}],"tools":[{"type":"function","function":{"name":"list_dir","parameters":{"type":"object","properties":{"p":{"type":"string","description":"a \"path\""}}}}},{"type":"custom","custom":{"name":"shell"}},{"type":"function","function":null}],"functions":[{"name":"legacy"}]}`,
	` { "model" : "m" , "messages" : [ { "role" : "user" , "content" : "hi" } ] , "tools" : null } `,
	`{"model":"m","messages":[]}`,
	`{}`,
	`{"model":"claude","system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Clean up"},{"role":"assistant","content":[{"type":"text","text":"Sure."},{"type":"tool_use","id":"t1","name":"list_dir","input":{"path": "/tmp"}},{"type":"thinking","thinking":"hm","signature":"s"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a.txt"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},{"type":"tool_result","tool_use_id":"tx","content":"plain","is_error":true},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}},{"type":"document","source":{"type":"base64","data":"JVBER"}},{"type":"text","text":"thanks"}]}],"tools":[{"name":"list_dir","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}]}`,
	`{"model":"claude","system":"plain system","messages":[{"role":"assistant","content":"prefill"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t9"}]}]}`,
}

func TestRequestReadersMatchReference(t *testing.T) {
	for _, body := range requestBodies {
		compareReaders(t, []byte(body))
	}
	// A repeated member: the last one, as providers read it (the
	// reference, decoding into the first one's elements, mixed them).
	r, err := OpenAIRequest([]byte(`{"messages":[{"role":"user","content":"first"}],"messages":[{"role":"user","content":"second"}]}`))
	if err != nil || !reflect.DeepEqual(r.Text, []string{"second"}) {
		t.Errorf("repeated messages: %+v %v", r, err)
	}
}

// compareReaders checks that the zero-copy readers read body as the
// encoding/json reference does, wherever the reference reads it.
func compareReaders(t *testing.T, body []byte) {
	t.Helper()
	norm := func(r *Request) *Request {
		if r == nil {
			return nil
		}
		c := *r
		if len(c.Text) == 0 {
			c.Text = nil
		}
		if len(c.Tools) == 0 {
			c.Tools = nil
		}
		if len(c.ToolResults) == 0 {
			c.ToolResults = nil
		}
		return &c
	}
	for _, pair := range []struct {
		name      string
		got, want func([]byte) (*Request, error)
	}{
		{"openai", OpenAIRequest, refOpenAIRequest},
		{"anthropic", AnthropicRequest, refAnthropicRequest},
	} {
		want, err := pair.want(body)
		if err != nil {
			continue // the reference refuses it: only not panicking counts
		}
		got, err := pair.got(body)
		if err != nil {
			t.Fatalf("%s: %v on %s", pair.name, err, body)
		}
		if !reflect.DeepEqual(norm(got), norm(want)) {
			t.Fatalf("%s reads %s\n got %+v\nwant %+v", pair.name, body, got, want)
		}
	}
}

func FuzzRequestReaders(f *testing.F) {
	for _, b := range requestBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = OpenAIRequest(body)
		_, _ = AnthropicRequest(body)
		// encoding/json matches member names case-insensitively; the
		// providers, and the readers, do not.
		// A repeated member the reference mixes up (see above).
		if !json.Valid(body) || bytes.ContainsAny(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || hasRepeatedMember(body) {
			return
		}
		compareReaders(t, body)
	})
}

// hasRepeatedMember reports whether an object anywhere in body repeats a
// member name.
func hasRepeatedMember(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
				continue
			case '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if top != nil && top.obj && top.key {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}

// TestRequestReadersRandom runs FuzzRequestReaders's check on the bodies
// mutated from a fixed random source.
func TestRequestReadersRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = `{}[]",:0 null true "role":"tool" "content":"x" "type":"text" "text":"y" "tool_calls":[ "tool_result" \u00e9 \" `
	n := 20000
	if testing.Short() {
		n = 2000
	}
	valid := 0
	for range n {
		body := []byte(requestBodies[rng.IntN(len(requestBodies))])
		for k := rng.IntN(6); k >= 0; k-- {
			i := rng.IntN(len(body) + 1)
			switch rng.IntN(3) {
			case 0:
				if i < len(body) {
					body[i] = alphabet[rng.IntN(len(alphabet))]
				}
			case 1:
				body = slices.Delete(body, i, min(len(body), i+rng.IntN(12)))
			case 2:
				j := rng.IntN(len(alphabet))
				body = slices.Insert(body, i, []byte(alphabet[j:min(len(alphabet), j+rng.IntN(16))])...)
			}
		}
		_, _ = OpenAIRequest(body)
		_, _ = AnthropicRequest(body)
		if json.Valid(body) && !bytes.ContainsAny(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && !hasRepeatedMember(body) {
			valid++
			compareReaders(t, body)
		}
	}
	t.Logf("%d of %d mutated bodies were valid JSON and compared", valid, n)
}

// A message that repeats a member is read as providers read it: the last
// of each member counts.
func TestRequestReadersRepeatedMembers(t *testing.T) {
	for _, tt := range []struct {
		read    func([]byte) (*Request, error)
		body    string
		text    []string
		results []Call
	}{
		{OpenAIRequest, `{"messages":[{"role":"assistant","content":"hidden","role":"user"}]}`, []string{"hidden"}, nil},
		{OpenAIRequest, `{"messages":[{"role":"user","content":"a","content":"b"}]}`, []string{"b"}, nil},
		{OpenAIRequest, `{"messages":[{"role":"user","content":"a","role":"assistant"}]}`, nil, nil},
		{OpenAIRequest, `{"messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"x"}}],"tool_calls":[{"id":"c1","function":{"name":"y"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}]}`,
			[]string{"r"}, []Call{{ID: "c1", Name: "y"}}},
		{OpenAIRequest, `{"messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"x"}}]},{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"z"}}],"role":"user"},{"role":"tool","tool_call_id":"c1","content":"r"}]}`,
			[]string{"r"}, []Call{{ID: "c1", Name: "x"}}},
		{AnthropicRequest, `{"messages":[{"role":"assistant","content":"x","role":"user"}]}`, []string{"x"}, nil},
		{AnthropicRequest, `{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t"}],"content":"plain"}]}`, []string{"plain"}, nil},
		{AnthropicRequest, `{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}`, []string{"b"}, nil},
	} {
		r, err := tt.read([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if !slices.Equal(r.Text, tt.text) || !slices.Equal(r.ToolResults, tt.results) {
			t.Errorf("%s:\n got text %q results %+v\nwant text %q results %+v", tt.body, r.Text, r.ToolResults, tt.text, tt.results)
		}
	}
}

// The readers as a provider reads a body: decoded into maps (the last of a
// repeated member wins, names are case-sensitive), then walked.

func genericOpenAIRequest(body []byte) (*Request, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	r := &Request{Endpoint: "chat.completions"}
	r.Model, _ = m["model"].(string)
	for _, t := range asList(m["tools"]) {
		t, _ := t.(map[string]any)
		name := ""
		if fn, ok := t["function"].(map[string]any); ok {
			name, _ = fn["name"].(string)
		} else if c, ok := t["custom"].(map[string]any); ok {
			name, _ = c["name"].(string)
		}
		if name != "" {
			r.Tools = append(r.Tools, name)
		}
	}
	for _, f := range asList(m["functions"]) {
		f, _ := f.(map[string]any)
		if name, _ := f["name"].(string); name != "" {
			r.Tools = append(r.Tools, name)
		}
	}
	calls := map[string]Call{}
	for _, msg := range asList(m["messages"]) {
		msg, ok := msg.(map[string]any)
		if !ok {
			continue
		}
		role, _ := msg["role"].(string)
		switch role {
		case "assistant":
			for _, tc := range asList(msg["tool_calls"]) {
				tc, ok := tc.(map[string]any)
				if !ok {
					continue
				}
				var c Call
				c.ID, _ = tc["id"].(string)
				if fn, ok := tc["function"].(map[string]any); ok {
					c.Name, _ = fn["name"].(string)
					switch a := fn["arguments"].(type) {
					case string:
						c.Arguments = a
					case nil:
					default:
						b, _ := json.Marshal(a)
						c.Arguments = string(b)
					}
				}
				if cu, ok := tc["custom"].(map[string]any); ok && c.Name == "" {
					c.Name, _ = cu["name"].(string)
					c.Arguments, _ = cu["input"].(string)
				}
				calls[c.ID] = c
			}
			continue
		case "tool":
			id, _ := msg["tool_call_id"].(string)
			c, ok := calls[id]
			if !ok {
				c = Call{ID: id}
			}
			r.ToolResults = append(r.ToolResults, c)
		case "function":
			name, _ := msg["name"].(string)
			r.ToolResults = append(r.ToolResults, Call{Name: name})
		}
		r.Text = genericText(r.Text, msg["content"])
	}
	return r, nil
}

func genericAnthropicRequest(body []byte) (*Request, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	r := &Request{Endpoint: "messages"}
	r.Model, _ = m["model"].(string)
	r.Text = genericText(nil, m["system"])
	for _, t := range asList(m["tools"]) {
		t, _ := t.(map[string]any)
		if name, _ := t["name"].(string); name != "" {
			r.Tools = append(r.Tools, name)
		}
	}
	calls := map[string]Call{}
	for _, msg := range asList(m["messages"]) {
		msg, ok := msg.(map[string]any)
		if !ok {
			continue
		}
		role, _ := msg["role"].(string)
		if s, ok := msg["content"].(string); ok {
			if role != "assistant" && s != "" {
				r.Text = append(r.Text, s)
			}
			continue
		}
		for _, b := range asList(msg["content"]) {
			b, ok := b.(map[string]any)
			if !ok {
				continue
			}
			typ, _ := b["type"].(string)
			switch {
			case role == "assistant" && typ == "tool_use":
				id, _ := b["id"].(string)
				name, _ := b["name"].(string)
				args := ""
				if in, ok := b["input"]; ok && in != nil {
					enc, _ := json.Marshal(in)
					args = string(enc)
				}
				calls[id] = Call{ID: id, Name: name, Arguments: args}
			case role == "assistant":
			case typ == "text":
				if s, _ := b["text"].(string); s != "" {
					r.Text = append(r.Text, s)
				}
			case typ == "document":
				if src, ok := b["source"].(map[string]any); ok && src["type"] == "text" {
					if s, _ := src["data"].(string); s != "" {
						r.Text = append(r.Text, s)
					}
				}
			case typ == "tool_result":
				id, _ := b["tool_use_id"].(string)
				c, ok := calls[id]
				if !ok {
					c = Call{ID: id}
				}
				r.ToolResults = append(r.ToolResults, c)
				r.Text = genericText(r.Text, b["content"])
			}
		}
	}
	return r, nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func genericText(dst []string, v any) []string {
	switch c := v.(type) {
	case string:
		if c != "" {
			dst = append(dst, c)
		}
	case []any:
		for _, p := range c {
			p, _ := p.(map[string]any)
			if t, _ := p["type"].(string); t == "text" || t == "input_text" {
				if s, _ := p["text"].(string); s != "" {
					dst = append(dst, s)
				}
			}
		}
	}
	return dst
}

// TestRequestReadersAsProviders compares the readers with the generic ones
// on every body of the random test, repeated members and any case
// included: only where a body's types are what the formats say (a
// provider refuses the rest) do they have to agree, so it compares bodies
// the struct reference reads.
func TestRequestReadersAsProviders(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const alphabet = `{}[]",:0 null "role":"tool" "role":"assistant" "content":"x" "content":[ "type":"text" "text":"y" "tool_calls":[ "tool_result" "Role" "messages":[ `
	compared := 0
	for range 20000 {
		body := []byte(requestBodies[rng.IntN(len(requestBodies))])
		for k := rng.IntN(6); k >= 0; k-- {
			i := rng.IntN(len(body) + 1)
			switch rng.IntN(3) {
			case 0:
				if i < len(body) {
					body[i] = alphabet[rng.IntN(len(alphabet))]
				}
			case 1:
				body = slices.Delete(body, i, min(len(body), i+rng.IntN(12)))
			case 2:
				j := rng.IntN(len(alphabet))
				body = slices.Insert(body, i, []byte(alphabet[j:min(len(alphabet), j+rng.IntN(24))])...)
			}
		}
		if !json.Valid(body) || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			continue // the gateway refuses it
		}
		for _, pair := range []struct {
			name     string
			got, ref func([]byte) (*Request, error)
			typesOK  func([]byte) (*Request, error)
		}{
			{"openai", OpenAIRequest, genericOpenAIRequest, refOpenAIRequest},
			{"anthropic", AnthropicRequest, genericAnthropicRequest, refAnthropicRequest},
		} {
			if _, err := pair.typesOK(bytes.ToLower(body)); err != nil {
				continue // a type a provider refuses
			}
			want, err := pair.ref(body)
			if err != nil {
				continue
			}
			got, err := pair.got(body)
			if err != nil {
				t.Fatalf("%s: %v on %s", pair.name, err, body)
			}
			if !reflect.DeepEqual(normRequest(got), normRequest(want)) {
				t.Fatalf("%s reads %s\n got %+v\nwant %+v", pair.name, body, got, want)
			}
			compared++
		}
	}
	t.Logf("%d readings compared", compared)
}

func normRequest(r *Request) *Request {
	c := *r
	if len(c.Text) == 0 {
		c.Text = nil
	}
	if len(c.Tools) == 0 {
		c.Tools = nil
	}
	if len(c.ToolResults) == 0 {
		c.ToolResults = nil
	}
	return &c
}
