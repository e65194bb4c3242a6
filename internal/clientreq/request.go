package clientreq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Request is what the gateway needs to know of a client request; the body
// itself is forwarded as sent, apart from the members the gateway owns.
type Request struct {
	Endpoint *Endpoint
	Body     []byte
	// Model and Fallbacks as the client named them.
	Model     string
	Fallbacks []string
	Stream    bool
	// ClientUsage: the client asked for usage in its stream (OpenAI
	// stream_options.include_usage); when false the usage chunk the
	// gateway asked for is hidden from it.
	ClientUsage bool
	// UpstreamBody is Body with `models` removed and stream usage asked
	// for; only `model` (and a capped output limit) change per target.
	UpstreamBody []byte
	// ClientBody is Body with `models` removed: what translation and
	// continuation start from.
	ClientBody []byte
	// MaxTokens is the output limit the client asked for (0: none),
	// MaxTokensField the member it used and OutputMembers how many output
	// limit members the body has (chat completions accept two).
	MaxTokens      int64
	MaxTokensField string
	OutputMembers  int
	// Choices is chat completions' n (0: not set): the output limit holds
	// for each choice.
	Choices int64
	// InputEstimate is the estimated input tokens (≈ body bytes / 4).
	InputEstimate int64
	// Unmeasured: the body carries input its bytes do not bound (images,
	// files, provider-kept state); a hold then covers the context window.
	Unmeasured bool
	// Tools: the body declares tools (the provider adds a system prompt
	// for them).
	Tools bool
	// Metered: the request draws on credits, so every upstream body
	// carries an output limit.
	Metered bool
	// MaxOutputTokens is the gateway config's cap on the output limit
	// (nil: none); the caller sets it from the configuration in force.
	MaxOutputTokens *int64
	// Query is the request's raw query string without any access key
	// (Gemini's `key`); the caller sets it. It goes upstream to providers
	// of the client's format.
	Query string
}

// fields are the raw values of the members the gateway reads, collected
// by checkMembers (which has made sure each appears once, spelled as
// here); absent members are nil.
type fields struct {
	model, models, stream, streamOptions            []byte
	maxTokens, maxCompletionTokens, maxOutputTokens []byte
	n                                               []byte
	generationConfig                                []byte // Gemini's
}

func (f *fields) set(key, value []byte) {
	switch string(key) {
	case "model":
		f.model = value
	case "models":
		f.models = value
	case "stream":
		f.stream = value
	case "stream_options":
		f.streamOptions = value
	case "max_tokens":
		f.maxTokens = value
	case "max_completion_tokens":
		f.maxCompletionTokens = value
	case "max_output_tokens":
		f.maxOutputTokens = value
	case "n":
		f.n = value
	case "generationConfig":
		f.generationConfig = value
	}
}

func (f *fields) output(name string) []byte {
	switch name {
	case "max_tokens":
		return f.maxTokens
	case "max_completion_tokens":
		return f.maxCompletionTokens
	case "max_output_tokens", "maxOutputTokens":
		return f.maxOutputTokens
	}
	return nil
}

// Parse checks a request body for endpoint ep and prepares what every
// attempt forwards. metered says the request draws on credits (what bounds
// its hold is then read too). Every error is the client's (400
// invalid_request) and says what is wrong.
func Parse(ep *Endpoint, body []byte, metered bool) (*Request, error) {
	return ParseFor(ep, "", body, metered)
}

