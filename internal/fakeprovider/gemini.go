package fakeprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Gemini: POST .../v1beta/models/{model}:generateContent,
// :streamGenerateContent (server-sent events with alt=sse, else a JSON
// array of chunks, as Google answers), :countTokens, and GET
// .../v1beta/models[/{model}]. The key is x-goog-api-key or ?key=; a wrong
// one gets 400 API_KEY_INVALID, as Google answers.

// geminiModels are the models GET /v1beta/models lists.
var geminiModels = []string{"gemini-2.5-flash", "gemini-2.5-pro", "fake-model"}

// geminiPath splits a Gemini method path into model and method; ok is
// false for other paths.
func geminiPath(p string) (model, method string, ok bool) {
	i := strings.LastIndex(p, "/v1beta/models/")
	if i < 0 {
		return "", "", false
	}
	rest := p[i+len("/v1beta/models/"):]
	j := strings.LastIndexByte(rest, ':')
	if j < 0 {
		return "", "", false
	}
	return rest[:j], rest[j+1:], true
}

type geminiRequest struct {
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction"`
	Tools             []struct {
		FunctionDeclarations []struct {
			Name string `json:"name"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig *struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig *struct {
		MaxOutputTokens *int `json:"maxOutputTokens"`
		CandidateCount  *int `json:"candidateCount"`
	} `json:"generationConfig"`
	GenerateContentRequest *geminiRequest `json:"generateContentRequest"` // countTokens
}

type geminiContent struct {
	Role  string           `json:"role"`
	Parts []map[string]any `json:"parts"`
}

// promptTokens counts the text of the system instruction and the
// contents.
func (req *geminiRequest) promptTokens() int {
	n := 0
	if req.SystemInstruction != nil {
		n += textLen(anySlice(req.SystemInstruction.Parts))
	}
	for _, c := range req.Contents {
		n += textLen(anySlice(c.Parts))
	}
	return tokensFor(n)
}

func anySlice(parts []map[string]any) []any {
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// answeringToolResult reports whether the last content carries a
// functionResponse part.
func (req *geminiRequest) answeringToolResult() bool {
	if len(req.Contents) == 0 {
		return false
	}
	for _, p := range req.Contents[len(req.Contents)-1].Parts {
		if p["functionResponse"] != nil {
			return true
		}
	}
	return false
}

// toolChoice renders toolConfig as the choice pickTool reads.
func (req *geminiRequest) toolChoice() json.RawMessage {
	if req.ToolConfig == nil || req.ToolConfig.FunctionCallingConfig == nil {
		return nil
	}
	fc := req.ToolConfig.FunctionCallingConfig
	switch {
	case fc.Mode == "NONE":
		return json.RawMessage(`"none"`)
	case fc.Mode == "ANY" && len(fc.AllowedFunctionNames) > 0:
		return marshal(map[string]string{"name": fc.AllowedFunctionNames[0]})
	}
	return nil
}

func (c *call) geminiDispatch(model, method string) error {
	if c.r.Method == http.MethodGet {
		c.writeNotFound()
		return nil
	}
	var req geminiRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(apiError{Status: http.StatusBadRequest, Message: "Invalid JSON payload received. " + err.Error()})
		return nil
	}
	switch method {
	case "countTokens":
		if req.GenerateContentRequest != nil {
			req = *req.GenerateContentRequest
		}
		writeJSON(c.w, http.StatusOK, map[string]int{"totalTokens": req.promptTokens()})
		return nil
	case "generateContent", "streamGenerateContent":
	default:
		c.writeNotFound()
		return nil
	}
	if len(req.Contents) == 0 {
		c.fail(apiError{Status: http.StatusBadRequest, Message: "* GenerateContentRequest.contents: contents is not specified"})
		return nil
	}
	c.cfg.Reply = continueGeminiReply(req.Contents, c.cfg.Reply)
	var tools []string
	for _, t := range req.Tools {
		for _, d := range t.FunctionDeclarations {
			tools = append(tools, d.Name)
		}
	}
	maxTokens, n := 0, 1
	if gc := req.GenerationConfig; gc != nil {
		if gc.MaxOutputTokens != nil {
			maxTokens = *gc.MaxOutputTokens
		}
		if gc.CandidateCount != nil && *gc.CandidateCount > 1 {
			n = *gc.CandidateCount
		}
	}
	ans := planAnswer(c.cfg.Reply, maxTokens, pickTool(tools, req.toolChoice(), req.answeringToolResult()))
	finish := "STOP"
	if ans.truncated {
		finish = "MAX_TOKENS"
	}
	var usage object
	if !c.cfg.OmitUsage {
		prompt := req.promptTokens() + c.cfg.CacheReadTokens
		out := ans.outputTokens * n
		usage = object{{"promptTokenCount", prompt}, {"candidatesTokenCount", out}, {"totalTokenCount", prompt + out + c.cfg.ReasoningTokens}}
		if c.cfg.CacheReadTokens > 0 {
			usage = append(usage, member{"cachedContentTokenCount", c.cfg.CacheReadTokens})
		}
		if c.cfg.ReasoningTokens > 0 {
			usage = append(usage, member{"thoughtsTokenCount", c.cfg.ReasoningTokens})
		}
	}
	var final []any
	if ans.toolName != "" {
		final = []any{object{{"functionCall", object{{"name", ans.toolName}, {"args", json.RawMessage(ans.toolArgs)}}}}}
	} else {
		final = []any{object{{"text", ans.text}}}
	}
	respID := newID("")
	chunk := func(parts []any, index int, finish string, usage object) object {
		cand := object{{"content", object{{"parts", parts}, {"role", "model"}}}}
		if finish != "" {
			cand = append(cand, member{"finishReason", finish})
		}
		cand = append(cand, member{"index", index})
		o := object{{"candidates", []any{cand}}}
		if usage != nil {
			o = append(o, member{"usageMetadata", usage})
		}
		return append(o, member{"modelVersion", model}, member{"responseId", respID})
	}
	if method == "generateContent" {
		cands := make([]any, n)
		for i := range cands {
			cands[i] = chunk(final, i, finish, nil)[0].value.([]any)[0]
		}
		resp := object{{"candidates", cands}}
		if usage != nil {
			resp = append(resp, member{"usageMetadata", usage})
		}
		writeJSON(c.w, http.StatusOK, append(resp, member{"modelVersion", model}, member{"responseId", respID}))
		return nil
	}

	// A stream: a chunk per word (usage so far on each, as Google sends
	// it), the last with the finishReason and the final usage; a function
	// call whole in one chunk.
	var chunks []object
	var partial object
	if usage != nil {
		partial = object{{"promptTokenCount", usage[0].value}, {"totalTokenCount", usage[0].value}}
	}
	if ans.toolName != "" {
		chunks = append(chunks, chunk(final, 0, finish, usage))
	} else {
		for i, p := range ans.pieces {
			if i == len(ans.pieces)-1 {
				chunks = append(chunks, chunk([]any{object{{"text", p}}}, 0, finish, usage))
			} else {
				chunks = append(chunks, chunk([]any{object{{"text", p}}}, 0, "", partial))
			}
		}
		if len(chunks) == 0 {
			chunks = append(chunks, chunk([]any{object{{"text", ""}}}, 0, finish, usage))
		}
	}
	if c.r.URL.Query().Get("alt") != "sse" {
		writeJSON(c.w, http.StatusOK, chunks)
		return nil
	}
	evs := make([]event, len(chunks))
	for i, ch := range chunks {
		evs[i] = event{data: ch}
	}
	return c.startStream().sendAll(evs)
}

// geminiListModels answers GET /v1beta/models and /v1beta/models/{id}.
func (c *call) geminiListModels(id string) error {
	model := func(id string) object {
		return object{{"name", "models/" + id}, {"version", "001"}, {"displayName", id}, {"inputTokenLimit", 1048576},
			{"outputTokenLimit", 65536}, {"supportedGenerationMethods", []string{"generateContent", "countTokens"}}}
	}
	if id != "" {
		for _, m := range geminiModels {
			if m == id {
				writeJSON(c.w, http.StatusOK, model(id))
				return nil
			}
		}
		c.fail(apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("models/%s is not found for API version v1beta, or is not supported for generateContent.", id)})
		return nil
	}
	list := make([]any, len(geminiModels))
	for i, m := range geminiModels {
		list[i] = model(m)
	}
	writeJSON(c.w, http.StatusOK, object{{"models", list}})
	return nil
}

// geminiStatus is the google.rpc status Google puts beside an HTTP status.
func geminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

// geminiError writes Google's error shape; reason, when set, goes in an
// ErrorInfo detail (API_KEY_INVALID, …).
func (c *call) geminiError(status int, msg, reason string) {
	e := object{{"code", status}, {"message", msg}, {"status", geminiStatus(status)}}
	if reason != "" {
		e = append(e, member{"details", []any{object{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"}, {"reason", reason}, {"domain", "googleapis.com"}}}})
	}
	writeJSON(c.w, status, object{{"error", e}})
}

// continueGeminiReply is continueReply for Gemini's contents: a model turn
// followed by a user turn asking to continue.
func continueGeminiReply(contents []geminiContent, reply string) string {
	n := len(contents)
	if n < 2 || contents[n-2].Role != "model" || contents[n-1].Role != "user" {
		return reply
	}
	text := func(c geminiContent) string {
		var b strings.Builder
		for _, p := range c.Parts {
			if s, ok := p["text"].(string); ok {
				b.WriteString(s)
			}
		}
		return b.String()
	}
	if !strings.Contains(strings.ToLower(text(contents[n-1])), "continue") {
		return reply
	}
	partial := strings.TrimRight(text(contents[n-2]), " \t\n")
	if partial == "" || !strings.HasPrefix(reply, partial) {
		return reply
	}
	return reply[len(partial):]
}
