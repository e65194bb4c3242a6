package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The OpenAI Responses API, translated to and from Chat Completions (and,
// through chat, Anthropic Messages), so a Responses client reaches
// chat-only and Anthropic providers and chat and messages clients reach
// Responses-only models.
//
// A translated request is stateless. What the Responses API keeps on
// OpenAI's side (stored responses, conversations, background runs, prompt
// templates, items referenced by id) cannot be carried to another
// provider, and a request that needs it gets a StateError, never a silent
// drop. store defaults to true in the Responses API, but an absent store
// is not taken as a request for state: nearly every client leaves it out
// and never reads a response back. The translated answer says "store":
// false, and a later request naming its id gets the StateError. Only an
// explicit "store": true is refused.

// StateError reports a Responses request member that needs state kept by
// the provider that made a response (OpenAI), which a translated request
// cannot carry. The gateway answers 400 with Explain's text.
type StateError struct {
	// Param is the member: previous_response_id, store, background,
	// conversation, prompt or input.item_reference.
	Param string
}

// needs says what a StateError's member needs the provider to keep, and
// what the client can send instead.
func (e *StateError) needs() (what, instead string) {
	switch e.Param {
	case "previous_response_id":
		return "responses", "send the whole conversation in input"
	case "store":
		return "responses", "send store: false (or leave it out) to use it without stored responses"
	case "background":
		return "background responses", "send background: false"
	case "conversation":
		return "conversations", "send the conversation's items in input"
	case "prompt":
		return "prompt templates", "send the prompt's text as instructions"
	case "input.item_reference":
		return "responses", "send the referenced item itself in input"
	}
	return "state", "leave " + e.Param + " out"
}

func (e *StateError) Error() string {
	what, _ := e.needs()
	return fmt.Sprintf("%s needs a provider that keeps %s (OpenAI); a translated request cannot carry it", e.Param, what)
}

// Explain is the message of the 400 the gateway answers: what the member
// needs, which model and provider could not give it, and what to send
// instead.
func (e *StateError) Explain(model, provider string) string {
	what, instead := e.needs()
	return fmt.Sprintf("%s needs a provider that keeps %s (OpenAI); model %s is served by %s, which does not: %s",
		e.Param, what, model, provider, instead)
}

// ResponsesToChat translates an OpenAI Responses request into a chat
// completions request. removed names what the target cannot take (sorted,
// unique; names are the Responses request's: "tools.web_search",
// "input.reasoning", "text.format"); err is a *StateError for a request
// that needs state kept by OpenAI, or reports a body that is not a
// Responses request.
//
//   - instructions becomes a leading system message; input (a string, or
//     items) becomes messages: system and developer messages become system
//     messages, function_call items join the assistant message before them
//     as tool_calls, function_call_output items become tool messages (their
//     images and files move to a user message after them, as OpenAI tool
//     messages take text only); reasoning items are dropped (chat takes no
//     reasoning back) and named "input.reasoning";
//   - function tools become chat tools (strict only when the request sets
//     it); built-in tools (web_search, file_search, code_interpreter,
//     computer use, MCP, ...) cannot be carried and are named
//     "tools.<type>"; tool_choice and parallel_tool_calls follow;
//   - max_output_tokens becomes max_completion_tokens (max_tokens with
//     o.LegacyMaxTokens); text.format becomes response_format,
//     text.verbosity verbosity, reasoning.effort reasoning_effort
//     (reasoning.summary is honoured by the answer's translation: reasoning
//     text the target returns comes back as a summary);
//   - user, safety_identifier, prompt_cache_key, prompt_cache_retention and
//     service_tier are kept; metadata is dropped and named (chat takes it
//     only with store); include is named (nothing it asks for can be
//     produced), as are top_logprobs, max_tool_calls and truncation "auto".
func ResponsesToChat(body []byte, o Options) (out []byte, removed []string, err error) {
	req, err := decodeResponsesRequest(body)
	if err != nil {
		return nil, nil, err
	}
	var rm removedSet
	t := responsesToChat{rm: &rm}

	model := o.model(req["model"])
	msgs, err := t.messages(req["instructions"], req["input"])
	if err != nil {
		return nil, nil, err
	}
	c := obj{{"model", model}, {"messages", msgs}}

	if n, ok := integer(req["max_output_tokens"]); ok && n > 0 {
		c.set(o.chatOutputLimit(), n)
	} else if !isNull(req["max_output_tokens"]) {
		rm.add("max_output_tokens")
	}
	for _, k := range []string{"temperature", "top_p"} {
		if v := req[k]; !isNull(v) {
			if _, ok := number(v); ok {
				c.set(k, v)
			} else {
				rm.add(k)
			}
		}
	}
	if tools, choice, parallel := t.tools(req["tools"], req["tool_choice"], req["parallel_tool_calls"]); tools != nil {
		c.set("tools", tools)
		if choice != nil {
			c.set("tool_choice", choice)
		}
		if parallel != nil {
			c.set("parallel_tool_calls", parallel)
		}
	}
	if effort := t.reasoning(req["reasoning"]); effort != "" {
		c.set("reasoning_effort", effort)
	}
	format, verbosity := t.text(req["text"])
	if format != nil {
		c.set("response_format", format)
	}
	if verbosity != "" {
		c.set("verbosity", verbosity)
	}
	for _, k := range []string{"user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier"} {
		if v := req[k]; !isDefault(v) {
			if _, ok := stringValue(v); ok {
				c.set(k, v)
			} else {
				rm.add(k)
			}
		}
	}
	if stream := req["stream"]; !isNull(stream) {
		c.set("stream", stream)
		if o.IncludeUsage && strings.TrimSpace(string(stream)) == "true" {
			c.set("stream_options", obj{{"include_usage", true}})
		}
	}

	for k, v := range req {
		switch k {
		case "model", "instructions", "input", "max_output_tokens", "temperature", "top_p", "tools",
			"tool_choice", "parallel_tool_calls", "reasoning", "text", "user", "safety_identifier",
			"prompt_cache_key", "prompt_cache_retention", "service_tier", "stream":
			// translated above
		case "store", "background", "previous_response_id", "conversation", "prompt":
			// checked by decodeResponsesRequest: absent, false or null
		case "stream_options":
			// include_obfuscation only: translated streams are not
			// obfuscated.
		case "models":
			// The gateway's fallback list; not for any provider.
		case "truncation":
			if s, _ := stringValue(v); s != "disabled" && !isDefault(v) {
				rm.add(k)
			}
		default: // metadata, include, top_logprobs, max_tool_calls, context_management, ...
			if !isDefault(v) {
				rm.add(k)
			}
		}
	}

	out, err = marshal(c)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding chat completions request: %w", err)
	}
	return out, rm.list(), nil
}

