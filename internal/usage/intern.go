package usage

// intern returns b as a string, without allocating for the stop reasons and
// statuses the supported APIs actually send (the compiler turns a switch on
// string(b) into comparisons, not a conversion). Only unexpected values
// allocate.
func intern(b []byte) string {
	switch string(b) {
	// OpenAI chat completions finish_reason.
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "content_filter":
		return "content_filter"
	case "function_call":
		return "function_call"
	// DeepSeek.
	case "insufficient_system_resource":
		return "insufficient_system_resource"
	// Anthropic stop_reason.
	case "end_turn":
		return "end_turn"
	case "max_tokens":
		return "max_tokens"
	case "stop_sequence":
		return "stop_sequence"
	case "tool_use":
		return "tool_use"
	case "pause_turn":
		return "pause_turn"
	case "refusal":
		return "refusal"
	case "model_context_window_exceeded":
		return "model_context_window_exceeded"
	// OpenAI responses status and incomplete_details.reason.
	case "completed":
		return "completed"
	case "incomplete":
		return "incomplete"
	case "failed":
		return "failed"
	case "cancelled":
		return "cancelled"
	case "in_progress":
		return "in_progress"
	case "queued":
		return "queued"
	case "max_output_tokens":
		return "max_output_tokens"
	}
	return string(b)
}
