package usage

// FromBody extracts usage and the stop reason from a complete
// (non-streaming) JSON response body. ok is false when the body carries no
// usage object or is not valid JSON: absent usage is not zero usage, and the
// caller must decide how to bill it. stopReason is returned whenever found.
// CountTokens bodies always yield zero usage with ok true: counting tokens
// is free.
func FromBody(ep Endpoint, body []byte) (u Usage, stopReason string, ok bool) {
	if ep == CountTokens {
		return Usage{}, "", true
	}
	body = trimSpace(body)
	switch ep {
	case ChatCompletions:
		return chatBody(body)
	case Responses:
		return responsesBody(body)
	case Embeddings:
		return embeddingsBody(body)
	case Messages:
		return messagesBody(body)
	}
	return Usage{}, "", false
}
