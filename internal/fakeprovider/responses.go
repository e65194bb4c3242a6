package fakeprovider

import (
	"encoding/json"
	"net/http"
	"time"
)

// OpenAI Responses API: POST .../v1/responses.

type responsesRequest struct {
	Model              string            `json:"model"`
	Input              any               `json:"input"`
	Instructions       *string           `json:"instructions"`
	Stream             bool              `json:"stream"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	Tools              []json.RawMessage `json:"tools"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	Temperature        *float64          `json:"temperature"`
	TopP               *float64          `json:"top_p"`
	ParallelToolCalls  *bool             `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Store              *bool             `json:"store"`
	Metadata           map[string]any    `json:"metadata"`
	User               *string           `json:"user"`
}

// responseObject is the "response" object, echoing the request's settings
// as the real API does.
type responseObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"` // "response"
	CreatedAt          int64             `json:"created_at"`
	Status             string            `json:"status"`
	Background         bool              `json:"background"`
	Error              any               `json:"error"` // always null
	IncompleteDetails  any               `json:"incomplete_details"`
	Instructions       *string           `json:"instructions"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	Model              string            `json:"model"`
	Output             []any             `json:"output"`
	ParallelToolCalls  bool              `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Reasoning          responseReasoning `json:"reasoning"`
	ServiceTier        string            `json:"service_tier"`
	Store              bool              `json:"store"`
	Temperature        float64           `json:"temperature"`
	Text               responseText      `json:"text"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	Tools              []json.RawMessage `json:"tools"`
	TopP               float64           `json:"top_p"`
	Truncation         string            `json:"truncation"`
	Usage              json.RawMessage   `json:"usage,omitempty"` // null while in progress, absent with OmitUsage
	User               *string           `json:"user"`
	Metadata           map[string]any    `json:"metadata"`
}

type responseReasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type responseText struct {
	Format struct {
		Type string `json:"type"`
	} `json:"format"`
}

type responseMessage struct {
	Type    string           `json:"type"` // "message"
	ID      string           `json:"id"`
	Status  string           `json:"status"`
	Role    string           `json:"role"`
	Content []outputTextPart `json:"content"`
}

type outputTextPart struct {
	Type        string `json:"type"` // "output_text"
	Text        string `json:"text"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
}