// ParseFor is Parse for an endpoint whose path names the model (Gemini's
// models/{model}:generateContent): model is the request's model, and the
// body's own "model", if any, is not read.
func ParseFor(ep *Endpoint, model string, body []byte, metered bool) (*Request, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("request body is not valid UTF-8")
	}
	if !json.Valid(body) {
		var v any // only to say where
		return nil, errors.New("request body is not valid JSON: " + json.Unmarshal(body, &v).Error())
	}
	f, err := checkMembers(body, ep)
	if err != nil {
		return nil, errors.New("invalid request body: " + err.Error())
	}
	gemini := ep.Format == catalog.Gemini
	if gemini {
		// Gemini's body has no model, stream or output limit of its own
		// at the top: the path names the first two, generationConfig the
		// last.
		f.model, f.stream = nil, nil
		if f.maxOutputTokens, f.n, err = geminiGeneration(f.generationConfig); err != nil {
			return nil, errors.New("invalid request body: " + err.Error())
		}
	}
	req := &Request{Endpoint: ep, Body: body, InputEstimate: usage.EstimateTokens(len(body)), Metered: metered}
	if metered { // what bounds a hold; nothing to bound otherwise
		req.Unmeasured = hasUnmeasuredInput(body)
		req.Tools = bytes.Contains(body, []byte(`"tools"`)) || bytes.Contains(body, []byte(`"functions"`))
	}
	req.Model = model
	req.Stream = ep.AlwaysStreams
	if len(f.stream) > 0 && string(f.stream) != "null" {
		if err := json.Unmarshal(f.stream, &req.Stream); err != nil {
			return nil, errors.New("'stream' must be a boolean")
		}
		req.Stream = req.Stream && ep.Streams
	}
	if err := req.parseChoices(f.n, gemini); err != nil {
		return nil, err
	}
	if err := req.parseOutputLimit(&f); err != nil {
		return nil, err
	}
	if len(f.model) > 0 && string(f.model) != "null" && !gemini {
		if m, ok := plainString(f.model); ok {
			req.Model = m
		} else if err := json.Unmarshal(f.model, &req.Model); err != nil {
			return nil, errors.New("'model' must be a string")
		}
	}
	if req.Model == "" && (ep.Kind == usage.CountTokens || ep.Kind == usage.Embeddings) {
		return nil, errors.New("'model' is required")
	}
	up := body
	if len(f.models) > 0 {
		if string(f.models) != "null" {
			if err := json.Unmarshal(f.models, &req.Fallbacks); err != nil {
				return nil, errors.New("'models' must be an array of model names")
			}
		}
		if up, err = jsonobj.Delete(up, "models"); err != nil {
			return nil, err
		}
	}
	req.ClientBody = up
	if req.Stream && ep.Kind == usage.ChatCompletions {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if len(f.streamOptions) > 0 && string(f.streamOptions) != "null" {
			if err := json.Unmarshal(f.streamOptions, &so); err != nil {
				return nil, errors.New("'stream_options' must be an object with a boolean include_usage")
			}
		}
		req.ClientUsage = so.IncludeUsage
		if !req.ClientUsage {
			opts := []byte(`{"include_usage":true}`)
			if raw, ok, _ := jsonobj.Get(up, "stream_options"); ok && len(raw) > 0 && raw[0] == '{' {
				if merged, err := jsonobj.Set(raw, "include_usage", []byte("true")); err == nil {
					opts = merged
				}
			}
			if up, err = jsonobj.Set(up, "stream_options", opts); err != nil {
				return nil, err
			}
		}
	}
	req.UpstreamBody = up
	return req, nil
}

// ownedMembers are the members the gateway reads from a request body.
var ownedMembers = [...]string{"model", "models", "stream", "stream_options", "max_tokens", "max_completion_tokens", "max_output_tokens", "n", "generationConfig"}

// checkMembers refuses a body whose members the gateway and a provider
// could read differently: a member given twice (parsers disagree on which
// one wins), or a member the gateway reads spelled in another case
// (encoding/json would match it, a provider would not). It also refuses
// the main input member of the wrong JSON type (messages that are not an
// array…): no provider is called for a request every provider refuses.
//
// The same pass collects the members the gateway reads (their raw values
// alias body): no second decoding of the body.
func checkMembers(body []byte, ep *Endpoint) (f fields, err error) {
	kind := ep.Kind
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
	case usage.GenerateContent:
		inputMember = "contents"
	}
	if ep.Format == catalog.Gemini && kind == usage.CountTokens {
		inputMember = "" // contents, or a whole generateContentRequest
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
			if o == "generationConfig" && ep.Format != catalog.Gemini {
				continue
			}
			// Unicode folding can only lengthen a name (ſ for s, K for k).
			if len(k) >= len(o) && string(k) != o && bytes.EqualFold(k, []byte(o)) {
				problem = fmt.Errorf("member %q differs from %q only in case; use %q", k, o, o)
				return false
			}
		}
		if inputMember != "" && string(k) == inputMember {
			inputKind = v[0]
		}
		if ep.Format == catalog.Gemini && string(k) == "generation_config" {
			problem = errors.New(`member "generation_config" is the snake_case spelling of "generationConfig"; use "generationConfig"`)
			return false
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
	case inputMember == "contents" && inputKind != '[':
		err = errors.New("'contents' must be an array of contents")
	case kind == usage.Responses && inputKind != 0 && inputKind != '"' && inputKind != '[':
		err = errors.New("'input' must be a string or an array of input items")
	case kind == usage.Embeddings && inputKind != '"' && inputKind != '[':
		err = errors.New("'input' must be a string or an array")
	}
	return f, err
}

