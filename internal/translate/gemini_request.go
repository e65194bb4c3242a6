package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Gemini requests (generateContent) to and from OpenAI chat completions.
// Gemini ⇄ Anthropic goes through chat: GeminiToChat then ChatToMessages,
// MessagesToChat then ChatToGemini (see package provider).
//
// Parts of contents are named "contents.<part>" in removed
// ("contents.executableCode"), tools "tools.<kind>" ("tools.googleSearch"),
// members of generationConfig "generationConfig.<member>".

// geminiContent is a Content of a Gemini request or response.
type geminiContent struct {
	Role  string       `json:"role"`
	Parts []geminiPart `json:"parts"`
}

// geminiPart is one Part. Exactly one of its data members is set; the
// others are kept raw only to be named when dropped.
type geminiPart struct {
	Text             *string         `json:"text"`
	Thought          bool            `json:"thought"`
	ThoughtSignature string          `json:"thoughtSignature"`
	InlineData       *geminiBlob     `json:"inlineData"`
	FileData         *geminiFileData `json:"fileData"`
	FunctionCall     *geminiCall     `json:"functionCall"`
	FunctionResponse *struct {
		ID       string          `json:"id"`
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	} `json:"functionResponse"`
	ExecutableCode      json.RawMessage `json:"executableCode"`
	CodeExecutionResult json.RawMessage `json:"codeExecutionResult"`
}

type geminiBlob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type geminiFileData struct {
	MimeType string `json:"mimeType"`
	FileURI  string `json:"fileUri"`
}

type geminiCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// GeminiToChat translates a Gemini generateContent request into an OpenAI
// chat-completions request; of o it uses Model, Stream, IncludeUsage and
// LegacyMaxTokens.
//
//   - systemInstruction becomes a system message; contents become user and
//     assistant messages (role "model"); thought parts are left out;
//   - functionCall parts become tool_calls and functionResponse parts tool
//     messages. Gemini's calls have no id before its newer models: the id
//     is synthesized from the call's position ("call_<content>_<part>") and
//     a response without id takes the id of the earliest unanswered call of
//     the same name, so a request always translates the same way;
//   - inlineData images become image_url data URLs, PDFs file parts;
//     fileData with an http(s) image becomes an image_url;
//   - tools[].functionDeclarations become function tools (Gemini's
//     upper-case schema types lower-cased, parametersJsonSchema as it is);
//     toolConfig.functionCallingConfig becomes tool_choice (ANY with
//     allowedFunctionNames keeps only those tools);
//   - generationConfig: maxOutputTokens, temperature, topP, stopSequences,
//     seed, presence and frequency penalties, responseMimeType with
//     responseSchema or responseJsonSchema (response_format) and
//     thinkingConfig (reasoning_effort, see reasoning.go) are carried;
//     candidateCount above 1 is refused: only a Gemini provider answers
//     with several candidates.
func GeminiToChat(body []byte, o Options) (out []byte, removed []string, err error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, fmt.Errorf("decoding generateContent request: %w", err)
	}
	if req == nil {
		return nil, nil, errors.New("decoding generateContent request: not a JSON object")
	}
	var rm removedSet
	model := strings.TrimPrefix(o.model(req["model"]), "models/")
	c := obj{{"model", model}}

	var msgs []obj
	if sys := req["systemInstruction"]; !isNull(sys) {
		var content geminiContent
		if s, ok := stringValue(sys); ok {
			msgs = append(msgs, obj{{"role", "system"}, {"content", s}})
		} else if err := json.Unmarshal(sys, &content); err != nil {
			return nil, nil, fmt.Errorf("decoding generateContent request: systemInstruction: %w", err)
		} else if text := geminiText(content.Parts, &rm); text != "" {
			msgs = append(msgs, obj{{"role", "system"}, {"content", text}})
		}
	}
	var contents []geminiContent
	if err := json.Unmarshal(req["contents"], &contents); err != nil || len(contents) == 0 {
		return nil, nil, errors.New("decoding generateContent request: 'contents' must be a non-empty array of contents")
	}
	msgs = append(msgs, geminiMessages(contents, &rm)...)
	c.set("messages", msgs)

	tools, choice := geminiTools(req["tools"], req["toolConfig"], &rm)
	if len(tools) > 0 {
		c.set("tools", tools)
		if choice != nil {
			c.set("tool_choice", choice)
		}
	}
	if err := geminiGenerationConfig(req["generationConfig"], o, c.set, &rm); err != nil {
		return nil, nil, err
	}
	if o.Stream {
		c.set("stream", true)
		if o.IncludeUsage {
			c.set("stream_options", obj{{"include_usage", true}})
		}
	}
	for k, v := range req {
		switch k {
		case "model", "contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "models":
		default: // safetySettings, cachedContent, labels, …
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

// geminiText joins the text parts of a content (system instructions),
// naming any other part in rm.
func geminiText(parts []geminiPart, rm *removedSet) string {
	var b strings.Builder
	for i := range parts {
		if parts[i].Text != nil {
			b.WriteString(*parts[i].Text)
		} else {
			rm.add("systemInstruction.parts")
		}
	}
	return b.String()
}

// geminiMessages translates contents into chat messages.
func geminiMessages(contents []geminiContent, rm *removedSet) []obj {
	var msgs []obj
	// pending are the ids of calls not answered yet, by function name.
	pending := map[string][]string{}
	for ci := range contents {
		ct := &contents[ci]
		if ct.Role == "model" {
			var text strings.Builder
			var calls []obj
			for pi := range ct.Parts {
				p := &ct.Parts[pi]
				switch {
				case p.Thought:
				case p.Text != nil:
					text.WriteString(*p.Text)
				case p.FunctionCall != nil:
					id := p.FunctionCall.ID
					if id == "" {
						id = "call_" + strconv.Itoa(ci) + "_" + strconv.Itoa(pi)
					}
					pending[p.FunctionCall.Name] = append(pending[p.FunctionCall.Name], id)
					calls = append(calls, obj{{"id", id}, {"type", "function"},
						{"function", obj{{"name", p.FunctionCall.Name}, {"arguments", toolArguments(p.FunctionCall.Args)}}}})
				default:
					rm.add("contents." + partKind(p))
				}
			}
			m := obj{{"role", "assistant"}}
			if text.Len() > 0 || len(calls) == 0 {
				m.set("content", text.String())
			} else {
				m.set("content", nil)
			}
			if len(calls) > 0 {
				m.set("tool_calls", calls)
			}
			msgs = append(msgs, m)
			continue
		}
		// user (or the older "function" role): tool results first, as
		// they answer the assistant message before them.
		var parts []obj
		for pi := range ct.Parts {
			p := &ct.Parts[pi]
			switch {
			case p.FunctionResponse != nil:
				fr := p.FunctionResponse
				id := fr.ID
				if q := pending[fr.Name]; id == "" && len(q) > 0 {
					id, pending[fr.Name] = q[0], q[1:]
				} else if id == "" {
					id = "call_" + fr.Name
				} else if i := indexOf(q, id); i >= 0 {
					pending[fr.Name] = append(q[:i:i], q[i+1:]...)
				}
				msgs = append(msgs, obj{{"role", "tool"}, {"tool_call_id", id}, {"content", functionResult(fr.Response)}})
			case p.Thought:
			case p.Text != nil:
				parts = append(parts, textPart(*p.Text))
			case p.InlineData != nil:
				if part := blobPart(p.InlineData); part != nil {
					parts = append(parts, part)
				} else {
					rm.add("contents.inlineData")
				}
			case p.FileData != nil:
				u := p.FileData.FileURI
				if strings.HasPrefix(p.FileData.MimeType, "image/") && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
					parts = append(parts, obj{{"type", "image_url"}, {"image_url", obj{{"url", u}}}})
				} else {
					rm.add("contents.fileData")
				}
			default:
				rm.add("contents." + partKind(p))
			}
		}
		switch {
		case len(parts) == 0:
		case len(parts) == 1 && parts[0][0].val == "text":
			msgs = append(msgs, obj{{"role", "user"}, {"content", parts[0][1].val}})
		default:
			msgs = append(msgs, obj{{"role", "user"}, {"content", parts}})
		}
	}
	return msgs
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// partKind names a part the translation leaves out.
func partKind(p *geminiPart) string {
	switch {
	case p.InlineData != nil:
		return "inlineData"
	case p.FileData != nil:
		return "fileData"
	case p.FunctionCall != nil:
		return "functionCall"
	case p.FunctionResponse != nil:
		return "functionResponse"
	case len(p.ExecutableCode) > 0:
		return "executableCode"
	case len(p.CodeExecutionResult) > 0:
		return "codeExecutionResult"
	}
	return "parts"
}

// functionResult is a functionResponse's response as a tool message's
// content: the text of {"result": "<text>"} (how Google's SDKs wrap a
// plain return value, and how ChatToGemini wraps text), else the JSON.
func functionResult(resp json.RawMessage) string {
	var v map[string]json.RawMessage
	if json.Unmarshal(resp, &v) == nil && len(v) == 1 {
		for _, k := range [...]string{"result", "output"} {
			if s, ok := stringValue(v[k]); ok {
				return s
			}
		}
	}
	if isNull(resp) {
		return ""
	}
	return string(compact(resp))
}

// blobPart turns inline data into a chat content part: images as data
// URLs, PDFs as files, wav and mp3 as input audio; nil for anything else.
func blobPart(b *geminiBlob) obj {
	url := "data:" + b.MimeType + ";base64," + b.Data
	switch {
	case strings.HasPrefix(b.MimeType, "image/"):
		return obj{{"type", "image_url"}, {"image_url", obj{{"url", url}}}}
	case b.MimeType == "application/pdf":
		return obj{{"type", "file"}, {"file", obj{{"filename", "document.pdf"}, {"file_data", url}}}}
	case b.MimeType == "audio/wav" || b.MimeType == "audio/x-wav":
		return obj{{"type", "input_audio"}, {"input_audio", obj{{"data", b.Data}, {"format", "wav"}}}}
	case b.MimeType == "audio/mp3" || b.MimeType == "audio/mpeg":
		return obj{{"type", "input_audio"}, {"input_audio", obj{{"data", b.Data}, {"format", "mp3"}}}}
	}
	return nil
}

// geminiTools translates tools and toolConfig into chat tools and
// tool_choice.
func geminiTools(rawTools, rawConfig json.RawMessage, rm *removedSet) (tools []obj, choice any) {
	var list []map[string]json.RawMessage
	if !isNull(rawTools) && json.Unmarshal(rawTools, &list) != nil {
		rm.add("tools")
		return nil, nil
	}
	var cfg struct {
		FunctionCallingConfig *struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	}
	if !isNull(rawConfig) && json.Unmarshal(rawConfig, &cfg) != nil {
		rm.add("toolConfig")
	}
	var allowed []string
	if fc := cfg.FunctionCallingConfig; fc != nil {
		switch strings.ToUpper(fc.Mode) {
		case "ANY":
			choice = "required"
			allowed = fc.AllowedFunctionNames
			if len(allowed) == 1 {
				choice = obj{{"type", "function"}, {"function", obj{{"name", allowed[0]}}}}
			}
		case "NONE":
			choice = "none"
		case "AUTO", "VALIDATED":
			choice = "auto"
		}
	}
	for _, t := range list {
		for k, v := range t {
			if k != "functionDeclarations" {
				rm.add("tools." + k) // googleSearch, codeExecution, urlContext: {} turns them on
				continue
			}
			var decls []struct {
				Name                 string          `json:"name"`
				Description          string          `json:"description"`
				Parameters           json.RawMessage `json:"parameters"`
				ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
			}
			if json.Unmarshal(v, &decls) != nil {
				rm.add("tools.functionDeclarations")
				continue
			}
			for _, d := range decls {
				if len(allowed) > 0 && indexOf(allowed, d.Name) < 0 {
					continue
				}
				params := d.ParametersJSONSchema
				if isNull(params) {
					params = jsonSchema(d.Parameters)
				}
				f := obj{{"name", d.Name}}
				if d.Description != "" {
					f.set("description", d.Description)
				}
				f.set("parameters", objectSchema(params))
				tools = append(tools, obj{{"type", "function"}, {"function", f}})
			}
		}
	}
	if len(tools) == 0 {
		return nil, nil
	}
	return tools, choice
}

// jsonSchema turns a Gemini (OpenAPI 3.0 subset) schema into JSON Schema:
// upper-case type names become lower-case, propertyOrdering (Gemini's
// own) goes, and nullable becomes a type list.
func jsonSchema(raw json.RawMessage) json.RawMessage {
	if isNull(raw) {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	out, err := marshal(schemaValue(v))
	if err != nil {
		return raw
	}
	return out
}

func schemaValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			switch k {
			case "propertyOrdering", "nullable":
				continue
			case "type":
				if s, ok := e.(string); ok {
					e = strings.ToLower(s)
					if v["nullable"] == true {
						e = []any{e, "null"}
					}
				}
			case "properties", "$defs", "definitions":
				if props, ok := e.(map[string]any); ok {
					pm := make(map[string]any, len(props))
					for name, s := range props {
						pm[name] = schemaValue(s)
					}
					e = pm
				}
				m[k] = e
				continue
			}
			m[k] = schemaValue(e)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = schemaValue(e)
		}
		return out
	}
	return v
}

