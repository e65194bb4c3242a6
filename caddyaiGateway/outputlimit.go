package caddyaigateway

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// A request's hold is an upper bound of what it can cost. Its output part
// comes from one canonical output limit, parsed once from the member the
// endpoint defines, clamped to the model's and the gateway's limits, and
// written into every upstream body (translated ones included), so the
// provider can never produce more than was reserved. Its input part is the
// body's byte count (a token is at least one byte) plus the framing a
// provider adds, or the model's context window when the body carries input
// the gateway cannot measure.

// defaultOutputReserve is the output limit of a metered request whose
// model's output limit the catalog does not know, when the request sets
// none. It is written upstream like any other limit.
const defaultOutputReserve = 4096

// framingTokens bounds what a provider adds to the input it bills beyond
// the body's bytes (which already outnumber the role markers of the
// messages they frame); toolFramingTokens what it adds when the request
// declares tools (Anthropic's tool-use system prompt is a few hundred).
const (
	framingTokens     = 16
	toolFramingTokens = 1024
)

// unknownContextWindow stands in for the context window of a model the
// catalog does not describe, when the input cannot be measured.
const unknownContextWindow = 2_000_000

// outputFields are the members that set the output limit of an endpoint,
// in the order the gateway (and the providers) prefer them.
func outputFields(kind usage.Endpoint) []string {
	switch kind {
	case usage.ChatCompletions:
		return []string{"max_completion_tokens", "max_tokens"}
	case usage.Responses:
		return []string{"max_output_tokens"}
	case usage.Messages:
		return []string{"max_tokens"}
	}
	return nil
}

// ownedMembers are the members the gateway reads from a request body.
var ownedMembers = [...]string{"model", "models", "stream", "stream_options", "max_tokens", "max_completion_tokens", "max_output_tokens", "n"}

// checkMembers refuses a body whose members the gateway and a provider
// could read differently: a member given twice (parsers disagree on which
// one wins), or a member the gateway reads spelled in another case
// (encoding/json would match it, a provider would not). It also refuses
// the main input member of the wrong JSON type (messages that are not an
// array…): no provider is called for a request every provider refuses.
//
// The same pass collects the members the gateway reads (their raw values
// alias body): no second decoding of the body.
func checkMembers(body []byte, kind usage.Endpoint) (f requestFields, err error) {
	var seenBuf [32][]byte
	seen := seenBuf[:0]
	var problem error
	var inputKind byte
	inputMember := ""
	switch kind {
	case usage.ChatCompletions, usage.Messages, usage.CountTokens:
		inputMember = "messages"
	case usage.Responses, usage.Embeddings:
		inputMember = "input"
	}
	err = jsonobj.EachMember(body, func(k, v []byte) bool {
		for _, prev := range seen {
			if bytes.Equal(prev, k) {
				problem = fmt.Errorf("member %q is given twice", k)
				return false
			}
		}
		seen = append(seen, k)
		for _, o := range ownedMembers {
			// Unicode folding can only lengthen a name (ſ for s, K for k).
			if len(k) >= len(o) && string(k) != o && bytes.EqualFold(k, []byte(o)) {
				problem = fmt.Errorf("member %q differs from %q only in case; use %q", k, o, o)
				return false
			}
		}
		if inputMember != "" && string(k) == inputMember {
			inputKind = v[0]
		}
		f.set(k, v)
		return true
	})
	switch {
	case err != nil:
	case problem != nil:
		err = problem
	case inputMember == "messages" && inputKind != '[':
		err = errors.New("'messages' must be an array of messages")
	case kind == usage.Responses && inputKind != 0 && inputKind != '"' && inputKind != '[':
		err = errors.New("'input' must be a string or an array of input items")
	case kind == usage.Embeddings && inputKind != '"' && inputKind != '[':
		err = errors.New("'input' must be a string or an array")
	}
	return f, err
}

// outputMembers are the raw output limit members of a body.
type outputMembers struct {
	maxTokens, maxCompletionTokens, maxOutputTokens []byte
}

func (m outputMembers) get(name string) []byte {
	switch name {
	case "max_tokens":
		return m.maxTokens
	case "max_completion_tokens":
		return m.maxCompletionTokens
	case "max_output_tokens":
		return m.maxOutputTokens
	}
	return nil
}

// parseOutputLimit reads the client's output limit from the endpoint's
// members: a positive integer (null counts as absent). Chat completions
// accept max_completion_tokens and max_tokens; when both are set they must
// agree.
func parseOutputLimit(req *request, raw outputMembers) error {
	for _, name := range outputFields(req.ep.kind) {
		v := bytes.TrimSpace(raw.get(name))
		if len(v) == 0 || string(v) == "null" {
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("'%s' must be a positive integer", name)
		}
		req.outputMembers++
		if req.maxTokensField == "" {
			req.maxTokens, req.maxTokensField = n, name
		} else if n != req.maxTokens {
			return fmt.Errorf("'%s' (%d) and '%s' (%d) disagree; set one of them", req.maxTokensField, req.maxTokens, name, n)
		}
	}
	return nil
}

