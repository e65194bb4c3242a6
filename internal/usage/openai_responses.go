package usage

// OpenAI Responses API.
//
// usage.input_tokens includes input_tokens_details.cached_tokens (and the
// newer cache_write_tokens); output_tokens includes
// output_tokens_details.reasoning_tokens. Streams are named events; the
// final one (response.completed, .incomplete or .failed) carries the whole
// response object with its usage and status.

// responsesUsage decodes a Responses usage object.
func responsesUsage(v []byte) (Usage, bool) {
	o := newObject(v)
	var input, output, cached, cacheWrite, reasoning int64
	for k, val, ok := o.next(); ok; k, val, ok = o.next() {
		switch string(k) {
		case "input_tokens":
			input, _ = num(val)
		case "output_tokens":
			output, _ = num(val)
		case "input_tokens_details":
			cached, _, cacheWrite = inputDetails(val)
		case "output_tokens_details":
			reasoning, _ = member(val, "reasoning_tokens")
		}
	}
	if o.err {
		return Usage{}, false
	}
	return Usage{
		InputTokens:      nonNeg(input - cached - cacheWrite),
		CacheReadTokens:  nonNeg(cached),
		CacheWriteTokens: nonNeg(cacheWrite),
		OutputTokens:     nonNeg(output),
		ReasoningTokens:  nonNeg(reasoning),
	}, true
}

// responseFields are the raw values of a response object that matter.
type responseFields struct {
	usage, status, reason []byte
}

func scanResponse(v []byte) (f responseFields, end int, ok bool) {
	o := newObject(v)
	for k, val, more := o.next(); more; k, val, more = o.next() {
		switch string(k) {
		case "usage":
			f.usage = val
		case "status":
			f.status = val
		case "incomplete_details":
			it := newObject(val)
			for k, r, more := it.next(); more; k, r, more = it.next() {
				if string(k) == "reason" {
					f.reason = r
				}
			}
		}
	}
	return f, o.i, !o.err
}

// stop returns the raw stop reason: the status, or for an incomplete
// response the more useful incomplete_details.reason
// ("max_output_tokens", "content_filter").
func (f responseFields) stop() []byte {
	if strEq(f.status, "incomplete") && len(f.reason) > 0 && f.reason[0] == '"' {
		return f.reason
	}
	return f.status
}

// responsesBody reads a complete response object.
func responsesBody(body []byte) (u Usage, stop string, ok bool) {
	f, end, ok := scanResponse(body)
	if !ok || end != len(body) {
		return Usage{}, "", false
	}
	stop, _ = str(f.stop())
	if !isObject(f.usage) {
		return Usage{}, stop, false
	}
	u, ok = responsesUsage(f.usage)
	return u, stop, ok
}

type responsesEvent uint8

const (
	respIgnore    responsesEvent = iota
	respDelta                    // generated content in "delta"
	respFinal                    // the response object with usage and status
	respItemAdded                // a new output item; a tool call counts as content
)

// responsesKind classifies an event type. Only the handful of events that
// matter are decoded at all.
func responsesKind[T string | []byte](typ T) responsesEvent {
	switch string(typ) {
	case "response.output_text.delta",
		"response.refusal.delta",
		"response.reasoning_summary_text.delta",
		"response.reasoning_text.delta",
		"response.function_call_arguments.delta",
		"response.custom_tool_call_input.delta",
		"response.mcp_call_arguments.delta",
		"response.code_interpreter_call_code.delta":
		return respDelta
	case "response.completed", "response.incomplete", "response.failed":
		return respFinal
	case "response.output_item.added":
		return respItemAdded
	}
	return respIgnore
}

// observeResponses meters one Responses stream event.
func (m *Meter) observeResponses(name string, data []byte) {
	kind := respIgnore
	if name != "" {
		// The event name equals the payload's "type"; trusting it lets the
		// bulk of events (created, in_progress, *.done, ...) go undecoded.
		if kind = responsesKind(name); kind == respIgnore {
			return
		}
	}
	o := newObject(data)
	var typ, delta, resp, item []byte
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "type":
			typ = v
		case "delta":
			delta = v
		case "response":
			resp = v
		case "item":
			item = v
		}
	}
	if o.err || o.i != len(data) {
		return
	}
	if name == "" && len(typ) >= 2 && typ[0] == '"' {
		kind = responsesKind(typ[1 : len(typ)-1])
	}
	switch kind {
	case respDelta:
		m.addText(delta)
	case respFinal:
		f, _, ok := scanResponse(resp)
		if !ok {
			return
		}
		m.setStop(f.stop())
		if isObject(f.usage) {
			if u, ok := responsesUsage(f.usage); ok {
				m.setUsage(u, true)
			}
		}
	case respItemAdded:
		it := newObject(item)
		for k, v, ok := it.next(); ok; k, v, ok = it.next() {
			if string(k) == "type" && (strEq(v, "function_call") || strEq(v, "custom_tool_call")) {
				m.content = true
			}
		}
	}
}
