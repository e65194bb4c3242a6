// Package translate converts between the OpenAI Chat Completions format,
// the Anthropic Messages format, Gemini's generateContent and the OpenAI
// Responses API (through chat; see responses_to_chat.go), so a request
// in one shape can be served by a provider speaking another and the client
// still gets its own format back: requests, complete responses, streams
// (event by event) and error bodies. It also builds the request that
// continues a stalled stream on another provider.
//
// Requests are translated by meaning, not by copying unknown members: a
// member the target cannot take is dropped and its name returned in the
// removed list, for the AI-Gateway-Removed-Params header. Top-level members
// are named as they are ("temperature"); parts of messages and tools are
// named "messages.<what>" and "tools.<what>" ("messages.thinking",
// "tools.web_search_20250305"). Members whose value asks for the default
// anyway (null, false, 0, "", {}, [], "n":1, response_format text) are
// dropped without being named.
//
// The package has no Caddy types and keeps no global state; every function
// is safe for concurrent use, and each Stream serves one response.
package translate

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Options tells a request translation about its target.
type Options struct {
	// Model is the model id to put in the translated request; empty keeps
	// the request's own.
	Model string
	// DefaultMaxTokens is the max_tokens an Anthropic target gets when the
	// OpenAI request sets neither max_completion_tokens nor max_tokens
	// (Anthropic requires it; OpenAI's default is the model's limit, so
	// pass the model's output limit). 0 means 4096.
	DefaultMaxTokens int64
	// DropSampling drops temperature, top_p and top_k for Anthropic targets
	// and names them in removed: Anthropic API version 2026-10-21 rejects
	// them even at default values.
	DropSampling bool
	// IncludeUsage asks OpenAI-format targets of streaming requests for
	// stream_options.include_usage, so the final chunk reports usage.
	IncludeUsage bool
	// Stream says the request streams, for formats whose body does not say
	// so (Gemini's is in the URL): GeminiToChat sets stream, ChatToGemini
	// keeps one candidate.
	Stream bool
	// LegacyMaxTokens sends max_tokens instead of max_completion_tokens to
	// OpenAI-format targets, for compatible servers that predate the
	// latter. OpenAI's own reasoning models reject max_tokens.
	LegacyMaxTokens bool
}

// model is the model of the translated request: o.Model, else the
// request's own (its model member, raw).
func (o Options) model(raw json.RawMessage) string {
	if o.Model != "" {
		return o.Model
	}
	m, _ := stringValue(raw)
	return m
}

// chatOutputLimit is the chat completions member the output limit goes in
// (LegacyMaxTokens).
func (o Options) chatOutputLimit() string {
	if o.LegacyMaxTokens {
		return "max_tokens"
	}
	return "max_completion_tokens"
}

// defaultMaxTokens stands in for a zero Options.DefaultMaxTokens.
const defaultMaxTokens = 4096

// now is the clock behind the "created" field of translated OpenAI
// responses; tests replace it.
var now = time.Now

// removedSet collects the names of dropped members.
type removedSet []string

func (r *removedSet) add(name string) {
	if !slices.Contains(*r, name) {
		*r = append(*r, name)
	}
}

// assistantExtras names what an assistant message of a chat request
// carries that no other format takes: reasoning (a thinking block needs
// the provider's own signature, which an OpenAI client never has), the
// legacy function_call and audio.
func (r *removedSet) assistantExtras(m *chatMessage) {
	if !isDefault(m.ReasoningContent) || !isDefault(m.Reasoning) {
		r.add("messages.reasoning_content")
	}
	if !isDefault(m.FunctionCall) {
		r.add("messages.function_call")
	}
	if !isDefault(m.Audio) {
		r.add("messages.audio")
	}
}

// list returns the names sorted, or nil when nothing was dropped.
func (r removedSet) list() []string {
	if len(r) == 0 {
		return nil
	}
	slices.Sort(r)
	return r
}

// isDefault reports whether a member's raw value asks for nothing beyond
// the default (null, false, 0, "", {}, []), so dropping it is not worth
// naming.
func isDefault(raw json.RawMessage) bool {
	switch s := strings.TrimSpace(string(raw)); s {
	case "", "null", "false", "0", `""`:
		return true
	default:
		if f, ok := number(raw); ok && f == 0 {
			return true
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return false
		}
		switch v := v.(type) {
		case map[string]any:
			return len(v) == 0
		case []any:
			return len(v) == 0
		}
		return false
	}
}

// number decodes a JSON number.
func number(raw json.RawMessage) (float64, bool) {
	var f float64
	if len(raw) == 0 || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

// integer decodes a JSON number with an integral value.
func integer(raw json.RawMessage) (int64, bool) {
	f, ok := number(raw)
	if !ok || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// stringValue decodes a JSON string; ok is false for anything else
// (null included).
func stringValue(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// Stop reasons. Anthropic's stop_reason and OpenAI's finish_reason name
// the same few outcomes differently.

// finishReason maps an Anthropic stop_reason to an OpenAI finish_reason.
func finishReason(stop string, toolCalls bool) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	// end_turn, stop_sequence, pause_turn and whatever comes next. A
	// message with tool calls is a tool-call turn whatever the label.
	if toolCalls {
		return "tool_calls"
	}
	return "stop"
}

// stopReason maps an OpenAI finish_reason to an Anthropic stop_reason.
// OpenAI does not say whether "stop" came from a stop sequence, and some
// compatible servers say "stop" after tool calls.
func stopReason(finish string, toolCalls bool) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	if toolCalls {
		return "tool_use"
	}
	return "end_turn"
}
