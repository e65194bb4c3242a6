package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// ChatToMessages translates an OpenAI chat-completions request into an
// Anthropic messages request. removed names what the target cannot take
// (sorted, unique); err reports a body that is not a chat request.
//
//   - system and developer messages, wherever they are, become the
//     top-level system (one text block each, in order);
//   - tool messages become tool_result blocks of a user message; adjacent
//     messages of the same role merge, tool results first, as Anthropic
//     requires alternating roles;
//   - a final assistant message is an assistant prefill (trailing white
//     space trimmed, as Anthropic requires); the ContinueChat instruction
//     after a final assistant message is turned back into that prefill;
//   - max_completion_tokens (or max_tokens, or o.DefaultMaxTokens) becomes
//     max_tokens; temperature is capped at 1 (Anthropic's maximum); when
//     both temperature and top_p are set, top_p is dropped (current Claude
//     models take only one);
//   - reasoning_effort becomes thinking with a budget (see reasoning.go)
//     of at most half of max_tokens, or 1024 (max_tokens counts thinking,
//     as OpenAI's limit counts reasoning; only without any limit,
//     o.DefaultMaxTokens included, is the budget added on top), unless
//     Anthropic would refuse
//     it: a forced tool, an assistant prefill, a tool-use turn in progress
//     (its assistant message would need the thinking blocks OpenAI clients
//     never have) or max tokens of 1024 or less. With thinking on,
//     temperature, top_p and top_k are dropped (Anthropic refuses them
//     with thinking).
//   - response_format json_object/json_schema is dropped: Anthropic's own
//     structured outputs work only on some models and would turn a soft
//     wish into a 400 elsewhere.
func ChatToMessages(body []byte, o Options) (out []byte, removed []string, err error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, fmt.Errorf("decoding chat completions request: %w", err)
	}
	if req == nil {
		return nil, nil, errors.New("decoding chat completions request: not a JSON object")
	}
	var rm removedSet
	t := chatToMessages{req: req, rm: &rm}

	model := o.model(req["model"])
	system, msgs, err := t.messages()
	if err != nil {
		return nil, nil, err
	}

	maxTokens, hasMax := integer(req["max_completion_tokens"])
	if !hasMax {
		maxTokens, hasMax = integer(req["max_tokens"])
	}
	if !hasMax || maxTokens <= 0 {
		hasMax = false
		maxTokens = o.DefaultMaxTokens
		if maxTokens <= 0 {
			maxTokens = defaultMaxTokens
		}
	}

	tools, toolChoice := t.tools()

	// Thinking, and what it rules out.
	var thinking obj
	effort, _ := stringValue(req["reasoning_effort"])
	if budget := thinkingBudget(effort); budget > 0 {
		last := &msgs[len(msgs)-1]
		forced := false
		if toolChoice != nil {
			typ, _ := toolChoice.get("type")
			forced = typ == "any" || typ == "tool"
		}
		switch {
		case forced, last.role == "assistant", last.hasToolResult():
			rm.add("reasoning_effort")
		case !hasMax && o.DefaultMaxTokens <= 0:
			// No limit anywhere: room for the budget on top of the
			// fallback for the answer.
			maxTokens += budget
			thinking = obj{{"type", "enabled"}, {"budget_tokens", budget}}
		case maxTokens > minThinkingBudget:
			// Keep half the limit for the answer, as far as the minimum
			// budget allows.
			thinking = obj{{"type", "enabled"}, {"budget_tokens", min(budget, max(maxTokens/2, minThinkingBudget))}}
		default:
			rm.add("reasoning_effort")
		}
	} else if !isDefault(req["reasoning_effort"]) && effort != "none" {
		rm.add("reasoning_effort")
	}

	a := obj{{"model", model}, {"max_tokens", maxTokens}}
	if len(system) > 0 {
		if len(system) == 1 && len(system[0]) == 2 {
			a.set("system", system[0][1].val) // a lone text block without cache_control: the plain string
		} else {
			a.set("system", system)
		}
	}
	encoded := make([]obj, 0, len(msgs))
	for _, m := range msgs {
		encoded = append(encoded, m.encode())
	}
	a.set("messages", encoded)
	if tools != nil {
		a.set("tools", tools)
		if toolChoice != nil {
			a.set("tool_choice", toolChoice)
		}
	}
	if thinking != nil {
		a.set("thinking", thinking)
	}
	if stops := t.stopSequences(); len(stops) > 0 {
		a.set("stop_sequences", stops)
	}

	// Sampling.
	temp, topP, topK := req["temperature"], req["top_p"], req["top_k"]
	dropSampling := o.DropSampling || thinking != nil
	if !isNull(temp) {
		if f, ok := number(temp); !ok || dropSampling {
			rm.add("temperature")
		} else if f > 1 {
			a.set("temperature", json.RawMessage("1"))
		} else {
			a.set("temperature", temp)
		}
	}
	if !isNull(topP) {
		if _, hasTemp := a.get("temperature"); dropSampling || hasTemp {
			rm.add("top_p")
		} else {
			a.set("top_p", topP)
		}
	}
	if !isNull(topK) {
		if dropSampling {
			rm.add("top_k")
		} else {
			a.set("top_k", topK)
		}
	}

	user, _ := stringValue(req["user"])
	if user == "" {
		user, _ = stringValue(req["safety_identifier"])
	}
	if user != "" {
		a.set("metadata", obj{{"user_id", user}})
	}
	if stream := req["stream"]; !isNull(stream) {
		a.set("stream", stream)
	}

	for k, v := range req {
		switch k {
		case "model", "messages", "max_completion_tokens", "max_tokens", "temperature", "top_p", "top_k",
			"stop", "user", "safety_identifier", "stream", "tools", "tool_choice", "parallel_tool_calls",
			"reasoning_effort":
			// translated above
		case "stream_options":
			// Anthropic streams always report usage.
		case "models":
			// The gateway's fallback list; not for any provider.
		case "n":
			if n, ok := integer(v); !ok || n > 1 {
				rm.add(k)
			}
		case "response_format":
			var rf struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(v, &rf) != nil || rf.Type != "text" && !isDefault(v) {
				rm.add(k)
			}
		default:
			if !isDefault(v) {
				rm.add(k)
			}
		}
	}

	out, err = marshal(a)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding messages request: %w", err)
	}
	return out, rm.list(), nil
}