// outputLimit is the canonical output limit of req on target t. For a
// metered request: the client's, else the model's output limit (else
// defaultOutputReserve), clamped to the model's output limit and the
// gateway config's maxOutputTokens. For a request that reserves nothing:
// the client's, capped by maxOutputTokens. 0 means no limit is written (an
// endpoint without output, or an unmetered request that set none).
func outputLimit(req *request, t registry.Target) int64 {
	if outputFields(req.ep.kind) == nil {
		return 0
	}
	gatewayMax := req.st.Gateway.MaxOutputTokens
	if !req.metered {
		// Nothing is reserved: the body passes as the client wrote it, but
		// for the gateway config's cap.
		if gatewayMax != nil && *gatewayMax > 0 && (req.maxTokens <= 0 || req.maxTokens > *gatewayMax) {
			return *gatewayMax
		}
		return req.maxTokens
	}
	var modelMax int64
	if t.Model != nil {
		modelMax = t.Model.MaxOutputTokens
	}
	limit := req.maxTokens
	if limit <= 0 {
		limit = modelMax
	}
	if limit <= 0 && req.metered {
		limit = defaultOutputReserve
	}
	if modelMax > 0 && limit > modelMax {
		limit = modelMax
	}
	if gatewayMax != nil && *gatewayMax > 0 && limit > *gatewayMax {
		limit = *gatewayMax
	}
	return limit
}

// translatedMaxTokens is the max_tokens an Anthropic target gets for a
// chat request: the canonical limit, else (a request that reserves
// nothing and set none) the model's output limit; 0 leaves the
// translator's default.
func translatedMaxTokens(req *request, t registry.Target) int64 {
	if l := outputLimit(req, t); l > 0 {
		return l
	}
	if t.Model != nil {
		return t.Model.MaxOutputTokens
	}
	return 0
}

// outputReserve is the output a hold covers on t: the output limit for
// each of the choices the request asks for (chat completions' n).
func outputReserve(req *request, t registry.Target) int64 {
	if outputFields(req.ep.kind) == nil {
		return 0
	}
	l := outputLimit(req, t)
	if l <= 0 {
		l = defaultOutputReserve
	}
	if req.choices > 1 {
		if l > math.MaxInt64/req.choices {
			return math.MaxInt64
		}
		l *= req.choices
	}
	return l
}

// maxChoices is the most choices (n) a chat completion may ask for, as at
// OpenAI.
const maxChoices = 128

// parseChoices reads chat completions' n: a positive integer up to
// maxChoices (null counts as absent).
func parseChoices(req *request, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || req.ep.kind != usage.ChatCompletions {
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 1 || n > maxChoices {
		return fmt.Errorf("'n' must be an integer from 1 to %d", maxChoices)
	}
	req.choices = n
	return nil
}

// withOutputLimit returns body (in the client's format) carrying exactly
// the canonical output limit for t in one member.
func withOutputLimit(body []byte, req *request, t registry.Target) ([]byte, error) {
	limit := outputLimit(req, t)
	if limit <= 0 || (limit == req.maxTokens && req.outputMembers == 1) {
		return body, nil // already exact
	}
	fields := outputFields(req.ep.kind)
	field := req.maxTokensField
	if field == "" {
		field = fields[0]
		if req.ep.kind == usage.ChatCompletions && t.Provider.ID != "openai" {
			field = "max_tokens" // OpenAI-compatible servers seldom know max_completion_tokens
		}
	}
	var err error
	for _, f := range fields {
		if f != field && req.outputMembers > 1 {
			if body, err = jsonobj.Delete(body, f); err != nil {
				return nil, err
			}
		}
	}
	return jsonobj.Set(body, field, []byte(strconv.FormatInt(limit, 10)))
}

// unmeasuredMarkers are members whose presence means input the gateway
// cannot count from the body's bytes: images, files, audio, state a
// provider keeps (earlier responses, conversations, containers) and
// server-side tools whose results are billed as input.
var unmeasuredMarkers = [...][]byte{
	[]byte(`"image`), []byte(`"input_image`), []byte(`"file`), []byte(`"input_file`), []byte(`"document`),
	[]byte(`"audio`), []byte(`"input_audio`), []byte(`"previous_response_id`), []byte(`"conversation`),
	[]byte(`"container`), []byte(`"mcp`), []byte(`"web_search`), []byte(`"web_fetch`), []byte(`"code_execution`),
	[]byte(`"computer`), []byte(`"file_search`), []byte(`"prompt"`),
}

// hasUnmeasuredInput reports whether body may carry input not counted by
// its bytes. A marker inside a JSON string is escaped (\"), so only a
// member name or string value can match; a false positive only makes the
// hold larger.
func hasUnmeasuredInput(body []byte) bool {
	for _, m := range unmeasuredMarkers {
		for off := 0; ; {
			i := bytes.Index(body[off:], m)
			if i < 0 {
				break
			}
			if j := off + i; j == 0 || body[j-1] != '\\' {
				return true
			}
			off += i + 1
		}
	}
	return false
}

// inputBound is the most input tokens req can be billed for on t, for an
// upstream body of bodyLen bytes.
func inputBound(req *request, t registry.Target, bodyLen int) int64 {
	n := money.SatAddTokens(int64(max(bodyLen, len(req.body))), framingTokens)
	if req.tools {
		n = money.SatAddTokens(n, toolFramingTokens)
	}
	if req.unmeasured {
		window := int64(unknownContextWindow)
		if t.Model != nil && t.Model.ContextWindow > 0 {
			window = t.Model.ContextWindow
		}
		n = max(n, window)
	}
	return n
}
