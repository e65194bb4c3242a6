package usage

// Anthropic Messages.
//
// usage.input_tokens excludes cache_creation_input_tokens and
// cache_read_input_tokens, so the three map directly onto the buckets.
// Thinking tokens are not reported separately (ReasoningTokens stays 0).
// A stream reports usage twice: message_start has the input side (and a
// token or so of output), message_delta the cumulative final numbers
// (output_tokens always; input and cache fields on newer API versions,
// possibly null).

// anthropicUsage holds the fields present in one usage object.
type anthropicUsage struct {
	input, cacheWrite, cacheRead, output int64
	has                                  uint8
}

const (
	hasInput uint8 = 1 << iota
	hasCacheWrite
	hasCacheRead
	hasOutput
)

func scanAnthropicUsage(v []byte) (a anthropicUsage, ok bool) {
	o := newObject(v)
	for k, val, more := o.next(); more; k, val, more = o.next() {
		var dst *int64
		var bit uint8
		switch string(k) {
		case "input_tokens":
			dst, bit = &a.input, hasInput
		case "cache_creation_input_tokens":
			dst, bit = &a.cacheWrite, hasCacheWrite
		case "cache_read_input_tokens":
			dst, bit = &a.cacheRead, hasCacheRead
		case "output_tokens":
			dst, bit = &a.output, hasOutput
		default:
			continue
		}
		if n, ok := num(val); ok { // null means "not reported", not zero
			*dst = n
			a.has |= bit
		}
	}
	return a, !o.err
}

// applyTo overwrites the fields of u this report carries.
func (a anthropicUsage) applyTo(u *Usage) {
	if a.has&hasInput != 0 {
		u.InputTokens = nonNeg(a.input)
	}
	if a.has&hasCacheWrite != 0 {
		u.CacheWriteTokens = nonNeg(a.cacheWrite)
	}
	if a.has&hasCacheRead != 0 {
		u.CacheReadTokens = nonNeg(a.cacheRead)
	}
	if a.has&hasOutput != 0 {
		u.OutputTokens = nonNeg(a.output)
	}
}

// messagesBody reads a complete message object.
func messagesBody(body []byte) (u Usage, stop string, ok bool) {
	o := newObject(body)
	var usage []byte
	for k, v, more := o.next(); more; k, v, more = o.next() {
		switch string(k) {
		case "usage":
			usage = v
		case "stop_reason":
			stop, _ = str(v)
		}
	}
	if o.err || o.i != len(body) {
		return Usage{}, "", false
	}
	if !isObject(usage) {
		return Usage{}, stop, false
	}
	a, ok := scanAnthropicUsage(usage)
	if !ok {
		return Usage{}, stop, false
	}
	a.applyTo(&u)
	return u, stop, true
}

type messagesEvent uint8

const (
	msgIgnore messagesEvent = iota
	msgStart
	msgBlockStart
	msgBlockDelta
	msgDelta
)

func messagesKind[T string | []byte](typ T) messagesEvent {
	switch string(typ) {
	case "message_start":
		return msgStart
	case "content_block_start":
		return msgBlockStart
	case "content_block_delta":
		return msgBlockDelta
	case "message_delta":
		return msgDelta
	}
	return msgIgnore // ping, content_block_stop, message_stop, error
}

// observeMessages meters one Anthropic stream event.
func (m *Meter) observeMessages(name string, data []byte) {
	kind := msgIgnore
	if name != "" {
		// The event name equals the payload's "type"; trusting it skips
		// decoding pings and stop events altogether.
		if kind = messagesKind(name); kind == msgIgnore {
			return
		}
	}
	o := newObject(data)
	var typ, message, delta, usage, block []byte
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "type":
			typ = v
		case "message":
			message = v
		case "delta":
			delta = v
		case "usage":
			usage = v
		case "content_block":
			block = v
		}
	}
	if o.err || o.i != len(data) {
		return
	}
	if name == "" && len(typ) >= 2 && typ[0] == '"' {
		kind = messagesKind(typ[1 : len(typ)-1])
	}
	switch kind {
	case msgStart:
		mo := newObject(message)
		for k, v, ok := mo.next(); ok; k, v, ok = mo.next() {
			switch string(k) {
			case "usage":
				if a, ok := scanAnthropicUsage(v); ok {
					u := m.u
					a.applyTo(&u)
					m.setUsage(u, false) // the final numbers come in message_delta
				}
			case "stop_reason":
				m.setStop(v)
			}
		}
	case msgBlockStart:
		bo := newObject(block)
		for k, v, ok := bo.next(); ok; k, v, ok = bo.next() {
			switch string(k) {
			case "type":
				// A tool call's name, or redacted thinking, is generated
				// content before any delta arrives.
				if strEq(v, "tool_use") || strEq(v, "server_tool_use") || strEq(v, "redacted_thinking") {
					m.content = true
				}
			case "text", "thinking": // normally "", but count whatever is there
				m.addText(v)
			}
		}
	case msgBlockDelta:
		do := newObject(delta)
		for k, v, ok := do.next(); ok; k, v, ok = do.next() {
			switch string(k) {
			case "text", "partial_json", "thinking":
				m.addText(v)
			}
		}
	case msgDelta:
		do := newObject(delta)
		for k, v, ok := do.next(); ok; k, v, ok = do.next() {
			if string(k) == "stop_reason" {
				m.setStop(v)
			}
		}
		if isObject(usage) {
			if a, ok := scanAnthropicUsage(usage); ok {
				u := m.u
				a.applyTo(&u)
				m.setUsage(u, true)
			}
		}
	}
}