// parseOutputLimit reads the client's output limit from the endpoint's
// members: a positive integer (null counts as absent). Chat completions
// accept max_completion_tokens and max_tokens; when both are set they must
// agree.
func (req *Request) parseOutputLimit(f *fields) error {
	for _, name := range req.Endpoint.OutputFields() {
		v := bytes.TrimSpace(f.output(name))
		if len(v) == 0 || string(v) == "null" {
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("'%s' must be a positive integer", name)
		}
		req.OutputMembers++
		if req.MaxTokensField == "" {
			req.MaxTokens, req.MaxTokensField = n, name
		} else if n != req.MaxTokens {
			return fmt.Errorf("'%s' (%d) and '%s' (%d) disagree; set one of them", req.MaxTokensField, req.MaxTokens, name, n)
		}
	}
	return nil
}

// maxChoices is the most choices (n) a chat completion may ask for, as at
// OpenAI.
const maxChoices = 128

// parseChoices reads chat completions' n (Gemini's candidateCount): a
// positive integer up to maxChoices (null counts as absent).
func (req *Request) parseChoices(raw []byte, gemini bool) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || (req.Endpoint.Kind != usage.ChatCompletions && !gemini) {
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 1 || n > maxChoices {
		if gemini {
			return fmt.Errorf("'generationConfig.candidateCount' must be an integer from 1 to %d", maxChoices)
		}
		return fmt.Errorf("'n' must be an integer from 1 to %d", maxChoices)
	}
	req.Choices = n
	return nil
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
	// Gemini: inline media and files, cached content, server-side tools.
	[]byte(`"inlineData`), []byte(`"inline_data`), []byte(`"cachedContent`), []byte(`"cached_content`),
	[]byte(`"googleSearch`), []byte(`"google_search`), []byte(`"codeExecution`), []byte(`"code_execution`), []byte(`"urlContext`),
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

// plainString decodes a JSON string without escapes (every model name in
// practice) as encoding/json would, without its decoder; ok is false for
// anything else.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	for _, c := range s {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			return "", false
		}
	}
	return string(s), true
}

// geminiGeneration reads the members of Gemini's generationConfig the
// gateway owns: maxOutputTokens (the output limit) and candidateCount
// (as chat's n), each at most once and spelled in camelCase (Gemini also
// reads snake_case, and would read a second spelling the gateway did not).
func geminiGeneration(raw []byte) (maxOutput, candidates []byte, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil
	}
	if raw[0] != '{' {
		return nil, nil, errors.New("'generationConfig' must be an object")
	}
	var seen [][]byte
	var problem error
	err = jsonobj.EachMember(raw, func(k, v []byte) bool {
		for _, prev := range seen {
			if bytes.Equal(prev, k) {
				problem = fmt.Errorf("member generationConfig.%s is given twice", k)
				return false
			}
		}
		seen = append(seen, k)
		switch string(k) {
		case "maxOutputTokens":
			maxOutput = v
		case "candidateCount":
			candidates = v
		case "max_output_tokens", "candidate_count":
			problem = fmt.Errorf("member generationConfig.%s is a snake_case spelling; use camelCase", k)
			return false
		}
		return true
	})
	if err == nil {
		err = problem
	}
	return maxOutput, candidates, err
}
