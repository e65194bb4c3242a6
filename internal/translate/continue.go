package translate

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// Continuation: a stream stalled after some text reached the client, and
// another provider is asked to finish the answer. Build the request in the
// client's format from the original body and Stream.Text(), then translate
// it if the next provider speaks the other format: MessagesToChat turns a
// prefill into the OpenAI form below, and ChatToMessages turns that form
// back into a prefill. Only text continues; a stream that stalled inside a
// tool call must start over.
//
// Anthropic continues a prefill: a final assistant message is the start of
// the answer, and the model writes what follows. OpenAI chat has no
// prefill (a final assistant message is taken as a finished turn, and
// compatible servers that offer one each spell it differently), so the
// partial answer goes in as an assistant message followed by
// ContinueInstruction. That works on every OpenAI-format server; the model
// may still, rarely, repeat a few words.

// ContinueInstruction is the user message that asks an OpenAI-format model
// to continue the partial answer before it.
const ContinueInstruction = "Your previous reply was cut off. Continue it exactly where it stopped, without repeating anything and without any preamble."

// ContinueChat returns the OpenAI chat request body that continues an
// answer of which delivered reached the client: the original messages, an
// assistant message with delivered and ContinueInstruction. Other members
// are kept as they are. An empty delivered returns body unchanged.
//
// As for ContinueMessages, body is the client's original request (not an
// earlier continuation) and delivered all the answer's text so far
// (Stream.Text()), however many providers it took.
func ContinueChat(body []byte, delivered string) ([]byte, error) {
	if delivered == "" {
		return body, nil
	}
	msgs, err := rawMessages(body)
	if err != nil {
		return nil, fmt.Errorf("continuing chat request: %w", err)
	}
	a, _ := marshal(obj{{"role", "assistant"}, {"content", delivered}})
	u, _ := marshal(obj{{"role", "user"}, {"content", ContinueInstruction}})
	out, err := setMessages(body, append(msgs, a, u))
	if err != nil {
		return nil, fmt.Errorf("continuing chat request: %w", err)
	}
	return out, nil
}

// ContinueMessages returns the Anthropic messages request body that
// continues an answer of which delivered reached the client, as an
// assistant prefill. body is the client's original request (not an earlier
// continuation) and delivered all the answer's text so far (Stream.Text()).
// When body already ends with an assistant message (the client's own
// prefill), delivered is appended to it, since the answer never repeats
// its prefill.
//
// Anthropic refuses a prefill that ends in white space, so trailing white
// space is trimmed; the continuation then normally starts with it, and the
// caller may drop leading white space from the continued stream when
// delivered ended with some. Anthropic also refuses a prefill with
// extended thinking, so thinking is removed from the request. Some newer
// Claude models refuse prefills altogether; for them use an instruction as
// in ContinueChat.
func ContinueMessages(body []byte, delivered string) ([]byte, error) {
	if strings.TrimSpace(delivered) == "" {
		return body, nil
	}
	msgs, err := rawMessages(body)
	if err != nil {
		return nil, fmt.Errorf("continuing messages request: %w", err)
	}
	var keep []json.RawMessage // blocks of the client's prefill before its final text
	if n := len(msgs); n > 0 && roleOf(msgs[n-1]) == "assistant" {
		var m struct {
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(msgs[n-1], &m); err != nil {
			return nil, fmt.Errorf("continuing messages request: %w", err)
		}
		if s, ok := stringValue(m.Content); ok {
			delivered = s + delivered
		} else if !isNull(m.Content) {
			if err := json.Unmarshal(m.Content, &keep); err != nil {
				return nil, fmt.Errorf("continuing messages request: %w", err)
			}
			if k := len(keep) - 1; k >= 0 {
				var tb block
				if json.Unmarshal(keep[k], &tb) == nil && tb.Type == "text" {
					delivered = tb.Text + delivered
					keep = keep[:k]
				}
			}
		}
		msgs = msgs[:n-1]
	}
	text := strings.TrimRight(delivered, " \t\r\n")
	var c any = text
	if len(keep) > 0 {
		t, _ := marshal(textBlock(text))
		c = append(keep, t)
	}
	a, err := marshal(obj{{"role", "assistant"}, {"content", c}})
	if err != nil {
		return nil, fmt.Errorf("continuing messages request: %w", err)
	}
	out, err := setMessages(body, append(msgs, a))
	if err != nil {
		return nil, fmt.Errorf("continuing messages request: %w", err)
	}
	if raw, ok, _ := jsonobj.Get(out, "thinking"); ok {
		var th struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &th) != nil || th.Type != "disabled" {
			return jsonobj.Delete(out, "thinking")
		}
	}
	return out, nil
}

// rawMessages returns the messages member of a request, one raw message
// per element.
func rawMessages(body []byte) ([]json.RawMessage, error) {
	if !json.Valid(body) {
		return nil, fmt.Errorf("request body is not valid JSON")
	}
	raw, ok, err := jsonobj.Get(body, "messages")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no messages")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	return msgs, nil
}

func setMessages(body []byte, msgs []json.RawMessage) ([]byte, error) {
	raw, err := marshal(msgs)
	if err != nil {
		return nil, err
	}
	return jsonobj.Set(body, "messages", raw)
}

