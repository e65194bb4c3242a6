package translate

// Reasoning: OpenAI's reasoning_effort names a level, Anthropic's thinking
// sets a token budget (at least 1024, below max_tokens). Both count the
// reasoning inside the output limit (max_completion_tokens, max_tokens).
// The levels map to budgets and back so that a round trip keeps the level:
//
//	minimal 1024, low 2048, medium 8192, high 16384, xhigh 32768
//	budget < 4096: low, < 16384: medium, otherwise high
//
// "none" asks for no thinking. Thinking text comes back as OpenAI
// reasoning_content (the DeepSeek convention other compatible servers
// follow) and reasoning_content / reasoning deltas become thinking blocks.

// minThinkingBudget is the smallest budget Anthropic accepts.
const minThinkingBudget = 1024

// thinkingBudget returns the budget for an OpenAI reasoning effort; 0 means
// no thinking.
func thinkingBudget(effort string) int64 {
	switch effort {
	case "minimal":
		return 1024
	case "low":
		return 2048
	case "medium":
		return 8192
	case "high":
		return 16384
	case "xhigh":
		return 32768
	}
	return 0 // "none" and unknown levels
}

// reasoningEffort returns the OpenAI effort for an Anthropic thinking
// budget.
func reasoningEffort(budget int64) string {
	switch {
	case budget < 4096:
		return "low"
	case budget < 16384:
		return "medium"
	}
	return "high"
}

// effortLevel maps Anthropic's output_config.effort (low, medium, high,
// max) to an OpenAI reasoning effort. "max" has no portable equivalent
// above "high".
func effortLevel(effort string) string {
	switch effort {
	case "low", "medium", "high":
		return effort
	case "max":
		return "high"
	}
	return ""
}
