package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// minOutputTokens is the smallest max_output_tokens the Responses API
// accepts.
const minOutputTokens = 16

// ChatToResponses translates an OpenAI chat-completions request into a
// Responses request, for models served only by the Responses API. removed
// names what the target cannot take (sorted, unique; in the chat request's
// names); err reports a body that is not a chat request.
//
//   - messages become input items in order: system and developer messages
//     keep their role, user content parts become input_text, input_image
//     and input_file, an assistant message becomes an assistant message
//     and a function_call item per tool call, a tool message a
//     function_call_output; reasoning_content cannot go back (the
//     Responses API wants its own reasoning items) and is named;
//   - tools become function tools with strict false unless the request
//     set it (the Responses API defaults to strict, which refuses many
//     schemas chat accepts); tool_choice and parallel_tool_calls follow;
//   - max_completion_tokens (or max_tokens) becomes max_output_tokens, at
//     least 16 (the Responses API's minimum); response_format becomes
//     text.format, verbosity text.verbosity, reasoning_effort
//     reasoning.effort;
//   - store is false, whatever the chat request said: a chat client reads
//     no response back, and the Responses API would otherwise keep every
//     answer (store: true is named); stop, n, seed, logprobs, penalties,
//     audio and the like have no Responses form and are named.
func ChatToResponses(body []byte, o Options) (out []byte, removed []string, err error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, fmt.Errorf("decoding chat completions request: %w", err)
	}
	if req == nil {
		return nil, nil, errors.New("decoding chat completions request: not a JSON object")
	}
	var rm removedSet
	t := chatToResponses{rm: &rm}

	model := o.model(req["model"])
	input, err := t.input(req["messages"])
	if err != nil {
		return nil, nil, err
	}
	r := obj{{"model", model}, {"input", input}}

	maxTokens, ok := integer(req["max_completion_tokens"])
	if !ok {
		maxTokens, ok = integer(req["max_tokens"])
	}
	if ok && maxTokens > 0 {
		r.set("max_output_tokens", max(maxTokens, minOutputTokens))
	}
	for _, k := range []string{"temperature", "top_p"} {
		if v := req[k]; !isNull(v) {
			r.set(k, v)
		}
	}
	if tools, choice := t.tools(req["tools"], req["tool_choice"]); tools != nil {
		r.set("tools", tools)
		if choice != nil {
			r.set("tool_choice", choice)
		}
		if v := req["parallel_tool_calls"]; !isNull(v) {
			r.set("parallel_tool_calls", v)
		}
	}
	if effort, _ := stringValue(req["reasoning_effort"]); effort != "" {
		r.set("reasoning", obj{{"effort", effort}})
	} else if !isNull(req["reasoning_effort"]) {
		rm.add("reasoning_effort")
	}
	if text := t.text(req["response_format"], req["verbosity"]); text != nil {
		r.set("text", text)
	}
	for _, k := range []string{"user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier", "metadata"} {
		if v := req[k]; !isDefault(v) {
			r.set(k, v)
		}
	}
	r.set("store", false)
	if stream := req["stream"]; !isNull(stream) {
		r.set("stream", stream)
	}

	for k, v := range req {
		switch k {
		case "model", "messages", "max_completion_tokens", "max_tokens", "temperature", "top_p", "tools",
			"tool_choice", "parallel_tool_calls", "reasoning_effort", "response_format", "verbosity", "user",
			"safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier", "metadata", "stream":
			// translated above
		case "stream_options":
			// Responses streams always report usage.
		case "models":
			// The gateway's fallback list; not for any provider.
		case "n":
			if n, ok := integer(v); !ok || n > 1 {
				rm.add(k)
			}
		default: // store, stop, seed, logprobs, frequency_penalty, audio, modalities, ...
			if !isDefault(v) {
				rm.add(k)
			}
		}
	}

	out, err = marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding responses request: %w", err)
	}
	return out, rm.list(), nil
}

type chatToResponses struct {
	rm *removedSet
}