// geminiGenerationConfig translates generationConfig into chat members,
// set through set.
func geminiGenerationConfig(raw json.RawMessage, o Options, set func(string, any), rm *removedSet) error {
	if isNull(raw) {
		return nil
	}
	var gc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &gc); err != nil {
		return fmt.Errorf("decoding generateContent request: generationConfig: %w", err)
	}
	mime, _ := stringValue(gc["responseMimeType"])
	for k, v := range gc {
		if isNull(v) {
			continue
		}
		switch k {
		case "maxOutputTokens":
			set(o.chatOutputLimit(), v)
		case "temperature":
			set("temperature", v)
		case "topP":
			set("top_p", v)
		case "seed":
			set("seed", v)
		case "presencePenalty":
			set("presence_penalty", v)
		case "frequencyPenalty":
			set("frequency_penalty", v)
		case "stopSequences":
			set("stop", v)
		case "candidateCount":
			if n, ok := integer(v); !ok || n > 1 {
				return errors.New("generationConfig.candidateCount above 1 is served only by Gemini-format providers; ask for one candidate, or name a Gemini model")
			}
		case "responseMimeType":
			if mime != "application/json" && mime != "text/plain" && mime != "" {
				rm.add("generationConfig.responseMimeType")
			}
		case "responseSchema", "responseJsonSchema", "_responseJsonSchema":
			// with responseMimeType, below
		case "thinkingConfig":
			var tc struct {
				ThinkingBudget *int64 `json:"thinkingBudget"`
				ThinkingLevel  string `json:"thinkingLevel"`
			}
			_ = json.Unmarshal(v, &tc)
			switch {
			case tc.ThinkingLevel != "":
				set("reasoning_effort", strings.ToLower(tc.ThinkingLevel))
			case tc.ThinkingBudget != nil && *tc.ThinkingBudget > 0:
				set("reasoning_effort", reasoningEffort(*tc.ThinkingBudget))
			}
			// -1 (dynamic) and 0 (off) ask for the model's default.
		default: // topK (no OpenAI equivalent), logprobs, speechConfig, …
			if !isDefault(v) {
				rm.add("generationConfig." + k)
			}
		}
	}
	if mime == "application/json" {
		schema := gc["responseJsonSchema"]
		if isNull(schema) {
			schema = gc["_responseJsonSchema"]
		}
		if isNull(schema) {
			schema = jsonSchema(gc["responseSchema"])
		}
		if isNull(schema) {
			set("response_format", obj{{"type", "json_object"}})
		} else {
			set("response_format", obj{{"type", "json_schema"}, {"json_schema", obj{{"name", "response"}, {"schema", schema}}}})
		}
	} else if !isNull(gc["responseSchema"]) || !isNull(gc["responseJsonSchema"]) {
		rm.add("generationConfig.responseSchema")
	}
	return nil
}