type chatToMessages struct {
	req map[string]json.RawMessage
	rm  *removedSet
}

// chatMessage is an OpenAI chat message as sent in a request.
type chatMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	Name             string          `json:"name"`
	ToolCalls        []chatToolCall  `json:"tool_calls"`
	ToolCallID       string          `json:"tool_call_id"`
	Refusal          string          `json:"refusal"`
	ReasoningContent json.RawMessage `json:"reasoning_content"`
	Reasoning        json.RawMessage `json:"reasoning"`
	FunctionCall     json.RawMessage `json:"function_call"`
	Audio            json.RawMessage `json:"audio"`
}

type chatToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"` // a JSON string; some clients send the object
	} `json:"function"`
}

// arguments returns the call's arguments as the JSON text OpenAI sends.
func (c *chatToolCall) arguments() string {
	if s, ok := stringValue(c.Function.Arguments); ok {
		return s
	}
	if isNull(c.Function.Arguments) {
		return ""
	}
	return string(c.Function.Arguments)
}

// anthropicMessage is a message under construction.
type anthropicMessage struct {
	role   string
	blocks []obj
}

func (m *anthropicMessage) hasToolResult() bool {
	for _, b := range m.blocks {
		if t, _ := b.get("type"); t == "tool_result" {
			return true
		}
	}
	return false
}

// encode writes the message, with a lone plain text block as a string.
func (m *anthropicMessage) encode() obj {
	var content any = m.blocks
	if len(m.blocks) == 1 && len(m.blocks[0]) == 2 {
		if t, _ := m.blocks[0].get("type"); t == "text" {
			content = m.blocks[0][1].val
		}
	}
	return obj{{"role", m.role}, {"content", content}}
}

