package usage

// Gemini generateContent (Google's own API).
//
// usageMetadata.promptTokenCount includes cachedContentTokenCount;
// toolUsePromptTokenCount (the results of server-side tools) is input
// billed beside it. candidatesTokenCount excludes thoughtsTokenCount, and
// both are billed as output, so OutputTokens is their sum and
// ReasoningTokens the thoughts. A stream reports usageMetadata on its
// chunks, cumulatively; the chunk with the finishReason has the final
// numbers.

// geminiUsage decodes a usageMetadata object.
func geminiUsage(v []byte) (Usage, bool) {
	o := newObject(v)
	var prompt, cached, toolPrompt, candidates, thoughts int64
	for k, val, ok := o.next(); ok; k, val, ok = o.next() {
		switch string(k) {
		case "promptTokenCount":
			prompt, _ = num(val)
		case "cachedContentTokenCount":
			cached, _ = num(val)
		case "toolUsePromptTokenCount":
			toolPrompt, _ = num(val)
		case "candidatesTokenCount":
			candidates, _ = num(val)
		case "thoughtsTokenCount":
			thoughts, _ = num(val)
		}
	}
	if o.err {
		return Usage{}, false
	}
	return Usage{
		InputTokens:     nonNeg(prompt-cached) + nonNeg(toolPrompt),
		CacheReadTokens: nonNeg(cached),
		OutputTokens:    nonNeg(candidates) + nonNeg(thoughts),
		ReasoningTokens: nonNeg(thoughts),
	}, true
}

// geminiBody reads a complete GenerateContentResponse.
func geminiBody(body []byte) (u Usage, stop string, ok bool) {
	o := newObject(body)
	var usage, candidates []byte
	for k, v, more := o.next(); more; k, v, more = o.next() {
		switch string(k) {
		case "usageMetadata":
			usage = v
		case "candidates":
			candidates = v
		}
	}
	if o.err || o.i != len(body) {
		return Usage{}, "", false
	}
	stop = firstFinishReason(candidates)
	if !isObject(usage) {
		return Usage{}, stop, false
	}
	u, ok = geminiUsage(usage)
	return u, stop, ok
}

// firstFinishReason is the finishReason of the first candidate that has
// one (with several candidates, the first's is the summary, as for chat).
func firstFinishReason(candidates []byte) (stop string) {
	a := newArray(candidates)
	for c, more := a.next(); more && stop == ""; c, more = a.next() {
		co := newObject(c)
		for k, v, more := co.next(); more; k, v, more = co.next() {
			if string(k) == "finishReason" {
				stop, _ = str(v)
			}
		}
	}
	return stop
}

// observeGemini meters one streamed GenerateContentResponse chunk.
func (m *Meter) observeGemini(data []byte) {
	o := newObject(data)
	var usage, candidates []byte
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "usageMetadata":
			usage = v
		case "candidates":
			candidates = v
		}
	}
	if o.err || o.i != len(data) {
		return
	}
	a := newArray(candidates)
	for c, ok := a.next(); ok; c, ok = a.next() {
		co := newObject(c)
		for k, v, ok := co.next(); ok; k, v, ok = co.next() {
			switch string(k) {
			case "content":
				m.geminiContent(v)
			case "finishReason":
				m.setStop(v)
			}
		}
	}
	if isObject(usage) {
		if u, ok := geminiUsage(usage); ok {
			m.setUsage(u, m.stop != "" || m.complete)
		}
	}
}

// geminiContent counts the generated parts of a candidate's content:
// text (thoughts included) and function calls.
func (m *Meter) geminiContent(c []byte) {
	o := newObject(c)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		if string(k) != "parts" {
			continue
		}
		a := newArray(v)
		for p, ok := a.next(); ok; p, ok = a.next() {
			po := newObject(p)
			for k, v, ok := po.next(); ok; k, v, ok = po.next() {
				switch string(k) {
				case "text":
					m.addText(v)
				case "functionCall", "executableCode", "inlineData":
					m.text += len(v)
					m.content = true
				}
			}
		}
	}
}