// skipThoughtSignature is the signature Google documents for function
// calls in a history another model wrote: Gemini 3 refuses a call without
// a signature, and has none to give for them.
const skipThoughtSignature = "skip_thought_signature_validator"

// ChatToGemini translates an OpenAI chat-completions request into a
// Gemini generateContent request (the model and stream are in the URL,
// not the body). Of o it uses only Stream.
//
//   - system and developer messages become systemInstruction; user and
//     assistant messages become contents of roles user and model, adjacent
//     ones of a role merged;
//   - tool_calls become functionCall parts (the first of each turn with
//     Google's skip signature) and tool messages functionResponse parts of
//     a user turn, named after their call, the content as {"result": …}
//     unless it is a JSON object;
//   - image_url data URLs, input_audio and file_data become inlineData,
//     other image URLs fileData;
//   - tools become functionDeclarations (the JSON Schema as
//     parametersJsonSchema) and tool_choice toolConfig;
//   - max_completion_tokens (or max_tokens), temperature, top_p, top_k,
//     stop, seed, penalties, response_format (responseMimeType with
//     responseJsonSchema), reasoning_effort (thinkingConfig's budget) and
//     n (candidateCount, not for streams) go in generationConfig.
func ChatToGemini(body []byte, o Options) (out []byte, removed []string, err error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, fmt.Errorf("decoding chat completions request: %w", err)
	}
	if req == nil {
		return nil, nil, errors.New("decoding chat completions request: not a JSON object")
	}
	var rm removedSet
	var msgs []chatMessage
	if err := json.Unmarshal(req["messages"], &msgs); err != nil {
		return nil, nil, fmt.Errorf("decoding chat completions request: messages: %w", err)
	}
	g := obj{}
	var system []obj
	var contents []*geminiTurn
	names := map[string]string{} // tool call id → function name
	turn := func(role string) *geminiTurn {
		if n := len(contents); n > 0 && contents[n-1].role == role {
			return contents[n-1]
		}
		t := &geminiTurn{role: role}
		contents = append(contents, t)
		return t
	}
	for i := range msgs {
		m := &msgs[i]
		switch m.Role {
		case "system", "developer":
			parts, err := chatContent(m.Content)
			if err != nil {
				return nil, nil, fmt.Errorf("decoding chat completions request: messages[%d]: %w", i, err)
			}
			for _, p := range parts {
				if p.Type == "text" && p.Text != "" {
					system = append(system, obj{{"text", p.Text}})
				}
			}
		case "user":
			parts, err := chatContent(m.Content)
			if err != nil {
				return nil, nil, fmt.Errorf("decoding chat completions request: messages[%d]: %w", i, err)
			}
			t := turn("user")
			for _, p := range parts {
				if part := geminiUserPart(&p, &rm); part != nil {
					t.parts = append(t.parts, part)
				}
			}
		case "assistant":
			t := turn("model")
			signed := false
			for _, p := range t.parts {
				_, signed = p.get("thoughtSignature")
				if signed {
					break
				}
			}
			rm.assistantExtras(m)
			parts, err := chatContent(m.Content)
			if err != nil {
				return nil, nil, fmt.Errorf("decoding chat completions request: messages[%d]: %w", i, err)
			}
			for _, p := range parts {
				switch {
				case p.Type == "text" && p.Text != "":
					t.parts = append(t.parts, obj{{"text", p.Text}})
				case p.Type == "refusal" && p.Refusal != "":
					t.parts = append(t.parts, obj{{"text", p.Refusal}})
				}
			}
			if m.Refusal != "" && len(parts) == 0 {
				t.parts = append(t.parts, obj{{"text", m.Refusal}})
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Function.Name
				part := obj{{"functionCall", obj{{"name", tc.Function.Name}, {"args", toolInput(tc.arguments())}}}}
				if !signed {
					part.set("thoughtSignature", skipThoughtSignature)
					signed = true
				}
				t.parts = append(t.parts, part)
			}
			if len(t.parts) == 0 {
				t.parts = append(t.parts, obj{{"text", ""}})
			}
		case "tool", "function":
			name := names[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			t := turn("user")
			t.parts = append(t.parts, obj{{"functionResponse", obj{{"name", name}, {"response", functionResponse(m.Content)}}}})
		default:
			return nil, nil, fmt.Errorf("decoding chat completions request: messages[%d]: unknown role %q", i, m.Role)
		}
	}
	encoded := make([]obj, 0, len(contents))
	for _, t := range contents {
		encoded = append(encoded, obj{{"role", t.role}, {"parts", t.parts}})
	}
	g.set("contents", encoded)
	if len(system) > 0 {
		g.set("systemInstruction", obj{{"parts", system}})
	}
	tools, toolConfig := chatToolsToGemini(req["tools"], req["tool_choice"], &rm)
	if len(tools) > 0 {
		g.set("tools", []obj{{{"functionDeclarations", tools}}})
		if toolConfig != nil {
			g.set("toolConfig", obj{{"functionCallingConfig", toolConfig}})
		}
	}

	gc := obj{}
	if v, ok := integer(req["max_completion_tokens"]); ok && v > 0 {
		gc.set("maxOutputTokens", v)
	} else if v, ok := integer(req["max_tokens"]); ok && v > 0 {
		gc.set("maxOutputTokens", v)
	}
	for _, p := range [...][2]string{{"temperature", "temperature"}, {"top_p", "topP"}, {"top_k", "topK"}, {"seed", "seed"},
		{"presence_penalty", "presencePenalty"}, {"frequency_penalty", "frequencyPenalty"}} {
		if v := req[p[0]]; !isNull(v) {
			if _, ok := number(v); ok {
				gc.set(p[1], v)
			} else {
				rm.add(p[0])
			}
		}
	}
	if raw := req["stop"]; !isNull(raw) {
		var stops []string
		if s, ok := stringValue(raw); ok {
			stops = []string{s}
		} else if json.Unmarshal(raw, &stops) != nil {
			rm.add("stop")
		}
		if len(stops) > 0 {
			gc.set("stopSequences", stops)
		}
	}
	if n, ok := integer(req["n"]); ok && n > 1 {
		if o.Stream {
			rm.add("n") // a stream translates one candidate
		} else {
			gc.set("candidateCount", n)
		}
	}
	if raw := req["response_format"]; !isNull(raw) {
		var rf struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		}
		_ = json.Unmarshal(raw, &rf)
		switch rf.Type {
		case "json_object":
			gc.set("responseMimeType", "application/json")
		case "json_schema":
			gc.set("responseMimeType", "application/json")
			if !isNull(rf.JSONSchema.Schema) {
				gc.set("responseJsonSchema", rf.JSONSchema.Schema)
			}
		case "text", "":
		default:
			rm.add("response_format")
		}
	}
	if effort, _ := stringValue(req["reasoning_effort"]); effort != "" {
		switch budget := thinkingBudget(effort); {
		case budget > 0:
			gc.set("thinkingConfig", obj{{"thinkingBudget", budget}})
		case effort == "none":
			gc.set("thinkingConfig", obj{{"thinkingBudget", 0}})
		default:
			rm.add("reasoning_effort")
		}
	}
	if len(gc) > 0 {
		g.set("generationConfig", gc)
	}

	for k, v := range req {
		switch k {
		case "model", "models", "messages", "tools", "tool_choice", "max_completion_tokens", "max_tokens", "temperature",
			"top_p", "top_k", "seed", "presence_penalty", "frequency_penalty", "stop", "n", "response_format",
			"reasoning_effort", "stream":
		case "stream_options": // Gemini streams always report usage
		case "parallel_tool_calls":
			if b := string(v); b != "true" && b != "null" {
				rm.add(k)
			}
		default:
			if !isDefault(v) {
				rm.add(k)
			}
		}
	}
	out, err = marshal(g)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding generateContent request: %w", err)
	}
	return out, rm.list(), nil
}

