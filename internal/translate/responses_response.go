package translate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Complete Responses API answers: a chat completion as a response object,
// and a response object as a chat completion.
//
// A response object repeats much of its request (instructions, tools,
// tool_choice, temperature, ...). The translations take the client's
// Responses request for that (nil gives the API's defaults) and always say
// "store": false: a translated response is kept nowhere.
//
// Ids are made from the upstream's, so one answer's ids agree in the JSON
// answer, in every stream event and in logs: "chatcmpl-abc" (or
// "msg_abc") gives the response "resp_abc", and its output items
// "msg_abc_0", "rs_abc_0", "fc_abc_1" (the suffix is the item's
// output_index).

// newResponsesBase makes the base of a response's ids when the upstream
// gave none; tests replace it.
var newResponsesBase = func() string {
	return strings.TrimPrefix(ids.New("resp"), "resp_")
}

// responsesBase returns the part of an upstream id after its type prefix
// ("chatcmpl-", "msg_", "resp_"), which a response's ids share.
func responsesBase(upstream string) string {
	if i := strings.IndexAny(upstream, "-_"); i > 0 && i < len(upstream)-1 {
		prefix := upstream[:i]
		letters := true
		for j := 0; j < len(prefix); j++ {
			if c := prefix[j]; c < 'a' || c > 'z' {
				letters = false
				break
			}
		}
		if letters {
			return upstream[i+1:]
		}
	}
	if upstream == "" {
		return newResponsesBase()
	}
	return upstream
}

func responsesItemID(prefix, base string, outputIndex int) string {
	return prefix + "_" + base + "_" + strconv.Itoa(outputIndex)
}

// responseEcho is what a response object repeats of its request.
type responseEcho struct {
	instructions, maxOutputTokens, metadata, parallelToolCalls, reasoning,
	temperature, text, toolChoice, tools, topP, truncation, user json.RawMessage
}

// newResponseEcho reads the members a response repeats from a Responses
// request; each absent or unreadable one takes the API's default.
func newResponseEcho(request []byte) *responseEcho {
	var req struct {
		Instructions      json.RawMessage `json:"instructions"`
		MaxOutputTokens   json.RawMessage `json:"max_output_tokens"`
		Metadata          json.RawMessage `json:"metadata"`
		ParallelToolCalls json.RawMessage `json:"parallel_tool_calls"`
		Reasoning         json.RawMessage `json:"reasoning"`
		Temperature       json.RawMessage `json:"temperature"`
		Text              json.RawMessage `json:"text"`
		ToolChoice        json.RawMessage `json:"tool_choice"`
		Tools             json.RawMessage `json:"tools"`
		TopP              json.RawMessage `json:"top_p"`
		Truncation        json.RawMessage `json:"truncation"`
		User              json.RawMessage `json:"user"`
	}
	if len(request) > 0 {
		_ = json.Unmarshal(request, &req)
	}
	// pick keeps v when it is JSON of the kind the response has there
	// ('"' a string, '{' an object, '[' an array, '0' a number, 'b' a
	// boolean), else def.
	pick := func(v json.RawMessage, kind byte, def string) json.RawMessage {
		v = compact(v)
		if len(v) == 0 || !json.Valid(v) {
			return json.RawMessage(def)
		}
		switch kind {
		case '0':
			if _, ok := number(v); ok {
				return v
			}
		case 'b':
			if s := string(v); s == "true" || s == "false" {
				return v
			}
		default:
			if v[0] == kind {
				return v
			}
		}
		return json.RawMessage(def)
	}
	choice := pick(req.ToolChoice, '"', `"auto"`)
	if len(req.ToolChoice) > 0 && req.ToolChoice[0] == '{' {
		choice = pick(req.ToolChoice, '{', `"auto"`)
	}
	return &responseEcho{
		instructions:      pick(req.Instructions, '"', "null"),
		maxOutputTokens:   pick(req.MaxOutputTokens, '0', "null"),
		metadata:          pick(req.Metadata, '{', "{}"),
		parallelToolCalls: pick(req.ParallelToolCalls, 'b', "true"),
		reasoning:         pick(req.Reasoning, '{', `{"effort":null,"summary":null}`),
		temperature:       pick(req.Temperature, '0', "null"),
		text:              pick(req.Text, '{', `{"format":{"type":"text"}}`),
		toolChoice:        choice,
		tools:             pick(req.Tools, '[', "[]"),
		topP:              pick(req.TopP, '0', "null"),
		truncation:        pick(req.Truncation, '"', `"disabled"`),
		user:              pick(req.User, '"', "null"),
	}
}

// responseObject is a response as the Responses API writes it.
type responseObject struct {
	id, model  string
	createdAt  int64
	status     string // in_progress, completed, incomplete, failed
	incomplete string // incomplete_details.reason
	errCode    string // error.code and error.message of a failed response
	errMessage string
	output     []obj
	usage      *usage.Usage // nil: null
}

