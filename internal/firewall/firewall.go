// Package firewall checks what goes to a model and what comes back against
// an operator's policy (DESIGN §10): the prompt, the tools a request
// declares and the tool results it sends back (request phase), and each
// tool call the model returns (response phase), in JSON answers and inside
// streams.
//
// It has no Caddy types. A PolicyConfig (the JSON of /ai/firewall-policies
// and of the Caddyfile's firewall_policy) is compiled once into a Policy;
// a per-request Env carries the format-neutral view of the request (a
// Request, filled by a wire-format adapter such as OpenAIRequest), the
// access key and the Judge for decision rules. Policy.CheckRequest and
// Policy.CheckCall return a Verdict with the Decisions to record. The
// adapters (openai.go, anthropic.go, gemini.go, responses.go) read bodies
// and rewrite answers; the stream gates (OpenAIGate, AnthropicGate,
// GeminiGate, ResponsesGate) hold a streamed tool call until
// it is whole and release it or replace it, passing text through at once.
//
// On the gateway's request path a Guard (guard.go) holds one request's
// Env and decisions and picks the adapter or gate of the wire format the
// gateway names; JudgeByChat (chatjudge.go) answers decision rules with a
// chat completion the gateway serves to itself.
//
// # Matching
//
// Rules are evaluated per subject: each declared tool, each tool result
// sent back (as the call it answers: the name and arguments of the
// assistant's tool call with that id) and the request as a whole in the
// request phase; each returned tool call in the response phase. For every
// subject the first rule that matches decides: allow stops, block blocks
// (enforce) or is only recorded (dryRun). The request is refused when any
// of its subjects is blocked.
//
// A rule about a call (toolName, regex on name or arguments, CEL reading
// `call`) is checked against the calls only; a rule about the request as a
// whole (regex on text, CEL not reading `call`, a request-phase decision)
// is checked once per request and its result holds for every subject of
// that request, so "allow key.metadata.tier == 'admin'" placed first lets
// an admin's request through whatever tools it declares. Declared tools
// have no arguments: regex rules on arguments skip them and call.arguments
// reads as an empty map.
//
// toolName globs (see compileGlob): `*` any run of characters (empty
// included), `?` exactly one character, `[abc]`, `[a-z]`, `[!a-z]` or
// `[^a-z]` one character of (or not of) a class, `\` takes the next
// character literally; everything else matches itself, case-sensitively,
// and the glob must match the whole name: `mcp__payments__*`, `delete_*`,
// `*_file`, `get_[a-z]*`.
//
// regex patterns are RE2 (Go's regexp), unanchored: `delete` matches
// "soft_delete"; use ^ and $ to anchor, (?i) for case-insensitive.
//
// cel expressions (see celenv.go) evaluate to a bool over call, req and
// key, compiled and type-checked when the policy is.
//
// When a rule cannot be evaluated (a CEL runtime error such as a missing
// map key or arguments that are not a JSON object, a Judge that fails or
// times out) onError decides: block (the default, fail closed) blocks as
// if a block rule had matched; continue records the error and goes on with
// the next rule.
package firewall

import (
	"encoding/json"
	"time"
)

// Mode says whether block decisions are enforced.
type Mode string

const (
	// Enforce refuses blocked requests and removes blocked tool calls.
	Enforce Mode = "enforce"
	// DryRun only records what enforce would block.
	DryRun Mode = "dryRun"
)

// OnError is what happens when a rule cannot be evaluated.
type OnError string

const (
	// OnErrorBlock blocks, as a matching block rule would (fail closed).
	OnErrorBlock OnError = "block"
	// OnErrorContinue skips the rule and goes on with the next.
	OnErrorContinue OnError = "continue"
)

// Phase is when a rule is checked.
type Phase string

const (
	// PhaseRequest: before the request reaches a provider (the prompt
	// text, the declared tools, the tool results sent back).
	PhaseRequest Phase = "request"
	// PhaseResponse: on each tool call the model returns.
	PhaseResponse Phase = "response"
)

// Action is what a matching rule does. In a Decision it is what the
// firewall did: Continue records a rule that could not be evaluated and
// was skipped (onError continue).
type Action string

const (
	Block    Action = "block"
	Allow    Action = "allow"
	Continue Action = "continue"
)

// RegexTarget is what a regex rule reads.
type RegexTarget string

const (
	OnName      RegexTarget = "name"      // the tool name
	OnArguments RegexTarget = "arguments" // the call's arguments, as JSON text
	OnText      RegexTarget = "text"      // each piece of prompt text (request phase)
)

// Limits on a policy, so one cannot make every request slow.
const (
	MaxRules          = 100
	MaxPatternLength  = 4096 // a glob, an RE2 pattern or a CEL expression
	MaxMessageLength  = 1024
	MaxInstruction    = 4096
	DefaultJudgeLimit = 10 * time.Second // a decision rule's timeout when it sets none
	MaxJudgeTimeout   = 5 * time.Minute
)

