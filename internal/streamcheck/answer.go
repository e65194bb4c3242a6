// Package streamcheck holds strict readers of each API format's answers,
// JSON and SSE, for tests: they fail on anything a real SDK would choke on
// (openai's ChatCompletionStream and ResponseStream, @anthropic-ai/sdk's
// MessageStream, @google/genai) and on what a real provider never sends.
//
// Each reader returns the answer as a client would see it, split the same
// way for every format, so a test can compare formats with one another.
package streamcheck

// Call is one tool call as the client reads it.
type Call struct {
	ID, Name string
	Args     string // the arguments: JSON object text
}

// Answer is a client's answer read back into one message.
type Answer struct {
	Text     string
	Thinking string // reasoning_content, thinking blocks, reasoning summaries, thought parts
	Calls    []Call
	// Stop is how the answer ended, in the format's words: finish_reason,
	// stop_reason, finishReason, or a response's status (its
	// incomplete_details reason when it has one).
	Stop string
	// The usage the client was told. Input counts only the input tokens
	// read neither from nor into a cache, whatever the format counts.
	Input, CacheRead, CacheWrite, Output int64
	// Error is the type (for Responses, the code) of the error that ended
	// the answer.
	Error string
	// Store is a Responses answer's store flag.
	Store bool
	// Events counts the events read: the chunks before [DONE] (chat), the
	// events but an error (Anthropic), every event (Responses, Gemini).
	Events int
}
