package usage

// Meter follows a streaming response event by event, accumulating usage,
// the stop reason and how much content was generated. Its zero value is not
// ready for use: call NewMeter or Reset. A Meter is not safe for concurrent
// use; it is meant to live alongside one stream (and be reused via Reset).
type Meter struct {
	ep       Endpoint
	u        Usage
	complete bool // the final usage report was seen
	stop     string
	text     int
	events   int
	content  bool
}

// NewMeter returns a Meter for a stream from endpoint ep.
func NewMeter(ep Endpoint) *Meter {
	return &Meter{ep: ep}
}

// Reset clears all state and sets the endpoint, so a pool can reuse a Meter.
func (m *Meter) Reset(ep Endpoint) {
	*m = Meter{ep: ep}
}

// Observe inspects one SSE event, name and data as read from the stream
// (sse.Event.Name and sse.Event.Data). data is only read during the call.
//
// It returns usageOnly=true for an OpenAI chat-completions chunk that exists
// only to carry usage (no choices, "usage" an object): the chunk that
// stream_options.include_usage adds, which a caller that injected that
// option should hide from a client that did not ask for it. Events that are
// not JSON (such as "[DONE]"), malformed JSON and events irrelevant to
// metering are counted and otherwise ignored.
func (m *Meter) Observe(name string, data []byte) (usageOnly bool) {
	if len(data) == 0 {
		return false // comment or keep-alive block: nothing to meter
	}
	m.events++
	data = trimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return false // "[DONE]" and other sentinels
	}
	switch m.ep {
	case ChatCompletions:
		return m.observeChat(data)
	case Responses:
		m.observeResponses(name, data)
	case Messages:
		m.observeMessages(name, data)
	case GenerateContent:
		m.observeGemini(data)
	case Embeddings:
		// Not a streaming API; accept a body passed through a stream path.
		if u, _, ok := embeddingsBody(data); ok {
			m.setUsage(u, true)
		}
	}
	return false
}

// Usage returns the usage the stream reported. ok is false if the stream
// never reported usage or reported it only partially (e.g. an Anthropic
// stream cut after message_start); what was seen is still returned, and the
// caller may combine it with EstimateTokens(OutputText()).
// A CountTokens meter always reports zero usage with ok true: it is free.
func (m *Meter) Usage() (Usage, bool) {
	if m.ep == CountTokens {
		return Usage{}, true
	}
	return m.u, m.complete
}

// UsageOrEstimate is Usage with what the stream did not report
// estimated (absent is not zero): the input from inputBytes (the request
// body) when no input count was seen, the output from the content seen
// when that is more than was reported. estimated reports that it is not
// the provider's count.
func (m *Meter) UsageOrEstimate(inputBytes int) (u Usage, estimated bool) {
	u, ok := m.Usage()
	if ok {
		return u, false
	}
	if u.InputTokens == 0 && u.CacheReadTokens == 0 && u.CacheWriteTokens == 0 {
		u.InputTokens = EstimateTokens(inputBytes)
	}
	if est := EstimateTokens(m.OutputText()); est > u.OutputTokens {
		u.OutputTokens = est
	}
	return u, true
}

// StopReason returns the finish_reason (chat), stop_reason (Anthropic) or
// response status, or incomplete_details.reason for an incomplete response
// (Responses); "" if none was seen.
func (m *Meter) StopReason() string { return m.stop }

// OutputText returns the number of bytes (decoded UTF-8) of generated
// content seen: text, refusal, reasoning/thinking and tool-call argument
// deltas. It feeds EstimateTokens when a provider reports no usage.
func (m *Meter) OutputText() int { return m.text }

// Events returns the number of events with data seen, "[DONE]" included.
func (m *Meter) Events() int { return m.events }

// FirstContent reports whether an event carrying generated content (text,
// reasoning, a tool call; not just a role or metadata) has been seen. The
// caller can use the moment it turns true as time to first token.
func (m *Meter) FirstContent() bool { return m.content }

func (m *Meter) setUsage(u Usage, final bool) {
	m.u = u
	m.complete = m.complete || final
}

// addText counts the JSON string value v as generated content.
func (m *Meter) addText(v []byte) {
	if n, ok := strLen(v); ok && n > 0 {
		m.text += n
		m.content = true
	}
}

// setStop records the JSON string value v as the stop reason; null and
// other non-strings are ignored. The comparison first avoids re-converting
// (and allocating) a reason that repeats on every chunk.
func (m *Meter) setStop(v []byte) {
	if len(v) == 0 || v[0] != '"' || strEq(v, m.stop) {
		return
	}
	if s, ok := str(v); ok {
		m.stop = s
	}
}
