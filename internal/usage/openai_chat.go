package usage

// OpenAI chat completions (and the many "OpenAI-compatible" providers).
//
// usage.prompt_tokens includes prompt_tokens_details.cached_tokens and
// completion_tokens includes completion_tokens_details.reasoning_tokens.
// DeepSeek instead reports prompt_cache_hit_tokens/prompt_cache_miss_tokens
// (hit + miss = prompt_tokens). OpenRouter-style cache_write_tokens in
// prompt_tokens_details are likewise inside prompt_tokens.

// chatUsage decodes a chat-completions usage object.
func chatUsage(v []byte) (Usage, bool) {
	o := newObject(v)
	var prompt, completion, cached, cacheWrite, reasoning, hit, miss int64
	var hasPrompt, hasCached, hasHit, hasMiss bool
	for k, val, ok := o.next(); ok; k, val, ok = o.next() {
		switch string(k) {
		case "prompt_tokens":
			prompt, hasPrompt = num(val)
		case "completion_tokens":
			completion, _ = num(val)
		case "prompt_tokens_details":
			cached, hasCached, cacheWrite = inputDetails(val)
		case "completion_tokens_details":
			reasoning, _ = member(val, "reasoning_tokens")
		case "prompt_cache_hit_tokens":
			hit, hasHit = num(val)
		case "prompt_cache_miss_tokens":
			miss, hasMiss = num(val)
		}
	}
	if o.err {
		return Usage{}, false
	}
	if !hasCached && hasHit {
		cached = hit
	}
	if !hasPrompt && (hasHit || hasMiss) {
		prompt = hit + miss
	}
	return Usage{
		InputTokens:      nonNeg(prompt - cached - cacheWrite),
		CacheReadTokens:  nonNeg(cached),
		CacheWriteTokens: nonNeg(cacheWrite),
		OutputTokens:     nonNeg(completion),
		ReasoningTokens:  nonNeg(reasoning),
	}, true
}

// inputDetails decodes prompt_tokens_details / input_tokens_details.
func inputDetails(v []byte) (cached int64, hasCached bool, cacheWrite int64) {
	o := newObject(v)
	for k, val, ok := o.next(); ok; k, val, ok = o.next() {
		switch string(k) {
		case "cached_tokens":
			cached, hasCached = num(val)
		case "cache_write_tokens":
			cacheWrite, _ = num(val)
		}
	}
	return cached, hasCached, cacheWrite
}

// member returns the integer member key of the object v.
func member(v []byte, key string) (n int64, ok bool) {
	o := newObject(v)
	for k, val, more := o.next(); more; k, val, more = o.next() {
		if string(k) == key {
			n, ok = num(val)
		}
	}
	return n, ok
}

// chatBody reads a complete chat.completion object.
func chatBody(body []byte) (u Usage, stop string, ok bool) {
	o := newObject(body)
	var usage, choices []byte
	for k, v, more := o.next(); more; k, v, more = o.next() {
		switch string(k) {
		case "usage":
			usage = v
		case "choices":
			choices = v
		}
	}
	if o.err || o.i != len(body) {
		return Usage{}, "", false
	}
	// With n > 1 the choices can stop for different reasons; the first
	// one's is the conventional summary.
	a := newArray(choices)
	for c, more := a.next(); more && stop == ""; c, more = a.next() {
		co := newObject(c)
		for k, v, more := co.next(); more; k, v, more = co.next() {
			if string(k) == "finish_reason" {
				stop, _ = str(v)
			}
		}
	}
	if !isObject(usage) {
		return Usage{}, stop, false
	}
	u, ok = chatUsage(usage)
	return u, stop, ok
}

// observeChat meters one chat.completion.chunk.
func (m *Meter) observeChat(data []byte) (usageOnly bool) {
	o := newObject(data)
	var usage, choices []byte
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "usage":
			usage = v
		case "choices":
			choices = v
		}
	}
	if o.err || o.i != len(data) {
		return false
	}
	noChoices := true
	if len(choices) > 0 && choices[0] == '[' {
		a := newArray(choices)
		for c, ok := a.next(); ok; c, ok = a.next() {
			noChoices = false
			m.chatChoice(c)
		}
	}
	if !isObject(usage) {
		return false
	}
	// Usage may be repeated (vLLM's continuous_usage_stats) or ride on the
	// last content chunk (DeepSeek, Gemini, vLLM): it is cumulative, so the
	// latest report wins. Only a chunk without choices is usage-only; one
	// with choices carries content the client must see.
	if u, ok := chatUsage(usage); ok {
		m.setUsage(u, true)
		return noChoices
	}
	return false
}

func (m *Meter) chatChoice(c []byte) {
	o := newObject(c)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "delta":
			m.chatDelta(v)
		case "finish_reason":
			m.setStop(v)
		}
	}
}

func (m *Meter) chatDelta(d []byte) {
	o := newObject(d)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		// reasoning_content: DeepSeek, vLLM, Qwen; reasoning: OpenRouter, Ollama.
		case "content", "refusal", "reasoning_content", "reasoning":
			m.addText(v)
		case "tool_calls":
			a := newArray(v)
			for tc, ok := a.next(); ok; tc, ok = a.next() {
				to := newObject(tc)
				for k, f, ok := to.next(); ok; k, f, ok = to.next() {
					if string(k) == "function" {
						m.chatFunction(f)
					}
				}
			}
		case "function_call": // deprecated single-function form
			m.chatFunction(v)
		}
	}
}

func (m *Meter) chatFunction(f []byte) {
	o := newObject(f)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "arguments":
			m.addText(v)
		case "name":
			// The first chunk of a tool call names the function; that is
			// generated content even though its arguments are still "".
			if n, ok := strLen(v); ok && n > 0 {
				m.content = true
			}
		}
	}
}
