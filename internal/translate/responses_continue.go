package translate

import (
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// ContinueResponses returns the Responses request body that continues an
// answer of which delivered reached the client, as ContinueChat does for
// chat (the Responses API has no prefill either): the original input (a
// string input as a user message), an assistant message with delivered,
// and ContinueInstruction as a user message. Other members are kept as
// they are. An empty delivered returns body unchanged. ResponsesToChat
// turns the result into ContinueChat's form, so ChatToMessages makes it a
// prefill again.
func ContinueResponses(body []byte, delivered string) ([]byte, error) {
	if delivered == "" {
		return body, nil
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("continuing responses request: request body is not valid JSON")
	}
	raw, ok, err := jsonobj.Get(body, "input")
	if err != nil {
		return nil, fmt.Errorf("continuing responses request: %w", err)
	}
	var items []json.RawMessage
	if s, isString := stringValue(raw); isString {
		u, _ := marshal(obj{{"role", "user"}, {"content", s}})
		items = append(items, u)
	} else if !ok || json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("continuing responses request: input must be a string or an array of items")
	}
	a, _ := marshal(obj{{"role", "assistant"}, {"content", delivered}})
	u, _ := marshal(obj{{"role", "user"}, {"content", ContinueInstruction}})
	list, err := marshal(append(items, a, u))
	if err != nil {
		return nil, fmt.Errorf("continuing responses request: %w", err)
	}
	out, err := jsonobj.Set(body, "input", list)
	if err != nil {
		return nil, fmt.Errorf("continuing responses request: %w", err)
	}
	return out, nil
}