// input translates chat messages into Responses input items.
func (t *chatToResponses) input(raw json.RawMessage) ([]obj, error) {
	var in []chatMessage
	if err := json.Unmarshal(raw, &in); err != nil || len(in) == 0 {
		return nil, errors.New("translating chat request: messages must be a non-empty array of messages")
	}
	var out []obj
	for i := range in {
		m := &in[i]
		if m.Name != "" {
			t.rm.add("messages.name")
		}
		switch m.Role {
		case "system", "developer":
			parts, err := chatContent(m.Content)
			if err != nil {
				return nil, fmt.Errorf("translating chat request: messages[%d].content: %w", i, err)
			}
			var texts []string
			for _, p := range parts {
				if p.Type != "text" {
					t.rm.add("messages." + p.Type)
				} else if p.Text != "" {
					texts = append(texts, p.Text)
				}
			}
			if len(texts) > 0 {
				out = append(out, obj{{"role", m.Role}, {"content", strings.Join(texts, "\n\n")}})
			}
		case "user":
			parts, err := chatContent(m.Content)
			if err != nil {
				return nil, fmt.Errorf("translating chat request: messages[%d].content: %w", i, err)
			}
			if s, ok := stringValue(m.Content); ok {
				out = append(out, obj{{"role", "user"}, {"content", s}})
			} else if c := t.inputParts(parts); len(c) > 0 {
				out = append(out, obj{{"role", "user"}, {"content", c}})
			}
		case "assistant":
			items, err := t.assistant(m)
			if err != nil {
				return nil, fmt.Errorf("translating chat request: messages[%d]: %w", i, err)
			}
			out = append(out, items...)
		case "tool":
			output, err := t.toolOutput(m.Content)
			if err != nil {
				return nil, fmt.Errorf("translating chat request: messages[%d].content: %w", i, err)
			}
			out = append(out, obj{{"type", "function_call_output"}, {"call_id", m.ToolCallID}, {"output", output}})
		case "function":
			// Legacy function results carry no call id to pair them with.
			t.rm.add("messages.function")
		default:
			return nil, fmt.Errorf("translating chat request: messages[%d]: unsupported role %q", i, m.Role)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("translating chat request: no message with content")
	}
	return out, nil
}

// inputParts translates chat content parts into Responses input parts.
func (t *chatToResponses) inputParts(parts []chatPart) []obj {
	var out []obj
	for _, p := range parts {
		switch p.Type {
		case "text":
			out = append(out, obj{{"type", "input_text"}, {"text", p.Text}})
		case "image_url":
			u := p.imageURL()
			if u == "" {
				t.rm.add("messages.image_url")
				continue
			}
			var img struct {
				Detail string `json:"detail"`
			}
			_ = json.Unmarshal(p.ImageURL, &img)
			if img.Detail == "" {
				img.Detail = "auto"
			}
			out = append(out, obj{{"type", "input_image"}, {"image_url", u}, {"detail", img.Detail}})
		case "file":
			if p.File == nil || p.File.FileData == "" && p.File.FileID == "" {
				t.rm.add("messages.file")
				continue
			}
			f := obj{{"type", "input_file"}}
			if p.File.FileData != "" {
				f.set("file_data", p.File.FileData)
			} else {
				f.set("file_id", p.File.FileID)
			}
			if p.File.Filename != "" {
				f.set("filename", p.File.Filename)
			}
			out = append(out, f)
		default: // input_audio and whatever comes next
			t.rm.add("messages." + p.Type)
		}
	}
	return out
}

// assistant translates an assistant message into an assistant message
// item (when it has text) and a function_call item per tool call.
func (t *chatToResponses) assistant(m *chatMessage) ([]obj, error) {
	t.rm.assistantExtras(m)
	parts, err := chatContent(m.Content)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	var text strings.Builder
	for _, p := range parts {
		switch p.Type {
		case "text":
			text.WriteString(p.Text)
		case "refusal":
			text.WriteString(p.Refusal)
		default:
			t.rm.add("messages." + p.Type)
		}
	}
	if m.Refusal != "" && len(parts) == 0 {
		text.WriteString(m.Refusal)
	}
	var out []obj
	if text.Len() > 0 {
		out = append(out, obj{{"role", "assistant"}, {"content", text.String()}})
	}
	for _, c := range m.ToolCalls {
		if c.Type != "" && c.Type != "function" {
			t.rm.add("messages.tool_calls." + c.Type)
			continue
		}
		out = append(out, obj{
			{"type", "function_call"},
			{"call_id", c.ID},
			{"name", c.Function.Name},
			{"arguments", c.arguments()},
		})
	}
	return out, nil
}

// toolOutput translates a tool message's content: a string stays one, and
// parts become input parts.
func (t *chatToResponses) toolOutput(raw json.RawMessage) (any, error) {
	if s, ok := stringValue(raw); ok {
		return s, nil
	}
	parts, err := chatContent(raw)
	if err != nil {
		return nil, err
	}
	out := t.inputParts(parts)
	if len(out) == 0 {
		return "", nil
	}
	return out, nil
}

// tools translates tools and tool_choice; both nil when no function tool
// is left.
func (t *chatToResponses) tools(rawTools, rawChoice json.RawMessage) (tools []obj, choice any) {
	var in []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      json.RawMessage `json:"strict"`
		} `json:"function"`
	}
	if !isNull(rawTools) && json.Unmarshal(rawTools, &in) != nil {
		t.rm.add("tools")
	}
	for _, tl := range in {
		if tl.Type != "function" {
			t.rm.add("tools." + tl.Type)
			continue
		}
		d := obj{{"type", "function"}, {"name", tl.Function.Name}}
		if tl.Function.Description != "" {
			d.set("description", tl.Function.Description)
		}
		d.set("parameters", objectSchema(tl.Function.Parameters))
		if strings.TrimSpace(string(tl.Function.Strict)) == "true" {
			d.set("strict", true)
		} else {
			d.set("strict", false)
		}
		tools = append(tools, d)
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
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
			AllowedTools struct {
				Mode  string `json:"mode"`
				Tools []struct {
					Type     string `json:"type"`
					Function struct {
						Name string `json:"name"`
					} `json:"function"`
				} `json:"tools"`
			} `json:"allowed_tools"`
		}
		if json.Unmarshal(rawChoice, &c) != nil {
			t.rm.add("tool_choice")
		}
		switch c.Type {
		case "function":
			choice = obj{{"type", "function"}, {"name", c.Function.Name}}
		case "allowed_tools":
			allowed := []obj{}
			for _, a := range c.AllowedTools.Tools {
				allowed = append(allowed, obj{{"type", "function"}, {"name", a.Function.Name}})
			}
			mode := c.AllowedTools.Mode
			if mode == "" {
				mode = "auto"
			}
			choice = obj{{"type", "allowed_tools"}, {"mode", mode}, {"tools", allowed}}
		default:
			t.rm.add("tool_choice")
		}
	}
	if len(tools) == 0 {
		if s, _ := choice.(string); choice != nil && s != "auto" && s != "none" {
			t.rm.add("tool_choice")
		}
		return nil, nil
	}
	return tools, choice
}

