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
	case GenerateContent:
		return geminiBody(body)
	}
	return Usage{}, "", false
}

// outputTextKeys are the members whose string values are generated text
// in OpenAI and Anthropic answers (message content, refusals, reasoning,
// tool-call arguments).
var outputTextKeys = map[string]bool{
	"content": true, "text": true, "refusal": true, "arguments": true,
	"reasoning_content": true, "reasoning": true, "thinking": true, "partial_json": true,
}

// OutputText returns how many bytes of generated text a complete answer
// body carries: the string values of outputTextKeys and the tool inputs
// (Anthropic's tool_use input objects), not the JSON envelope around them.
// It is what an output estimate counts when the provider reports no usage.
func OutputText(body []byte) int {
	return outputText(trimSpace(body), 0)
}

func outputText(v []byte, depth int) int {
	if depth > 64 || len(v) == 0 {
		return 0
	}
	n := 0
	switch v[0] {
	case '{':
		o := newObject(v)
		for {
			key, val, ok := o.next()
			if !ok {
				break
			}
			k := string(key)
			switch {
			case k == "usage":
			case outputTextKeys[k] && len(val) > 0 && val[0] == '"':
				l, _ := strLen(val)
				n += l
			case (k == "input" || k == "args") && len(val) > 0 && val[0] == '{': // tool_use input, functionCall args
				n += len(val)
			default:
				n += outputText(val, depth+1)
			}
		}
	case '[':
		a := newArray(v)
		for {
			val, ok := a.next()
			if !ok {
				break
			}
			n += outputText(val, depth+1)
		}
	}
	return n
}