// encode writes the response, members in the order of the API's examples.
func (r *responseObject) encode(e *responseEcho) obj {
	o := obj{
		{"id", r.id},
		{"object", "response"},
		{"created_at", r.createdAt},
		{"status", r.status},
		{"background", false},
		{"error", nil},
		{"incomplete_details", nil},
		{"instructions", e.instructions},
		{"max_output_tokens", e.maxOutputTokens},
		{"model", r.model},
		{"output", r.output},
		{"parallel_tool_calls", e.parallelToolCalls},
		{"previous_response_id", nil},
		{"reasoning", e.reasoning},
		{"store", false},
		{"temperature", e.temperature},
		{"text", e.text},
		{"tool_choice", e.toolChoice},
		{"tools", e.tools},
		{"top_p", e.topP},
		{"truncation", e.truncation},
		{"usage", nil},
		{"user", e.user},
		{"metadata", e.metadata},
	}
	if r.output == nil {
		o.set("output", []obj{})
	}
	if r.errMessage != "" || r.errCode != "" {
		o.set("error", obj{{"code", r.errCode}, {"message", r.errMessage}})
	}
	if r.incomplete != "" {
		o.set("incomplete_details", obj{{"reason", r.incomplete}})
	}
	if r.usage != nil {
		o.set("usage", responsesUsage(*r.usage))
	}
	return o
}

// responsesUsage renders usage as a Responses usage object. Cache writes
// (Anthropic's) are counted in input_tokens and shown as
// input_tokens_details.cache_write_tokens, which package usage reads back.
func responsesUsage(u usage.Usage) obj {
	input := u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens
	details := obj{{"cached_tokens", u.CacheReadTokens}}
	if u.CacheWriteTokens > 0 {
		details.set("cache_write_tokens", u.CacheWriteTokens)
	}
	return obj{
		{"input_tokens", input},
		{"input_tokens_details", details},
		{"output_tokens", u.OutputTokens},
		{"output_tokens_details", obj{{"reasoning_tokens", u.ReasoningTokens}}},
		{"total_tokens", input + u.OutputTokens},
	}
}

// Output items.

func messageItem(id, status, text string, refusal bool) obj {
	part := obj{{"type", "output_text"}, {"annotations", []obj{}}, {"logprobs", []obj{}}, {"text", text}}
	if refusal {
		part = obj{{"type", "refusal"}, {"refusal", text}}
	}
	content := []obj{part}
	if status == "in_progress" {
		content = []obj{}
	}
	return obj{{"id", id}, {"type", "message"}, {"status", status}, {"content", content}, {"role", "assistant"}}
}

func reasoningItem(id, summary string, done bool) obj {
	parts := []obj{}
	if done {
		parts = append(parts, summaryPart(summary))
	}
	return obj{{"id", id}, {"type", "reasoning"}, {"summary", parts}}
}

func summaryPart(text string) obj {
	return obj{{"type", "summary_text"}, {"text", text}}
}

func functionCallItem(id, status, callID, name, arguments string) obj {
	return obj{{"id", id}, {"type", "function_call"}, {"status", status}, {"arguments", arguments}, {"call_id", callID}, {"name", name}}
}

