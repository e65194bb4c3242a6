package manage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// Patch is a management request body as a set of top-level fields. Create
// applies it to an empty record and PATCH to the stored one, so both share
// one set of rules: an omitted field keeps its value, `null` clears it,
// and a field nobody took is an error naming it.
type Patch map[string]json.RawMessage

// ParsePatch reads a JSON object body. An empty body is an empty patch.
func ParsePatch(body []byte) (Patch, error) {
	p := Patch{}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	// Strict first: valid UTF-8, an object (not null), no member twice at
	// any depth (the last would silently win).
	if err := jsonobj.CheckStrict(body); err != nil {
		return nil, &InvalidError{Field: "body", Reason: "must be a JSON object: " + err.Error()}
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, &InvalidError{Field: "body", Reason: "must be a JSON object: " + err.Error()}
	}
	return p, nil
}

// Has reports whether the patch sets field (to a value or null).
func (p Patch) Has(field string) bool { _, ok := p[field]; return ok }

// Field applies field to dst: absent keeps dst, null resets it to its zero
// value, anything else is decoded strictly (unknown nested fields are
// errors too).
func Field[T any](p Patch, field string, dst *T) error {
	raw, ok := p[field]
	if !ok {
		return nil
	}
	delete(p, field)
	if string(bytes.TrimSpace(raw)) == "null" {
		var zero T
		*dst = zero
		return nil
	}
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return &InvalidError{Field: field, Reason: decodeReason(err)}
	}
	*dst = v
	return nil
}

// Done reports the fields no one consumed.
func (p Patch) Done() error {
	if len(p) == 0 {
		return nil
	}
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	return &InvalidError{Field: names[0], Reason: "unknown field"}
}

func decodeReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s: expected %s", te.Field, te.Type)
		}
		return "expected " + te.Type.String()
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return strings.TrimPrefix(msg, "json: ")
}