type responseFunctionCall struct {
	Type      string `json:"type"` // "function_call"
	ID        string `json:"id"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Status    string `json:"status"`
}

// responseUsage: input_tokens includes the cached tokens and output_tokens
// includes the reasoning tokens, as in the real API.
type responseUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

func (c *call) responses() error {
	var req responsesRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.badJSON(err)
		return nil
	}
	if req.Model == "" {
		c.missingParam("model")
		return nil
	}

	promptBytes := textLen(req.Input)
	if req.Instructions != nil {
		promptBytes += len(*req.Instructions)
	}
	maxTokens := 0
	if req.MaxOutputTokens != nil {
		maxTokens = *req.MaxOutputTokens
	}
	ans := planAnswer(c.cfg.Reply, maxTokens,
		pickTool(responseToolNames(req.Tools), req.ToolChoice, lastInputIsToolOutput(req.Input)))

	resp := newResponseObject(&req)
	if req.Stream {
		return c.responsesStream(resp, ans, tokensFor(promptBytes))
	}
	item := completedOutputItem(ans, newID("msg_"), newID("fc_"), newID("call_"))
	c.finishResponse(resp, ans, tokensFor(promptBytes), item)
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}

// newResponseObject returns an in-progress response echoing req.
func newResponseObject(req *responsesRequest) *responseObject {
	r := &responseObject{
		ID:                 newID("resp_"),
		Object:             "response",
		CreatedAt:          time.Now().Unix(),
		Status:             "in_progress",
		Instructions:       req.Instructions,
		MaxOutputTokens:    req.MaxOutputTokens,
		Model:              req.Model,
		Output:             []any{},
		ParallelToolCalls:  true,
		PreviousResponseID: req.PreviousResponseID,
		ServiceTier:        "default",
		Store:              true,
		Temperature:        1,
		ToolChoice:         json.RawMessage(`"auto"`),
		Tools:              req.Tools,
		TopP:               1,
		Truncation:         "disabled",
		Usage:              json.RawMessage("null"),
		User:               req.User,
		Metadata:           req.Metadata,
	}
	r.Text.Format.Type = "text"
	if req.ParallelToolCalls != nil {
		r.ParallelToolCalls = *req.ParallelToolCalls
	}
	if req.Store != nil {
		r.Store = *req.Store
	}
	if req.Temperature != nil {
		r.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		r.TopP = *req.TopP
	}
	if len(req.ToolChoice) > 0 {
		r.ToolChoice = req.ToolChoice
	}
	if r.Tools == nil {
		r.Tools = []json.RawMessage{}
	}
	if r.Metadata == nil {
		r.Metadata = map[string]any{}
	}
	return r
}

// finishResponse marks resp completed (or incomplete when truncated) with
// the given output item and usage.
func (c *call) finishResponse(resp *responseObject, ans answer, inputTokens int, item any) {
	resp.Status = "completed"
	if ans.truncated {
		resp.Status = "incomplete"
		resp.IncompleteDetails = map[string]string{"reason": "max_output_tokens"}
	}
	resp.Output = []any{item}
	resp.Usage = nil
	if !c.cfg.OmitUsage {
		var u responseUsage
		u.InputTokens = inputTokens + c.cfg.CacheReadTokens
		u.InputTokensDetails.CachedTokens = c.cfg.CacheReadTokens
		u.OutputTokens = ans.outputTokens + c.cfg.ReasoningTokens
		u.OutputTokensDetails.ReasoningTokens = c.cfg.ReasoningTokens
		u.TotalTokens = u.InputTokens + u.OutputTokens
		resp.Usage = marshal(u)
	}
}

// completedOutputItem is the final output item of the answer: a message, or
// a function call for tool answers.
func completedOutputItem(ans answer, msgID, fcID, callID string) any {
	if ans.toolName != "" {
		return responseFunctionCall{Type: "function_call", ID: fcID, CallID: callID,
			Name: ans.toolName, Arguments: ans.toolArgs, Status: "completed"}
	}
	status := "completed"
	if ans.truncated {
		status = "incomplete"
	}
	return responseMessage{Type: "message", ID: msgID, Status: status, Role: "assistant",
		Content: []outputTextPart{textPart(ans.text)}}
}

func textPart(text string) outputTextPart {
	return outputTextPart{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}
}

// responsesStream sends the Responses streaming event sequence, ending with
// response.completed (response.incomplete when truncated).
func (c *call) responsesStream(resp *responseObject, ans answer, inputTokens int) error {
	msgID, fcID, callID := newID("msg_"), newID("fc_"), newID("call_")
	var evs []event
	seq := 0
	add := func(typ string, rest ...member) {
		evs = append(evs, event{name: typ, data: append(object{{"type", typ}, {"sequence_number", seq}}, rest...)})
		seq++
	}
	if c.cfg.OmitUsage {
		resp.Usage = nil
	}
	// The in-progress snapshots are encoded now, before resp is finished.
	inProgress := json.RawMessage(marshal(resp))
	add("response.created", member{"response", inProgress})
	add("response.in_progress", member{"response", inProgress})

	final := completedOutputItem(ans, msgID, fcID, callID)
	if ans.toolName != "" {
		added := final.(responseFunctionCall)
		added.Arguments, added.Status = "", "in_progress"
		add("response.output_item.added", member{"output_index", 0}, member{"item", added})
		for _, frag := range toolArgFragments {
			add("response.function_call_arguments.delta",
				member{"item_id", fcID}, member{"output_index", 0}, member{"delta", frag})
		}
		add("response.function_call_arguments.done",
			member{"item_id", fcID}, member{"output_index", 0}, member{"name", ans.toolName}, member{"arguments", ans.toolArgs})
	} else {
		added := responseMessage{Type: "message", ID: msgID, Status: "in_progress", Role: "assistant", Content: []outputTextPart{}}
		add("response.output_item.added", member{"output_index", 0}, member{"item", added})
		// at prefixes the members locating the text part.
		at := func(rest ...member) []member {
			return append([]member{{"item_id", msgID}, {"output_index", 0}, {"content_index", 0}}, rest...)
		}
		add("response.content_part.added", at(member{"part", textPart("")})...)
		for _, p := range ans.pieces {
			add("response.output_text.delta", at(member{"delta", p}, member{"logprobs", []any{}})...)
		}
		add("response.output_text.done", at(member{"text", ans.text}, member{"logprobs", []any{}})...)
		add("response.content_part.done", at(member{"part", textPart(ans.text)})...)
	}
	add("response.output_item.done", member{"output_index", 0}, member{"item", final})

	c.finishResponse(resp, ans, inputTokens, final)
	if resp.Status == "incomplete" {
		add("response.incomplete", member{"response", resp})
	} else {
		add("response.completed", member{"response", resp})
	}
	return c.startStream().sendAll(evs)
}

// responseToolNames returns the names of the function tools of a Responses
// request (built-in tools such as web_search have no name and are skipped).
func responseToolNames(tools []json.RawMessage) []string {
	var names []string
	for _, raw := range tools {
		var t struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &t) == nil && t.Name != "" && (t.Type == "function" || t.Type == "custom") {
			names = append(names, t.Name)
		}
	}
	return names
}

// lastInputIsToolOutput reports whether the Responses input ends with a
// function_call_output item, i.e. the model is being given a tool result.
func lastInputIsToolOutput(input any) bool {
	items, ok := input.([]any)
	if !ok || len(items) == 0 {
		return false
	}
	last, _ := items[len(items)-1].(map[string]any)
	return last["type"] == "function_call_output"
}