// decodeResponsesRequest decodes a Responses request and refuses one that
// needs state kept by OpenAI.
func decodeResponsesRequest(body []byte) (map[string]json.RawMessage, error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("decoding responses request: %w", err)
	}
	if req == nil {
		return nil, errors.New("decoding responses request: not a JSON object")
	}
	// In the order a client is most likely to understand first.
	for _, k := range []string{"previous_response_id", "conversation", "prompt", "background", "store"} {
		v := req[k]
		if isNull(v) || string(v) == `""` {
			continue
		}
		if k == "background" || k == "store" {
			if strings.TrimSpace(string(v)) == "false" {
				continue
			}
		}
		return nil, &StateError{Param: k}
	}
	return req, nil
}

type responsesToChat struct {
	rm *removedSet
}

// responsesItem is an input item of a Responses request; only the members
// of its type are set.
type responsesItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"` // a string or parts
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"` // a JSON string
	Output    json.RawMessage `json:"output"`    // a string or parts
}

// responsesPart is a content part of a Responses input item.
type responsesPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"`
	Detail   string `json:"detail"`
	FileID   string `json:"file_id"`
	FileData string `json:"file_data"`
	FileURL  string `json:"file_url"`
	Filename string `json:"filename"`
}

// responsesItems decodes input: a string is one user message.
func responsesItems(raw json.RawMessage) ([]responsesItem, error) {
	if s, ok := stringValue(raw); ok {
		c, _ := marshal(s)
		return []responsesItem{{Type: "message", Role: "user", Content: c}}, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		return nil, err
	}
	items := make([]responsesItem, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &items[i]); err != nil {
			// An item type this package does not translate may use the
			// member names differently; only its type matters then.
			var it struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(r, &it) != nil || it.Type == "" || it.Type == "message" ||
				it.Type == "function_call" || it.Type == "function_call_output" {
				return nil, fmt.Errorf("input[%d]: %w", i, err)
			}
			items[i] = responsesItem{Type: it.Type}
		}
		if items[i].Type == "" && items[i].Role != "" {
			items[i].Type = "message"
		}
	}
	return items, nil
}