// PolicyConfig is a firewall policy as the management API and the
// Caddyfile write it.
type PolicyConfig struct {
	// Name identifies the policy (firewallPolicyId, firewall_policy NAME).
	// Required; unique among the ai app's policies.
	Name string `json:"name"`
	// Mode: "enforce" (the default) or "dryRun" (decisions are only
	// recorded).
	Mode Mode `json:"mode,omitempty"`
	// OnError: "block" (the default) or "continue", when a rule cannot
	// be evaluated.
	OnError OnError `json:"onError,omitempty"`
	// Rules are checked in order; for each subject the first that
	// matches decides, and a subject no rule matches is allowed. At most
	// 100.
	Rules []RuleConfig `json:"rules"`
}

// RuleConfig is one rule: a phase, an action, a message and exactly one
// matcher (ToolName, Regex, CEL or Decision).
type RuleConfig struct {
	// Name optionally names the rule in decisions and logs (at most 1024
	// bytes).
	Name string `json:"name,omitempty"`
	// Phase: "request" or "response"; required.
	Phase Phase `json:"phase"`
	// Action: "block" (the default) or "allow".
	Action Action `json:"action,omitempty"`
	// Message says why, to the client (a blocked request's error, the
	// text that replaces a blocked call) and in the records. Optional; at
	// most 1024 characters.
	Message string `json:"message,omitempty"`

	// ToolName is a glob on the whole tool name, case-sensitive: `*` any
	// run of characters, `?` one character, `[a-z]`/`[!a-z]` a class,
	// `\` escapes (at most 4096 bytes).
	ToolName string `json:"toolName,omitempty"`
	// Regex is an RE2 pattern on the name, the arguments or the text.
	Regex *RegexMatcher `json:"regex,omitempty"`
	// CEL is a boolean expression over call, req and key, type-checked
	// when the policy compiles (at most 4096 bytes).
	CEL string `json:"cel,omitempty"`
	// Decision asks a model whether the rule's instruction holds.
	Decision *DecisionMatcher `json:"decision,omitempty"`
}

// RegexMatcher matches an RE2 pattern, unanchored.
type RegexMatcher struct {
	// On: "name" (the tool name), "arguments" (a call's arguments as
	// JSON text) or "text" (each piece of prompt text; request phase
	// only). Required.
	On RegexTarget `json:"on"`
	// Pattern is RE2 syntax; required, at most 4096 bytes.
	Pattern string `json:"pattern"`
}

// DecisionMatcher is a rule judged by a model: it matches when the model
// says the instruction holds for the request (request phase) or the call
// (response phase).
type DecisionMatcher struct {
	// Model is the model that judges, in the request's model forms
	// ("gpt-4o-mini", "openai:gpt-4o-mini"); the gateway routes the
	// question through itself. Required.
	Model string `json:"model"`
	// Instruction is the condition in plain language, e.g. "the call
	// deletes or overwrites data". Required; at most 4096 characters.
	Instruction string `json:"instruction"`
	// Timeout bounds the model's answer: "10s" or a number of seconds;
	// default 10s, at most 5m. After it, onError applies.
	Timeout Duration `json:"timeout,omitempty"`
}

// Duration is a duration written as a Go duration string ("10s"), read
// from that or a number of seconds (also the management API's durations:
// manage.Duration).
type Duration time.Duration

// MarshalJSON writes "10s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "10s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if json.Unmarshal(b, &secs) != nil {
			return err
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Request is the format-neutral view of a client's request that the
// request phase checks and CEL reads as req. A wire-format adapter fills
// it (OpenAIRequest, AnthropicRequest).
type Request struct {
	// Model is the model the client asked for; Endpoint the endpoint's
	// name ("chat.completions", "messages", "responses", ...).
	Model, Endpoint string
	// Text is the prompt text the model reads from the client: system and
	// developer instructions, user messages and tool results, one piece
	// per text part. The assistant's own earlier text is left out.
	Text []string
	// Tools are the names of the tools the request declares.
	Tools []string
	// ToolResults are the calls whose results the request sends back:
	// the id of the result, the name and arguments of the assistant's
	// call it answers (empty when the history does not have it).
	ToolResults []Call
}

// Call is one tool call: returned by the model (response phase) or
// answered by a tool result (request phase).
type Call struct {
	ID   string
	Name string
	// Arguments are the call's arguments as JSON text, as the model
	// wrote them ("" reads as {}).
	Arguments string
}

// Key is the access key a request came with, as CEL reads it.
type Key struct {
	ID, Name string
	// Metadata is key.metadata. When nil it is parsed from RawMetadata
	// (selection.MetadataMap: a JSON object's members) on first use.
	Metadata    map[string]string
	RawMetadata string
}