// geminiTurn is a content under construction.
type geminiTurn struct {
	role  string
	parts []obj
}

// geminiUserPart translates a chat content part of a user message.
func geminiUserPart(p *chatPart, rm *removedSet) obj {
	switch p.Type {
	case "text":
		return obj{{"text", p.Text}}
	case "image_url":
		u := p.imageURL()
		if mt, data, ok := dataURL(u); ok {
			return obj{{"inlineData", obj{{"mimeType", mt}, {"data", data}}}}
		}
		return obj{{"fileData", obj{{"mimeType", imageMimeType(u)}, {"fileUri", u}}}}
	case "file":
		if p.File != nil {
			if mt, data, ok := dataURL(p.File.FileData); ok {
				return obj{{"inlineData", obj{{"mimeType", mt}, {"data", data}}}}
			}
		}
	case "input_audio":
		var a struct {
			InputAudio struct {
				Data   string `json:"data"`
				Format string `json:"format"`
			} `json:"input_audio"`
		}
		if b, err := json.Marshal(p); err == nil && json.Unmarshal(b, &a) == nil && a.InputAudio.Data != "" {
			return obj{{"inlineData", obj{{"mimeType", "audio/" + a.InputAudio.Format}, {"data", a.InputAudio.Data}}}}
		}
	}
	rm.add("messages." + p.Type)
	return nil
}

