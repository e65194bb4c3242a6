package translate

import (
	"bytes"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Format is a wire format: what a client speaks or a provider answers in.
type Format uint8

const (
	OpenAI    Format = iota // OpenAI chat completions (and compatible servers)
	Anthropic               // Anthropic messages
	Gemini                  // Gemini generateContent
	Responses               // OpenAI Responses API
)

// Stream translates one streaming response, event by event, into the
// client's format. A Stream is not safe for concurrent use.
//
// Event names are "" for OpenAI chunks (data-only events, "[DONE]" last);
// Anthropic events are named after their type. The data passed to emit is
// only valid until emit returns.
type Stream interface {
	// Event translates one upstream event (as sse.Event's Name and Data;
	// data is only read during the call) into zero or more client events.
	// It returns emit's first error, or an error for data it cannot read.
	Event(name string, data []byte, emit func(name string, data []byte) error) error
	// Close emits what the client still needs for a well-formed stream
	// when the upstream ended without its closing events (the open content
	// block's stop, the stop reason, usage, message_stop or "[DONE]"); it
	// emits nothing after a complete stream or an error event.
	Close(emit func(name string, data []byte) error) error
	// Text returns the answer text delivered so far, thinking and tool
	// arguments excluded, across Resume: what ContinueChat and
	// ContinueMessages continue after.
	Text() string
	// Resume makes the Stream take the events of another upstream, in
	// format upstream, that continues the same answer (see ContinueChat):
	// its opening events are absorbed, text it writes continues the open
	// text block, tool calls and content blocks keep counting, so the
	// client sees one message. Output tokens add up across upstreams; input
	// tokens are the last upstream's.
	Resume(upstream Format)
}

// NewStream returns a Stream reading upstream's events and writing the
// client's. When both formats are the same, events pass through
// unchanged (only observed, for Text and for Resume), so nothing of the
// provider's stream is lost until a Resume. model names the model in
// translated events; empty keeps the upstream's. includeUsage adds the
// final usage chunk to OpenAI streams the Stream writes (a passing-through
// OpenAI stream keeps its own).
func NewStream(upstream, client Format, model string, includeUsage bool) Stream {
	s := &stream{passthrough: upstream == client}
	s.p = newParser(upstream)
	switch client {
	case Anthropic:
		s.w = &messagesWriter{model: model, openIdx: -1}
	case Gemini:
		s.w = &geminiWriter{model: model}
	case Responses:
		s.w = &responsesWriter{model: model, echo: newResponseEcho(nil)}
	default:
		s.w = &chatWriter{model: model, includeUsage: includeUsage}
	}
	s.w.setObserve(s.passthrough)
	return s
}

// NewMessagesToChatStream returns a Stream translating an Anthropic stream
// into OpenAI chunks: the role first, then content, reasoning_content and
// tool_calls deltas (index, id, type and name first, then argument
// fragments), the finish_reason chunk, the usage chunk (choices: [])
// when includeUsage, and "[DONE]".
func NewMessagesToChatStream(model string, includeUsage bool) Stream {
	return NewStream(Anthropic, OpenAI, model, includeUsage)
}

// NewChatToMessagesStream returns a Stream translating OpenAI chunks into
// Anthropic events: message_start, content_block_start/delta/stop for
// text, thinking and tool_use (input_json_delta), message_delta with the
// stop reason and usage, and message_stop. OpenAI reports usage only at
// the end (with stream_options.include_usage), so message_start carries
// zero input tokens and message_delta the real numbers, input included
// (as Anthropic's own message_delta does).
func NewChatToMessagesStream(model string) Stream {
	return NewStream(OpenAI, Anthropic, model, false)
}

// IsErrorEvent reports whether an upstream event reports an error (an
// Anthropic "error" event such as overloaded_error, an OpenAI or Gemini
// chunk with an "error" member). Event writes such an event to the client as an error
// event and ends the answer; a caller that would rather fail over or
// continue elsewhere checks first.
func IsErrorEvent(upstream Format, name string, data []byte) bool {
	if upstream == Responses {
		return IsResponsesErrorEvent(name, data)
	}
	if upstream == Anthropic && name == "error" {
		return true
	}
	if !bytes.Contains(data, []byte(`"error"`)) {
		return false
	}
	if upstream == Anthropic {
		t, ok, _ := jsonobj.Get(bytes.TrimSpace(data), "type")
		return ok && string(t) == `"error"`
	}
	e, ok, _ := jsonobj.Get(bytes.TrimSpace(data), "error")
	return ok && !isNull(e)
}

func newParser(f Format) parser {
	switch f {
	case Anthropic:
		return &messagesParser{}
	case Gemini:
		return &geminiParser{}
	case Responses:
		return &responsesParser{}
	}
	return &chatParser{}
}

type stream struct {
	p           parser
	w           writer
	passthrough bool
}

func (s *stream) Event(name string, data []byte, emit func(string, []byte) error) error {
	s.w.setEmit(emit)
	defer s.w.setEmit(nil)
	err := s.p.parse(name, data, s.w)
	if s.passthrough {
		// The client gets the provider's own event, even one the
		// parser could not read.
		return emit(name, data)
	}
	if err != nil {
		return err
	}
	return s.w.err()
}

func (s *stream) Close(emit func(string, []byte) error) error {
	s.w.setEmit(emit)
	defer s.w.setEmit(nil)
	s.passthrough = false
	s.w.setObserve(false)
	s.w.end()
	return s.w.err()
}

func (s *stream) Text() string { return s.w.text() }

func (s *stream) Resume(upstream Format) {
	s.p = newParser(upstream)
	s.passthrough = false
	s.w.resume()
}

// Block kinds, as the parsers report them.
type blockKind uint8

const (
	kindText blockKind = iota
	kindThinking
	kindTool
	kindSignature // a thinking block's signature (deltas only)
	kindOther     // a block the translation leaves out (server tools, redacted thinking)
)

// Keys for the blocks of OpenAI deltas, which have no index; tool calls
// use their own index (0 and up).
const (
	keyText     = -1
	keyThinking = -2
)

// parser reads one upstream format and reports to a writer.
type parser interface {
	parse(name string, data []byte, w writer) error
}

// writer writes the client's format. Blocks are identified by the
// upstream's key (an Anthropic block index, or a tool-call index); a
// writer opens a block implicitly for a delta to an unknown key. In
// observe mode (a stream passing through) it follows the state without
// emitting anything.
type writer interface {
	setEmit(emit func(string, []byte) error)
	err() error
	setObserve(on bool)
	// begin: the upstream's message started (id, model and created as it
	// says; created 0 when it does not).
	begin(id, model string, created int64, u usage.Usage)
	open(key int, kind blockKind, id, name string)
	delta(key int, kind blockKind, s string)
	close(key int)
	// finish records the stop reason, in Anthropic's words, and the stop
	// sequence that caused it if known.
	finish(stop, sequence string)
	usage(u usage.Usage)
	end()
	// fail writes an error event: typ is Anthropic's error type.
	fail(typ, msg string)
	resume()
	text() string
}

// emitter holds what both writers share: the emit function and its first
// error, the observe flag, the text so far and the usage across upstreams.
type emitter struct {
	emitFn  func(string, []byte) error
	emitErr error
	observe bool
	buf     []byte
	answer  []byte // the text delivered so far

	u, uBase usage.Usage // this upstream's usage; what earlier upstreams reported
}

func (e *emitter) setEmit(emit func(string, []byte) error) { e.emitFn = emit }
func (e *emitter) err() error                              { err := e.emitErr; e.emitErr = nil; return err }
func (e *emitter) text() string                            { return string(e.answer) }
func (e *emitter) setObserve(on bool)                      { e.observe = on }

// emit writes one event unless observing or an emit already failed.
func (e *emitter) emit(name string, data []byte) {
	if e.observe || e.emitErr != nil || e.emitFn == nil {
		return
	}
	e.emitErr = e.emitFn(name, data)
}

// total returns the usage to report: this upstream's input, all output.
func (e *emitter) total() usage.Usage {
	u := e.u
	u.OutputTokens += e.uBase.OutputTokens
	u.ReasoningTokens += e.uBase.ReasoningTokens
	return u
}

// nextUpstream folds this upstream's output into the base.
func (e *emitter) nextUpstream() {
	e.uBase.OutputTokens += e.u.OutputTokens
	e.uBase.ReasoningTokens += e.u.ReasoningTokens
	e.u = usage.Usage{}
	e.observe = false
}