// responsesParts decodes content or output: a string is one text part.
func responsesParts(raw json.RawMessage) ([]responsesPart, error) {
	if isNull(raw) {
		return nil, nil
	}
	if s, ok := stringValue(raw); ok {
		return []responsesPart{{Type: "input_text", Text: s}}, nil
	}
	var parts []responsesPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// messages translates instructions and input into chat messages.
func (t *responsesToChat) messages(instructions, input json.RawMessage) ([]obj, error) {
	var out []obj
	if s, ok := stringValue(instructions); ok {
		if s != "" {
			out = append(out, obj{{"role", "system"}, {"content", s}})
		}
	} else if !isNull(instructions) {
		t.rm.add("instructions")
	}
	if isNull(input) {
		return nil, errors.New("translating responses request: input is required (a string or an array of items)")
	}
	items, err := responsesItems(input)
	if err != nil {
		return nil, fmt.Errorf("translating responses request: %w", err)
	}

	var assistant obj // the assistant message being built: function calls join it
	var calls []obj
	var moved []obj // images and files from function call outputs
	flushAssistant := func() {
		if assistant == nil {
			return
		}
		if len(calls) > 0 {
			assistant.set("tool_calls", calls)
		}
		out = append(out, assistant)
		assistant, calls = nil, nil
	}
	flushMoved := func() {
		if len(moved) > 0 {
			out = append(out, obj{{"role", "user"}, {"content", moved}})
			moved = nil
		}
	}

	for i := range items {
		it := &items[i]
		if it.Type != "function_call" {
			flushAssistant()
		}
		if it.Type != "function_call_output" && it.Type != "function_call" {
			flushMoved()
		}
		switch it.Type {
		case "message":
			parts, err := responsesParts(it.Content)
			if err != nil {
				return nil, fmt.Errorf("translating responses request: input[%d].content: %w", i, err)
			}
			switch it.Role {
			case "system", "developer":
				if m := t.systemMessage(parts); m != nil {
					out = append(out, m)
				}
			case "user":
				if c := t.userContent(parts); c != nil {
					out = append(out, obj{{"role", "user"}, {"content", c}})
				}
			case "assistant":
				var text strings.Builder
				for _, p := range parts {
					switch p.Type {
					case "output_text", "input_text", "text":
						text.WriteString(p.Text)
					case "refusal":
						text.WriteString(p.Refusal)
					default:
						t.rm.add("input." + p.Type)
					}
				}
				assistant = obj{{"role", "assistant"}, {"content", text.String()}}
			default:
				return nil, fmt.Errorf("translating responses request: input[%d]: unsupported role %q", i, it.Role)
			}
		case "function_call":
			if assistant == nil {
				assistant = obj{{"role", "assistant"}, {"content", nil}}
			}
			args, ok := stringValue(it.Arguments)
			if !ok && !isNull(it.Arguments) {
				args = string(it.Arguments)
			}
			calls = append(calls, obj{
				{"id", it.CallID},
				{"type", "function"},
				{"function", obj{{"name", it.Name}, {"arguments", args}}},
			})
		case "function_call_output":
			text, media, err := t.toolOutput(it.Output)
			if err != nil {
				return nil, fmt.Errorf("translating responses request: input[%d].output: %w", i, err)
			}
			out = append(out, obj{{"role", "tool"}, {"tool_call_id", it.CallID}, {"content", text}})
			moved = append(moved, media...)
		case "item_reference":
			return nil, &StateError{Param: "input.item_reference"}
		default: // reasoning, web_search_call, computer_call, mcp_call, custom_tool_call, ...
			t.rm.add("input." + it.Type)
		}
	}
	flushAssistant()
	flushMoved()
	if len(out) == 0 {
		return nil, errors.New("translating responses request: no input message with content")
	}
	return out, nil
}

// systemMessage joins the text of a system or developer message.
func (t *responsesToChat) systemMessage(parts []responsesPart) obj {
	var texts []string
	for _, p := range parts {
		if p.Type != "input_text" && p.Type != "text" {
			t.rm.add("input." + p.Type)
			continue
		}
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	return obj{{"role", "system"}, {"content", strings.Join(texts, "\n\n")}}
}

// userContent translates user content: a string when it is one text part,
// else chat parts; nil when nothing is left.
func (t *responsesToChat) userContent(parts []responsesPart) any {
	out := t.chatParts(parts)
	switch {
	case len(out) == 0:
		return nil
	case len(out) == 1:
		if typ, _ := out[0].get("type"); typ == "text" {
			s, _ := out[0].get("text")
			return s
		}
	}
	return out
}

// chatParts translates input parts into chat content parts.
func (t *responsesToChat) chatParts(parts []responsesPart) []obj {
	var out []obj
	for _, p := range parts {
		switch p.Type {
		case "input_text", "text", "output_text":
			if p.Text != "" {
				out = append(out, textPart(p.Text))
			}
		case "input_image":
			if p.ImageURL == "" {
				t.rm.add("input.input_image.file_id") // Files API ids reach no chat server
				continue
			}
			img := obj{{"url", p.ImageURL}}
			if p.Detail != "" && p.Detail != "auto" {
				img.set("detail", p.Detail)
			}
			out = append(out, obj{{"type", "image_url"}, {"image_url", img}})
		case "input_file":
			f := obj{}
			switch {
			case p.FileData != "":
				data := p.FileData
				if !strings.HasPrefix(data, "data:") {
					// The Responses API also takes bare base64; chat
					// wants a data URL.
					data = "data:" + fileMediaType(p.Filename) + ";base64," + data
				}
				f.set("file_data", data)
			case p.FileID != "":
				f.set("file_id", p.FileID)
			default: // file_url: chat fetches no URL
				t.rm.add("input.input_file.file_url")
				continue
			}
			if p.Filename != "" {
				f.set("filename", p.Filename)
			}
			out = append(out, obj{{"type", "file"}, {"file", f}})
		default: // input_audio and whatever comes next
			t.rm.add("input." + p.Type)
		}
	}
	return out
}

// fileMediaType guesses the media type of a file sent as bare base64 from
// its name: PDF unless it looks like text.
func fileMediaType(name string) string {
	n := strings.ToLower(name)
	for _, ext := range []string{".txt", ".md", ".csv", ".json", ".html", ".xml"} {
		if strings.HasSuffix(n, ext) {
			return "text/plain"
		}
	}
	return "application/pdf"
}

// toolOutput translates a function call's output into the text of a tool
// message and the images and files that must follow it in a user message.
func (t *responsesToChat) toolOutput(raw json.RawMessage) (string, []obj, error) {
	if s, ok := stringValue(raw); ok {
		return s, nil, nil
	}
	parts, err := responsesParts(raw)
	if err != nil {
		return "", nil, err
	}
	var texts []string
	var media []obj
	for _, p := range t.chatParts(parts) {
		if typ, _ := p.get("type"); typ == "text" {
			s, _ := p.get("text")
			texts = append(texts, s.(string))
			continue
		}
		media = append(media, p)
	}
	return strings.Join(texts, "\n"), media, nil
}

// tools translates tools, tool_choice and parallel_tool_calls; all nil
// when no function tool is left (OpenAI refuses a tool_choice without
// tools).
func (t *responsesToChat) tools(rawTools, rawChoice, rawParallel json.RawMessage) (tools []obj, choice any, parallel json.RawMessage) {
	var in []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      json.RawMessage `json:"strict"`
	}
	if !isNull(rawTools) && json.Unmarshal(rawTools, &in) != nil {
		t.rm.add("tools")
	}
	for _, tl := range in {
		if tl.Type != "function" {
			t.rm.add("tools." + tl.Type)
			continue
		}
		fn := obj{{"name", tl.Name}}
		if tl.Description != "" {
			fn.set("description", tl.Description)
		}
		if !isNull(tl.Parameters) {
			fn.set("parameters", tl.Parameters)
		}
		if !isNull(tl.Strict) {
			fn.set("strict", tl.Strict)
		}
		tools = append(tools, obj{{"type", "function"}, {"function", fn}})
	}

	if s, ok := stringValue(rawChoice); ok {
		switch s {
		case "auto", "none", "required":
			choice = s
		default:
			t.rm.add("tool_choice")
		}
	} else if !isNull(rawChoice) {
		var c struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Mode  string `json:"mode"`
			Tools []struct {
				Type string `json:"type"`
				Name string `json:"name"`
			} `json:"tools"`
		}
		if json.Unmarshal(rawChoice, &c) != nil {
			t.rm.add("tool_choice")
		}
		switch c.Type {
		case "function":
			choice = obj{{"type", "function"}, {"function", obj{{"name", c.Name}}}}
		case "allowed_tools":
			var allowed []obj
			for _, a := range c.Tools {
				if a.Type != "function" {
					t.rm.add("tool_choice")
					continue
				}
				allowed = append(allowed, obj{{"type", "function"}, {"function", obj{{"name", a.Name}}}})
			}
			mode := c.Mode
			if mode == "" {
				mode = "auto"
			}
			choice = obj{{"type", "allowed_tools"}, {"allowed_tools", obj{{"mode", mode}, {"tools", allowed}}}}
		default: // hosted tools, mcp, custom
			t.rm.add("tool_choice")
		}
	}
	if len(tools) == 0 {
		if s, _ := choice.(string); choice != nil && s != "auto" && s != "none" {
			t.rm.add("tool_choice")
		}
		return nil, nil, nil
	}
	if !isNull(rawParallel) {
		if s := strings.TrimSpace(string(rawParallel)); s == "true" || s == "false" {
			parallel = json.RawMessage(s)
		} else {
			t.rm.add("parallel_tool_calls")
		}
	}
	return tools, choice, parallel
}