// imageMimeType guesses an image URL's media type from its extension
// (Gemini needs one for fileData).
func imageMimeType(u string) string {
	path, _, _ := strings.Cut(u, "?")
	switch {
	case strings.HasSuffix(path, ".png"):
		return "image/png"
	case strings.HasSuffix(path, ".webp"):
		return "image/webp"
	case strings.HasSuffix(path, ".gif"):
		return "image/gif"
	case strings.HasSuffix(path, ".heic"):
		return "image/heic"
	}
	return "image/jpeg"
}

// functionResponse is a tool message's content as a functionResponse's
// response, which must be an object: a JSON object as it is, anything
// else as {"result": "<text>"}.
func functionResponse(content json.RawMessage) json.RawMessage {
	text := ""
	if s, ok := stringValue(content); ok {
		text = s
	} else if parts, err := chatContent(content); err == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		text = b.String()
	}
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return compact(json.RawMessage(t))
	}
	out, _ := marshal(obj{{"result", text}})
	return out
}

// chatToolsToGemini translates chat tools and tool_choice into function
// declarations and a functionCallingConfig.
func chatToolsToGemini(rawTools, rawChoice json.RawMessage, rm *removedSet) (decls []obj, config obj) {
	if isNull(rawTools) {
		return nil, nil
	}
	var tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if json.Unmarshal(rawTools, &tools) != nil {
		rm.add("tools")
		return nil, nil
	}
	for _, t := range tools {
		if t.Type != "function" {
			rm.add("tools." + t.Type)
			continue
		}
		d := obj{{"name", t.Function.Name}}
		if t.Function.Description != "" {
			d.set("description", t.Function.Description)
		}
		if !isNull(t.Function.Parameters) {
			d.set("parametersJsonSchema", objectSchema(t.Function.Parameters))
		}
		decls = append(decls, d)
	}
	if s, ok := stringValue(rawChoice); ok {
		switch s {
		case "auto":
			config = obj{{"mode", "AUTO"}}
		case "none":
			config = obj{{"mode", "NONE"}}
		case "required":
			config = obj{{"mode", "ANY"}}
		}
	} else if !isNull(rawChoice) {
		var c struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(rawChoice, &c) == nil && c.Function.Name != "" {
			config = obj{{"mode", "ANY"}, {"allowedFunctionNames", []string{c.Function.Name}}}
		} else {
			rm.add("tool_choice")
		}
	}
	return decls, config
}