// messages translates the message list into the system blocks and the
// alternating messages.
func (t *chatToMessages) messages() (system []obj, msgs []anthropicMessage, err error) {
	var in []chatMessage
	if err := json.Unmarshal(t.req["messages"], &in); err != nil || len(in) == 0 {
		return nil, nil, errors.New("translating chat request: messages must be a non-empty array of messages")
	}
	in = stripContinueInstruction(in)
	for i := range in {
		m := &in[i]
		if m.Name != "" {
			t.rm.add("messages.name")
		}
		var role string
		var blocks []obj
		switch m.Role {
		case "system", "developer":
			parts, err := chatContent(m.Content)
			if err != nil {
				return nil, nil, fmt.Errorf("translating chat request: messages[%d].content: %w", i, err)
			}
			for _, p := range parts {
				if p.Type != "text" {
					t.rm.add("messages." + p.Type)
					continue
				}
				if p.Text != "" {
					system = append(system, t.withCache(textBlock(p.Text), p.CacheControl))
				}
			}
			continue
		case "user":
			role = "user"
			parts, err := chatContent(m.Content)
			if err != nil {
				return nil, nil, fmt.Errorf("translating chat request: messages[%d].content: %w", i, err)
			}
			blocks = t.userBlocks(parts)
		case "assistant":
			role = "assistant"
			if b, err := t.assistantBlocks(m); err != nil {
				return nil, nil, fmt.Errorf("translating chat request: messages[%d]: %w", i, err)
			} else {
				blocks = b
			}
		case "tool":
			role = "user"
			blocks, err = t.toolResult(m)
			if err != nil {
				return nil, nil, fmt.Errorf("translating chat request: messages[%d].content: %w", i, err)
			}
		case "function":
			// Legacy function results carry no call id to pair them with.
			t.rm.add("messages.function")
			continue
		default:
			return nil, nil, fmt.Errorf("translating chat request: messages[%d]: unsupported role %q", i, m.Role)
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(msgs); n > 0 && msgs[n-1].role == role {
			msgs[n-1].blocks = append(msgs[n-1].blocks, blocks...)
			continue
		}
		msgs = append(msgs, anthropicMessage{role: role, blocks: blocks})
	}
	// Tool results must open their user message.
	for i := range msgs {
		if msgs[i].role == "user" {
			slices.SortStableFunc(msgs[i].blocks, func(a, b obj) int {
				ta, _ := a.get("type")
				tb, _ := b.get("type")
				return boolInt(tb == "tool_result") - boolInt(ta == "tool_result")
			})
		}
	}
	// A final assistant message (a prefill) must not end in white space.
	if n := len(msgs); n > 0 && msgs[n-1].role == "assistant" {
		m := &msgs[n-1]
		if k := len(m.blocks) - 1; k >= 0 {
			if typ, _ := m.blocks[k].get("type"); typ == "text" {
				txt, _ := m.blocks[k].get("text")
				if s := strings.TrimRight(txt.(string), " \t\r\n"); s == "" {
					m.blocks = m.blocks[:k]
				} else {
					m.blocks[k].set("text", s)
				}
			}
		}
		if len(m.blocks) == 0 {
			msgs = msgs[:n-1]
		}
	}
	if len(msgs) == 0 {
		return nil, nil, errors.New("translating chat request: no user or assistant message with content")
	}
	return system, msgs, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// withCache keeps a client's cache breakpoint on a block.
func (t *chatToMessages) withCache(b obj, cc json.RawMessage) obj {
	if !isNull(cc) {
		b.set("cache_control", cc)
	}
	return b
}

func (t *chatToMessages) userBlocks(parts []chatPart) []obj {
	var blocks []obj
	for _, p := range parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, t.withCache(textBlock(p.Text), p.CacheControl))
			}
		case "image_url":
			if u := p.imageURL(); u != "" {
				blocks = append(blocks, t.withCache(imageBlock(u), p.CacheControl))
			}
		case "file":
			if p.File != nil {
				if b, ok := fileBlock(p.File.FileData, p.File.Filename); ok {
					blocks = append(blocks, t.withCache(b, p.CacheControl))
					continue
				}
			}
			t.rm.add("messages.file")
		default: // input_audio and whatever comes next
			t.rm.add("messages." + p.Type)
		}
	}
	return blocks
}

func (t *chatToMessages) assistantBlocks(m *chatMessage) ([]obj, error) {
	t.rm.assistantExtras(m)
	parts, err := chatContent(m.Content)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	var blocks []obj
	for _, p := range parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, t.withCache(textBlock(p.Text), p.CacheControl))
			}
		case "refusal":
			if p.Refusal != "" {
				blocks = append(blocks, textBlock(p.Refusal))
			}
		default:
			t.rm.add("messages." + p.Type)
		}
	}
	if m.Refusal != "" && len(parts) == 0 {
		blocks = append(blocks, textBlock(m.Refusal))
	}
	for _, c := range m.ToolCalls {
		if c.Type != "" && c.Type != "function" {
			t.rm.add("messages.tool_calls." + c.Type)
			continue
		}
		blocks = append(blocks, obj{
			{"type", "tool_use"},
			{"id", toolID(c.ID)},
			{"name", c.Function.Name},
			{"input", toolInput(c.arguments())},
		})
	}
	return blocks, nil
}

