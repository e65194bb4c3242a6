// Package usage extracts token usage, stop reasons and output volume from
// OpenAI-, Anthropic- and Gemini-format responses, both complete JSON bodies and SSE
// streams followed event by event, and normalises them so that every token
// is counted in exactly one priced bucket.
package usage

// Usage is normalised so every token sits in exactly one priced bucket:
// InputTokens, CacheReadTokens, CacheWriteTokens and OutputTokens never
// overlap, whatever the provider's own convention (OpenAI counts cached
// tokens inside prompt_tokens, Anthropic reports them separately).
type Usage struct {
	InputTokens      int64 // input tokens neither read from nor written to a cache
	CacheReadTokens  int64
	CacheWriteTokens int64
	OutputTokens     int64 // all output tokens, reasoning included
	ReasoningTokens  int64 // the part of OutputTokens spent on reasoning/thinking (informational subset)
}

// TotalTokens returns input + cache read + cache write + output tokens.
// ReasoningTokens is not added: it is already part of OutputTokens.
func (u Usage) TotalTokens() int64 {
	return u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens + u.OutputTokens
}

// EstimateTokens estimates the tokens in n bytes of text as ceil(n/4), the
// usual rule of thumb for English text with BPE tokenizers. It is used only
// when a provider reports no usage, so being roughly right beats being
// unbilled.
func EstimateTokens(n int) int64 {
	if n <= 0 {
		return 0
	}
	return (int64(n) + 3) / 4
}

// nonNeg clamps a count that a provider's inconsistent numbers (e.g. more
// cached tokens than prompt tokens) would make negative.
func nonNeg(n int64) int64 {
	return max(n, 0)
}
