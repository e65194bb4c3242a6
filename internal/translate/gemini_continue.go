package translate

import (
	"encoding/json"
	"fmt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// ContinueGemini returns the generateContent request body that continues
// an answer of which delivered reached the client: the delivered text as a
// model turn, then a user turn with ContinueInstruction (as ContinueChat
// does; Gemini has no prefill). body is the client's original request and
// delivered all the answer's text so far (Stream.Text()).
func ContinueGemini(body []byte, delivered string) ([]byte, error) {
	if delivered == "" {
		return body, nil
	}
	raw, _, err := jsonobj.Get(body, "contents")
	if err != nil {
		return nil, fmt.Errorf("continuing generateContent request: %w", err)
	}
	var contents []json.RawMessage
	if err := json.Unmarshal(raw, &contents); err != nil {
		return nil, fmt.Errorf("continuing generateContent request: contents: %w", err)
	}
	m, _ := marshal(obj{{"role", "model"}, {"parts", []obj{{{"text", delivered}}}}})
	u, _ := marshal(obj{{"role", "user"}, {"parts", []obj{{{"text", ContinueInstruction}}}}})
	list, _ := marshal(append(contents, m, u))
	out, err := jsonobj.Set(body, "contents", list)
	if err != nil {
		return nil, fmt.Errorf("continuing generateContent request: %w", err)
	}
	return out, nil
}
