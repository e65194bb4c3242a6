package usage

// Endpoint identifies the API whose response is being metered; it decides
// how usage and stream events are read.
type Endpoint int

const (
	ChatCompletions Endpoint = iota // OpenAI /v1/chat/completions
	Responses                       // OpenAI /v1/responses
	Embeddings                      // OpenAI /v1/embeddings
	Messages                        // Anthropic /v1/messages
	CountTokens                     // Anthropic /v1/messages/count_tokens, Gemini :countTokens (never billable)
	GenerateContent                 // Gemini :generateContent and :streamGenerateContent
)

// String returns a short stable name for logs and metrics labels.
func (e Endpoint) String() string {
	switch e {
	case ChatCompletions:
		return "chat_completions"
	case Responses:
		return "responses"
	case Embeddings:
		return "embeddings"
	case Messages:
		return "messages"
	case CountTokens:
		return "count_tokens"
	case GenerateContent:
		return "generate_content"
	}
	return "unknown"
}