// text translates response_format and verbosity into the text member.
func (t *chatToResponses) text(rawFormat, rawVerbosity json.RawMessage) obj {
	text := obj{}
	if !isNull(rawFormat) {
		var rf struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Schema      json.RawMessage `json:"schema"`
				Strict      json.RawMessage `json:"strict"`
			} `json:"json_schema"`
		}
		if json.Unmarshal(rawFormat, &rf) != nil {
			t.rm.add("response_format")
		}
		switch rf.Type {
		case "text":
		case "json_object":
			text.set("format", obj{{"type", "json_object"}})
		case "json_schema":
			js := rf.JSONSchema
			if isNull(js.Schema) {
				t.rm.add("response_format")
				break
			}
			name := js.Name
			if name == "" {
				name = "response"
			}
			f := obj{{"type", "json_schema"}, {"name", name}}
			if js.Description != "" {
				f.set("description", js.Description)
			}
			f.set("schema", js.Schema)
			if !isNull(js.Strict) {
				f.set("strict", js.Strict)
			}
			text.set("format", f)
		default:
			t.rm.add("response_format")
		}
	}
	if s, ok := stringValue(rawVerbosity); ok && s != "" {
		text.set("verbosity", s)
	} else if !isNull(rawVerbosity) && !ok {
		t.rm.add("verbosity")
	}
	if len(text) == 0 {
		return nil
	}
	return text
}