// responseStatus maps an Anthropic stop reason to a response's status and
// incomplete_details.reason.
func responseStatus(stop string) (status, reason string) {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "incomplete", "max_output_tokens"
	case "refusal":
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// ChatResponseToResponses translates an OpenAI chat.completion into a
// Responses response object. model names the model in it (empty keeps the
// completion's own); request is the client's Responses request, whose
// members the response repeats (nil: the API's defaults). Reasoning
// (reasoning_content or reasoning) becomes a reasoning item with the text
// as its summary, first; then the message (output_text, or refusal) and a
// function_call item per tool call. finish_reason "length" makes the
// response incomplete with reason max_output_tokens, "content_filter"
// with reason content_filter. Only the first choice is translated.
func ChatResponseToResponses(body []byte, model string, request []byte) ([]byte, error) {
	c, err := decodeChatCompletion(body)
	if err != nil {
		return nil, err
	}
	if model == "" {
		model = c.Model
	}
	ch := &c.Choices[0]
	parts, err := chatContent(ch.Message.Content)
	if err != nil {
		return nil, fmt.Errorf("decoding chat completion: content: %w", err)
	}
	base := responsesBase(c.ID)
	r := responseObject{id: "resp_" + base, model: model, createdAt: c.Created}
	if r.createdAt == 0 {
		r.createdAt = now().Unix()
	}
	if s := reasoningText(ch.Message.ReasoningContent, ch.Message.Reasoning); s != "" {
		r.output = append(r.output, reasoningItem(responsesItemID("rs", base, len(r.output)), s, true))
	}
	var text strings.Builder
	refusal := ch.Message.Refusal != ""
	for _, p := range parts {
		switch p.Type {
		case "text":
			text.WriteString(p.Text)
		case "refusal":
			text.WriteString(p.Refusal)
			refusal = true
		}
	}
	text.WriteString(ch.Message.Refusal)
	if text.Len() > 0 || len(ch.Message.ToolCalls) == 0 && len(r.output) == 0 {
		r.output = append(r.output, messageItem(responsesItemID("msg", base, len(r.output)), "completed", text.String(), refusal))
	}
	for _, tc := range ch.Message.ToolCalls {
		callID := tc.ID
		if callID == "" {
			callID = ids.New("call")
		}
		r.output = append(r.output, functionCallItem(responsesItemID("fc", base, len(r.output)), "completed", callID, tc.Function.Name, tc.arguments()))
	}
	stop := stopReason(ch.FinishReason, false)
	if refusal {
		stop = "refusal"
	}
	r.status, r.incomplete = responseStatus(stop)
	u, _, _ := usage.FromBody(usage.ChatCompletions, body)
	r.usage = &u
	return marshal(r.encode(newResponseEcho(request)))
}

// ResponsesResponseToChat translates a Responses response object into an
// OpenAI chat.completion. model names the model in it (empty keeps the
// response's own). Message text becomes content (a refusal, refusal),
// reasoning summaries and reasoning text become reasoning_content,
// function_call items tool_calls; built-in tool items (web search, code
// interpreter, ...) are left out. An incomplete response finishes with
// "length" (max_output_tokens) or "content_filter"; a failed one is an
// error.
func ResponsesResponseToChat(body []byte, model string) ([]byte, error) {
	r, err := decodeResponse(body)
	if err != nil {
		return nil, err
	}
	if model == "" {
		model = r.Model
	}
	msg := chatAnswerMessage(r.text.String(), r.refusal.String(), r.reasoning.String(), r.calls)
	created := r.CreatedAt
	if created == 0 {
		created = now().Unix()
	}
	finish := finishReason(r.stop(), len(r.calls) > 0)
	c := obj{
		{"id", r.ID},
		{"object", "chat.completion"},
		{"created", created},
		{"model", model},
		{"choices", []obj{{
			{"index", 0},
			{"message", msg},
			{"logprobs", nil},
			{"finish_reason", finish},
		}}},
	}
	if u, _, ok := usage.FromBody(usage.Responses, body); ok {
		cu := chatUsage(u)
		if u.ReasoningTokens > 0 {
			cu.set("completion_tokens_details", obj{{"reasoning_tokens", u.ReasoningTokens}})
		}
		c.set("usage", cu)
	}
	return marshal(c)
}

// decodedResponse is a response object read for its answer.
type decodedResponse struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Model             string `json:"model"`
	CreatedAt         int64  `json:"created_at"`
	Status            string `json:"status"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Output []json.RawMessage `json:"output"`

	text, refusal, reasoning strings.Builder
	calls                    []obj
}

// stop returns the response's outcome as an Anthropic stop reason.
func (r *decodedResponse) stop() string {
	if r.Status == "incomplete" && r.IncompleteDetails != nil {
		switch r.IncompleteDetails.Reason {
		case "max_output_tokens":
			return "max_tokens"
		case "content_filter":
			return "refusal"
		}
	}
	if r.refusal.Len() > 0 && r.text.Len() == 0 {
		return "refusal"
	}
	return "end_turn"
}

// outputItem is an output item of a response; only the members of its
// type are set.
type outputItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Content   json.RawMessage `json:"content"`
	Summary   json.RawMessage `json:"summary"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// outputPart is a content part of a message item, or a summary or
// reasoning text part of a reasoning item.
type outputPart struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Refusal string `json:"refusal"`
}

func decodeResponse(body []byte) (*decodedResponse, error) {
	var r decodedResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	if r.Object != "response" {
		return nil, fmt.Errorf("decoding response: object %q is not a response", r.Object)
	}
	if r.Status == "failed" {
		msg := "the response failed"
		if r.Error != nil && r.Error.Message != "" {
			msg = r.Error.Message
		}
		return nil, fmt.Errorf("response %s failed: %s", r.ID, msg)
	}
	for i, raw := range r.Output {
		var it outputItem
		if json.Unmarshal(raw, &it) != nil {
			continue // an item type this package leaves out
		}
		switch it.Type {
		case "message":
			var parts []outputPart
			if err := json.Unmarshal(it.Content, &parts); err != nil && !isNull(it.Content) {
				return nil, fmt.Errorf("decoding response: output[%d].content: %w", i, err)
			}
			for _, p := range parts {
				switch p.Type {
				case "output_text":
					r.text.WriteString(p.Text)
				case "refusal":
					r.refusal.WriteString(p.Refusal)
				}
			}
		case "reasoning":
			var summary, content []outputPart
			_ = json.Unmarshal(it.Summary, &summary)
			_ = json.Unmarshal(it.Content, &content)
			for _, p := range append(summary, content...) {
				if p.Text == "" {
					continue
				}
				if r.reasoning.Len() > 0 {
					r.reasoning.WriteString("\n\n")
				}
				r.reasoning.WriteString(p.Text)
			}
		case "function_call":
			args, ok := stringValue(it.Arguments)
			if !ok && !isNull(it.Arguments) {
				args = string(it.Arguments)
			}
			r.calls = append(r.calls, obj{
				{"id", it.CallID},
				{"type", "function"},
				{"function", obj{{"name", it.Name}, {"arguments", args}}},
			})
		}
	}
	return &r, nil
}