// reasoning returns reasoning.effort. summary needs nothing in the
// request: reasoning text the target returns becomes a summary.
func (t *responsesToChat) reasoning(raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		t.rm.add("reasoning")
		return ""
	}
	var effort string
	for k, v := range members {
		switch k {
		case "effort":
			if s, ok := stringValue(v); ok {
				effort = s
			} else if !isNull(v) {
				t.rm.add("reasoning.effort")
			}
		case "summary", "generate_summary":
		default:
			if !isDefault(v) {
				t.rm.add("reasoning." + k)
			}
		}
	}
	return effort
}

// text translates text.format into a response_format and returns
// text.verbosity.
func (t *responsesToChat) text(raw json.RawMessage) (format obj, verbosity string) {
	if isNull(raw) {
		return nil, ""
	}
	var tc struct {
		Format    json.RawMessage `json:"format"`
		Verbosity json.RawMessage `json:"verbosity"`
	}
	if json.Unmarshal(raw, &tc) != nil {
		t.rm.add("text")
		return nil, ""
	}
	if s, ok := stringValue(tc.Verbosity); ok {
		verbosity = s
	} else if !isNull(tc.Verbosity) {
		t.rm.add("text.verbosity")
	}
	if isNull(tc.Format) {
		return nil, verbosity
	}
	var f struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      json.RawMessage `json:"strict"`
	}
	if json.Unmarshal(tc.Format, &f) != nil {
		t.rm.add("text.format")
		return nil, verbosity
	}
	switch f.Type {
	case "text":
	case "json_object":
		format = obj{{"type", "json_object"}}
	case "json_schema":
		if isNull(f.Schema) {
			t.rm.add("text.format")
			break
		}
		name := f.Name
		if name == "" {
			name = "response"
		}
		js := obj{{"name", name}}
		if f.Description != "" {
			js.set("description", f.Description)
		}
		js.set("schema", f.Schema)
		if !isNull(f.Strict) {
			js.set("strict", f.Strict)
		}
		format = obj{{"type", "json_schema"}, {"json_schema", js}}
	default:
		t.rm.add("text.format")
	}
	return format, verbosity
}
