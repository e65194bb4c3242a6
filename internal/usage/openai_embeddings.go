package usage

// OpenAI embeddings: usage.prompt_tokens is all there is (total_tokens
// repeats it). There is no stop reason.
func embeddingsBody(body []byte) (u Usage, stop string, ok bool) {
	o := newObject(body)
	var usage []byte
	for k, v, more := o.next(); more; k, v, more = o.next() {
		if string(k) == "usage" {
			usage = v
		}
	}
	if o.err || o.i != len(body) || !isObject(usage) {
		return Usage{}, "", false
	}
	uo := newObject(usage)
	for k, v, more := uo.next(); more; k, v, more = uo.next() {
		if string(k) == "prompt_tokens" {
			n, _ := num(v)
			u.InputTokens = nonNeg(n)
		}
	}
	return u, "", true
}