func roleOf(msg json.RawMessage) string {
	var m struct {
		Role string `json:"role"`
	}
	_ = json.Unmarshal(msg, &m)
	return m.Role
}

// stripContinueInstruction removes a final ContinueInstruction that follows
// an assistant message, so an Anthropic target gets the partial answer as a
// prefill.
func stripContinueInstruction(in []chatMessage) []chatMessage {
	n := len(in)
	if n < 2 || in[n-1].Role != "user" || in[n-2].Role != "assistant" {
		return in
	}
	if s, _ := stringValue(in[n-1].Content); s != ContinueInstruction {
		return in
	}
	return in[:n-1]
}

// A continuing provider does not always continue: asked to finish an
// answer, some models start it over, and the client would read the text
// it already has twice ("HelloHello from …"). SkipRepeat makes a Stream
// remove that repeat while it streams.

// minRestart is how much of the delivered text, in characters, the
// continuation must repeat from its beginning to count as having started
// over when it then goes its own way; a shorter common start ("The ",
// "1. ") is taken as a coincidence and kept. A continuation that repeats
// all of the delivered text has started over whatever its length.
const minRestart = 8

// SkipRepeat makes ts, just Resumed on a continuing upstream, remove the
// text that upstream writes again from the beginning of delivered (what
// the client had when the stream stalled, Stream.Text()): when the
// continuation starts with all of delivered, or with a start of it of at
// least minRestart characters, that part is not written. Text that could
// still turn out to be such a repeat is held back, never more than
// delivered's length; the rest streams as it comes. A continuation that
// does continue loses nothing. It reports whether ts supports it (the
// Streams of this package do).
func SkipRepeat(ts Stream, delivered string) bool {
	s, ok := ts.(*stream)
	if !ok {
		return false
	}
	inner := s.w
	if rs, ok := inner.(*repeatSkipper); ok {
		inner = rs.writer
	}
	if delivered == "" {
		s.w = inner
		return true
	}
	s.w = &repeatSkipper{writer: inner, f: repeatFilter{delivered: delivered}}
	return true
}

// repeatFilter follows the text of a continuation, C, against the text
// the client already has, D.
type repeatFilter struct {
	delivered string // D
	held      string // C so far, while it is a start of D
	done      bool   // decided: everything from here on passes
}

// feed takes the next piece of C and returns what of it the client gets
// now.
func (f *repeatFilter) feed(s string) string {
	if f.done {
		return s
	}
	c := f.held + s
	n := commonPrefix(c, f.delivered)
	switch {
	case n == len(f.delivered): // C starts with all of D: it started over
		f.done, f.held = true, ""
		return c[n:]
	case n == len(c): // still a start of D: it may be starting over
		f.held = c
		return ""
	}
	// C left D after its first n bytes.
	f.done, f.held = true, ""
	if restarted(c[:n]) {
		return c[n:]
	}
	return c
}

// flush decides at the end of C's text (its block closes, another
// block or the answer's end follows) with C still a start of D: a repeat
// when it is long enough to count, dropped; else a coincidence, passed
// on. Before any text (a thinking block first) nothing is decided.
func (f *repeatFilter) flush() string {
	if f.done || f.held == "" {
		return ""
	}
	c := f.held
	f.done, f.held = true, ""
	if restarted(c) {
		return ""
	}
	return c
}

// discard ends the filter without a word: the continuation itself was
// cut before deciding, and what it held never reached the client.
func (f *repeatFilter) discard() { f.done, f.held = true, "" }

func restarted(repeat string) bool { return utf8.RuneCountInString(repeat) >= minRestart }

// commonPrefix is the length in bytes of the longest common start of a
// and b, backed off to a character boundary so that neither is cut
// inside a character.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	if n < len(a) && n < len(b) {
		for n > 0 && !utf8.RuneStart(a[n]) {
			n--
		}
	}
	return n
}

// repeatSkipper is the writer of a continued Stream: text deltas go
// through the repeatFilter; any other output first settles it, so held
// text is never reordered after what follows it.
type repeatSkipper struct {
	writer
	f   repeatFilter
	key int // the block of the held text
}

func (w *repeatSkipper) settle() {
	if s := w.f.flush(); s != "" {
		w.writer.delta(w.key, kindText, s)
	}
}

func (w *repeatSkipper) delta(key int, kind blockKind, s string) {
	if kind == kindText {
		w.key = key
		if s = w.f.feed(s); s == "" {
			return
		}
	} else {
		w.settle()
	}
	w.writer.delta(key, kind, s)
}

func (w *repeatSkipper) open(key int, kind blockKind, id, name string) {
	if kind != kindText {
		w.settle()
	}
	w.writer.open(key, kind, id, name)
}

func (w *repeatSkipper) close(key int)                { w.settle(); w.writer.close(key) }
func (w *repeatSkipper) finish(stop, sequence string) { w.settle(); w.writer.finish(stop, sequence) }
func (w *repeatSkipper) end()                         { w.settle(); w.writer.end() }
func (w *repeatSkipper) fail(typ, msg string)         { w.settle(); w.writer.fail(typ, msg) }

// resume: the continuation stalled in turn; what it held back never
// reached the client (nor Text), so the next one continues without it.
func (w *repeatSkipper) resume() { w.f.discard(); w.writer.resume() }
