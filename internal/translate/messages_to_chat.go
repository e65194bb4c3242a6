package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxOpenAIStops is how many stop sequences OpenAI accepts.
const maxOpenAIStops = 4

// MessagesToChat translates an Anthropic messages request into an OpenAI
// chat-completions request. removed names what the target cannot take
// (sorted, unique); err reports a body that is not a messages request.
//
//   - system becomes a leading system message (text blocks joined by a
//     blank line);
//   - tool_result blocks become tool messages, placed before the rest of
//     their user message; images inside tool results (OpenAI tool messages
//     take text only) move to the user message that follows them;
//   - thinking blocks in the history are dropped (OpenAI takes no
//     reasoning back); cache_control is dropped (OpenAI caches
//     automatically);
//   - a final assistant message (a prefill, which OpenAI chat has no
//     notion of) becomes that assistant message followed by
//     ContinueInstruction, as ContinueChat does;
//   - max_tokens becomes max_completion_tokens (max_tokens with
//     o.LegacyMaxTokens); stop_sequences becomes stop (OpenAI takes 4);
//     metadata.user_id becomes user; top_k is dropped;
//   - thinking (enabled, with a budget) and output_config.effort become
//     reasoning_effort (see reasoning.go); output_config.format (or the
//     beta output_format) json_schema becomes response_format json_schema,
//     not strict (OpenAI's strict mode refuses many valid schemas).
func MessagesToChat(body []byte, o Options) (out []byte, removed []string, err error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, fmt.Errorf("decoding messages request: %w", err)
	}
	if req == nil {
		return nil, nil, errors.New("decoding messages request: not a JSON object")
	}
	var rm removedSet
	t := messagesToChat{rm: &rm}

	model := o.model(req["model"])
	msgs, err := t.messages(req["system"], req["messages"])
	if err != nil {
		return nil, nil, err
	}

	c := obj{{"model", model}, {"messages", msgs}}
	if n, ok := integer(req["max_tokens"]); ok && n > 0 {
		c.set(o.chatOutputLimit(), n)
	}
	if v := req["temperature"]; !isNull(v) {
		c.set("temperature", v)
	}
	if v := req["top_p"]; !isNull(v) {
		c.set("top_p", v)
	}
	if raw := req["stop_sequences"]; !isNull(raw) {
		var stops []string
		if json.Unmarshal(raw, &stops) != nil {
			rm.add("stop_sequences")
		} else if len(stops) > 0 {
			if len(stops) > maxOpenAIStops {
				stops = stops[:maxOpenAIStops]
				rm.add("stop_sequences")
			}
			c.set("stop", stops)
		}
	}
	if tools, choice, parallel := t.tools(req["tools"], req["tool_choice"]); tools != nil {
		c.set("tools", tools)
		if choice != nil {
			c.set("tool_choice", choice)
		}
		if parallel != nil {
			c.set("parallel_tool_calls", *parallel)
		}
	}

	effort, explicit := t.thinking(req["thinking"])
	var cfg struct {
		Effort string          `json:"effort"`
		Format json.RawMessage `json:"format"`
	}
	if raw := req["output_config"]; !isNull(raw) {
		var members map[string]json.RawMessage
		if json.Unmarshal(raw, &cfg) != nil || json.Unmarshal(raw, &members) != nil {
			rm.add("output_config")
		}
		for k, v := range members {
			if k != "effort" && k != "format" && !isDefault(v) {
				rm.add("output_config." + k)
			}
		}
		if cfg.Effort != "" && effort == "" && !explicit {
			if effort = effortLevel(cfg.Effort); effort == "" {
				rm.add("output_config.effort")
			}
		}
	}
	if effort != "" {
		c.set("reasoning_effort", effort)
	}
	format := cfg.Format
	if isNull(format) {
		format = req["output_format"]
	}
	if !isNull(format) {
		var f struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		}
		if json.Unmarshal(format, &f) != nil || f.Type != "json_schema" || isNull(f.Schema) {
			rm.add("output_config.format")
		} else {
			c.set("response_format", obj{{"type", "json_schema"}, {"json_schema", obj{
				{"name", "response"},
				{"schema", f.Schema},
			}}})
		}
	}

	if raw := req["metadata"]; !isNull(raw) {
		var md map[string]json.RawMessage
		if json.Unmarshal(raw, &md) != nil {
			rm.add("metadata")
		}
		for k, v := range md {
			if s, ok := stringValue(v); k == "user_id" && ok {
				if s != "" {
					c.set("user", s)
				}
			} else if !isDefault(v) {
				rm.add("metadata." + k)
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
		case "model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences",
			"tools", "tool_choice", "thinking", "output_config", "output_format", "metadata", "stream":
			// translated above
		case "models":
			// The gateway's fallback list; not for any provider.
		case "service_tier":
			if s, _ := stringValue(v); s != "auto" && !isDefault(v) {
				rm.add(k)
			}
		default: // top_k, container, mcp_servers, context_management, ...
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

type messagesToChat struct {
	rm *removedSet
}

func (t *messagesToChat) noteCache(b *block) {
	if !isNull(b.CacheControl) {
		t.rm.add("cache_control")
	}
}

// messages translates system and messages into OpenAI messages.
func (t *messagesToChat) messages(rawSystem, rawMessages json.RawMessage) ([]obj, error) {
	var in []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(rawMessages, &in); err != nil || len(in) == 0 {
		return nil, errors.New("translating messages request: messages must be a non-empty array of messages")
	}
	var out []obj

	system, err := anthropicContent(rawSystem)
	if err != nil {
		return nil, fmt.Errorf("translating messages request: system: %w", err)
	}
	var sys []string
	for i := range system {
		b := &system[i]
		t.noteCache(b)
		if b.Type != "text" {
			t.rm.add("system." + b.Type)
		} else if b.Text != "" {
			sys = append(sys, b.Text)
		}
	}
	if len(sys) > 0 {
		out = append(out, obj{{"role", "system"}, {"content", strings.Join(sys, "\n\n")}})
	}

	for i, m := range in {
		blocks, err := anthropicContent(m.Content)
		if err != nil {
			return nil, fmt.Errorf("translating messages request: messages[%d].content: %w", i, err)
		}
		switch m.Role {
		case "user":
			out = append(out, t.user(blocks)...)
		case "assistant":
			if a := t.assistant(blocks); a != nil {
				out = append(out, a)
			}
		default:
			return nil, fmt.Errorf("translating messages request: messages[%d]: unsupported role %q", i, m.Role)
		}
	}
	if n := len(in); in[n-1].Role == "assistant" && len(out) > 0 {
		if r, _ := out[len(out)-1].get("role"); r == "assistant" {
			// OpenAI continues no prefill: ask for the rest instead.
			out = append(out, obj{{"role", "user"}, {"content", ContinueInstruction}})
		}
	}
	return out, nil
}

// user translates a user message: its tool results first, as tool
// messages, then the rest as one user message.
func (t *messagesToChat) user(blocks []block) []obj {
	var out, parts []obj
	var moved []obj // images from tool results
	plain := true   // parts are all text: send a string
	for i := range blocks {
		b := &blocks[i]
		t.noteCache(b)
		switch b.Type {
		case "text":
			if b.Text != "" {
				parts = append(parts, textPart(b.Text))
			}
		case "image":
			if p, ok := imagePart(b.Source); ok {
				parts = append(parts, p)
				plain = false
			} else {
				t.rm.add("messages.image")
			}
		case "document":
			if p, ok := documentPart(b); ok {
				parts = append(parts, p)
				if typ, _ := p.get("type"); typ != "text" {
					plain = false
				}
			} else {
				t.rm.add("messages.document")
			}
		case "tool_result":
			text, images := t.toolResultContent(b.Content)
			moved = append(moved, images...)
			out = append(out, obj{{"role", "tool"}, {"tool_call_id", b.ToolUseID}, {"content", text}})
		default: // search_result, container_upload, ...
			t.rm.add("messages." + b.Type)
		}
	}
	if len(moved) > 0 {
		parts = append(moved, parts...)
		plain = false
	}
	switch {
	case len(parts) == 0:
	case plain && len(parts) == 1:
		out = append(out, obj{{"role", "user"}, {"content", parts[0][1].val}})
	case plain:
		var sb strings.Builder
		for i, p := range parts {
			if i > 0 {
				sb.WriteString("\n\n")
			}
			sb.WriteString(p[1].val.(string))
		}
		out = append(out, obj{{"role", "user"}, {"content", sb.String()}})
	default:
		out = append(out, obj{{"role", "user"}, {"content", parts}})
	}
	return out
}

// toolResultContent flattens tool_result content into the text of a tool
// message and the images OpenAI only takes in a user message.
func (t *messagesToChat) toolResultContent(raw json.RawMessage) (string, []obj) {
	blocks, err := anthropicContent(raw)
	if err != nil {
		t.rm.add("messages.tool_result.content")
		return "", nil
	}
	var texts []string
	var images []obj
	for i := range blocks {
		b := &blocks[i]
		t.noteCache(b)
		switch b.Type {
		case "text":
			texts = append(texts, b.Text)
		case "image":
			if p, ok := imagePart(b.Source); ok {
				images = append(images, p)
			} else {
				t.rm.add("messages.image")
			}
		case "document":
			if p, ok := documentPart(b); ok {
				if typ, _ := p.get("type"); typ == "text" {
					texts = append(texts, p[1].val.(string))
					continue
				}
			}
			t.rm.add("messages.document")
		default:
			t.rm.add("messages." + b.Type)
		}
	}
	return strings.Join(texts, "\n"), images
}

// assistant translates an assistant message; nil when nothing of it is
// left (a message of thinking only).
func (t *messagesToChat) assistant(blocks []block) obj {
	var text strings.Builder
	var calls []obj
	for i := range blocks {
		b := &blocks[i]
		t.noteCache(b)
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			calls = append(calls, obj{
				{"id", b.ID},
				{"type", "function"},
				{"function", obj{{"name", b.Name}, {"arguments", toolArguments(b.Input)}}},
			})
		default: // thinking, redacted_thinking, server_tool_use, ...
			t.rm.add("messages." + b.Type)
		}
	}
	if text.Len() == 0 && len(calls) == 0 {
		return nil
	}
	m := obj{{"role", "assistant"}}
	if text.Len() > 0 {
		m.set("content", text.String())
	} else {
		m.set("content", nil)
	}
	if len(calls) > 0 {
		m.set("tool_calls", calls)
	}
	return m
}

// tools translates tools and tool_choice; parallel is set when
// disable_parallel_tool_use asks for one call at a time. Server tools
// (web search, code execution, ...) have no OpenAI chat equivalent.
func (t *messagesToChat) tools(rawTools, rawChoice json.RawMessage) (tools []obj, choice any, parallel *bool) {
	var in []struct {
		Type         string          `json:"type"`
		Name         string          `json:"name"`
		Description  string          `json:"description"`
		InputSchema  json.RawMessage `json:"input_schema"`
		Strict       bool            `json:"strict"`
		CacheControl json.RawMessage `json:"cache_control"`
	}
	if !isNull(rawTools) && json.Unmarshal(rawTools, &in) != nil {
		t.rm.add("tools")
	}
	for _, tl := range in {
		if tl.Type != "" && tl.Type != "custom" {
			t.rm.add("tools." + tl.Type)
			continue
		}
		if !isNull(tl.CacheControl) {
			t.rm.add("cache_control")
		}
		if tl.Strict {
			t.rm.add("tools.strict")
		}
		fn := obj{{"name", tl.Name}}
		if tl.Description != "" {
			fn.set("description", tl.Description)
		}
		schema := tl.InputSchema
		if isNull(schema) {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		fn.set("parameters", schema)
		tools = append(tools, obj{{"type", "function"}, {"function", fn}})
	}

	var c struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
	}
	if !isNull(rawChoice) && json.Unmarshal(rawChoice, &c) != nil {
		t.rm.add("tool_choice")
	}
	if len(tools) == 0 {
		if !isNull(rawChoice) {
			t.rm.add("tool_choice")
		}
		return nil, nil, nil
	}
	switch c.Type {
	case "":
	case "auto":
		choice = "auto"
	case "any":
		choice = "required"
	case "none":
		choice = "none"
	case "tool":
		choice = obj{{"type", "function"}, {"function", obj{{"name", c.Name}}}}
	default:
		t.rm.add("tool_choice")
	}
	if c.DisableParallelToolUse {
		f := false
		parallel = &f
	}
	return tools, choice, parallel
}

// thinking maps Anthropic's thinking to a reasoning effort. explicit is
// true when the request decided about thinking (enabled or disabled), so
// output_config.effort does not override it.
func (t *messagesToChat) thinking(raw json.RawMessage) (effort string, explicit bool) {
	if isNull(raw) {
		return "", false
	}
	var th struct {
		Type         string `json:"type"`
		BudgetTokens int64  `json:"budget_tokens"`
	}
	if json.Unmarshal(raw, &th) != nil {
		t.rm.add("thinking")
		return "", false
	}
	switch th.Type {
	case "enabled":
		return reasoningEffort(th.BudgetTokens), true
	case "disabled":
		return "", true
	}
	// "adaptive" leaves the depth to the model: so does omitting
	// reasoning_effort, unless output_config.effort names one.
	return "", false
}