func (t *chatToMessages) toolResult(m *chatMessage) ([]obj, error) {
	b := obj{{"type", "tool_result"}, {"tool_use_id", toolID(m.ToolCallID)}}
	if s, ok := stringValue(m.Content); ok {
		if s != "" {
			b.set("content", s)
		}
		return []obj{b}, nil
	}
	parts, err := chatContent(m.Content)
	if err != nil {
		return nil, err
	}
	content := t.userBlocks(parts)
	if len(content) > 0 {
		b.set("content", content)
	}
	return []obj{b}, nil
}

// tools translates tools, tool_choice and parallel_tool_calls. Both
// results are nil when no tool is left: Anthropic refuses a tool_choice
// without tools.
func (t *chatToMessages) tools() (tools []obj, choice obj) {
	var in []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      bool            `json:"strict"`
		} `json:"function"`
	}
	if raw := t.req["tools"]; !isNull(raw) && json.Unmarshal(raw, &in) != nil {
		t.rm.add("tools")
	}

	// tool_choice: "none" | "auto" | "required" | {"type":"function",...}
	// | {"type":"allowed_tools",...}.
	rawChoice := t.req["tool_choice"]
	var choiceStr string
	var choiceObj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
		AllowedTools struct {
			Mode  string `json:"mode"`
			Tools []struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tools"`
		} `json:"allowed_tools"`
	}
	var allowed []string
	if s, ok := stringValue(rawChoice); ok {
		choiceStr = s
	} else if !isNull(rawChoice) {
		if json.Unmarshal(rawChoice, &choiceObj) != nil {
			t.rm.add("tool_choice")
		}
		switch choiceObj.Type {
		case "function":
			choiceStr = "tool"
		case "allowed_tools":
			choiceStr = choiceObj.AllowedTools.Mode
			for _, a := range choiceObj.AllowedTools.Tools {
				allowed = append(allowed, a.Function.Name)
			}
			if allowed == nil {
				allowed = []string{}
			}
		default:
			t.rm.add("tool_choice")
		}
	}

	for _, tl := range in {
		if tl.Type != "function" {
			t.rm.add("tools." + tl.Type)
			continue
		}
		if allowed != nil && !slices.Contains(allowed, tl.Function.Name) {
			continue
		}
		schema := objectSchema(tl.Function.Parameters)
		if tl.Function.Strict {
			t.rm.add("tools.strict")
		}
		d := obj{{"name", tl.Function.Name}}
		if tl.Function.Description != "" {
			d.set("description", tl.Function.Description)
		}
		d.set("input_schema", schema)
		tools = append(tools, d)
	}

	parallel := t.req["parallel_tool_calls"]
	if len(tools) == 0 {
		if !isNull(rawChoice) {
			t.rm.add("tool_choice")
		}
		if !isNull(parallel) {
			t.rm.add("parallel_tool_calls")
		}
		return nil, nil
	}
	switch choiceStr {
	case "auto":
		choice = obj{{"type", "auto"}}
	case "none":
		choice = obj{{"type", "none"}}
	case "required":
		choice = obj{{"type", "any"}}
	case "tool":
		choice = obj{{"type", "tool"}, {"name", choiceObj.Function.Name}}
	case "":
	default:
		t.rm.add("tool_choice")
	}
	if strings.TrimSpace(string(parallel)) == "false" {
		switch {
		case choice == nil:
			choice = obj{{"type", "auto"}, {"disable_parallel_tool_use", true}}
		case choiceStr != "none":
			choice.set("disable_parallel_tool_use", true)
		}
	}
	return tools, choice
}

// objectSchema returns a tool's parameter schema as Anthropic wants it:
// an object schema with its "type" (OpenAI lets both be omitted).
func objectSchema(schema json.RawMessage) json.RawMessage {
	if isNull(schema) {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	if _, ok, err := jsonobj.Get(schema, "type"); err == nil && !ok {
		if s, err := jsonobj.Set(schema, "type", json.RawMessage(`"object"`)); err == nil {
			return s
		}
	}
	return schema
}

// stopSequences translates stop (a string or an array). Anthropic refuses
// sequences of white space only, so those are dropped.
func (t *chatToMessages) stopSequences() []string {
	raw := t.req["stop"]
	if isNull(raw) {
		return nil
	}
	var stops []string
	if s, ok := stringValue(raw); ok {
		stops = []string{s}
	} else if json.Unmarshal(raw, &stops) != nil {
		t.rm.add("stop")
		return nil
	}
	kept := stops[:0]
	for _, s := range stops {
		if strings.TrimSpace(s) == "" {
			t.rm.add("stop")
			continue
		}
		kept = append(kept, s)
	}
	return kept
}
