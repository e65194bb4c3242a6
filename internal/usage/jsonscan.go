package usage

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a minimal, allocation-free JSON walker. The meter runs on
// every streamed event; decoding each ~200-byte chunk with encoding/json
// would cost several allocations and microseconds, while walking the bytes
// once and looking only at the handful of keys that matter costs neither.
// The walker validates what it walks (same acceptance as json.Valid, which
// FuzzScanner checks), so malformed input is reported, never half-trusted.
//
// Why hand-written: github.com/tidwall/gjson (v1.20.2) is the library that
// would do this job, and it does not validate what it reads, so it would
// need gjson.ValidBytes first. On BenchmarkMeterOpenAIChunk's chunk the
// walker takes ~540 ns and 0 allocations; gjson.ValidBytes plus
// GetManyBytes for the same four paths took ~1.9-2.0 µs, 336 B in 4
// allocations, and ~1.0-1.2 µs, 84 B in 2 allocations even without
// validating (encoding/json: ~2.7-2.9 µs, 464 B in 12). encoding/json/v2
// needs GOEXPERIMENT=jsonv2 in Go 1.26.

// maxDepth bounds nesting so hostile input cannot exhaust the stack; it is
// the limit encoding/json uses.
const maxDepth = 10000

// strPlain[c] is true for bytes that may appear unescaped inside a string.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

// trimSpace returns d without surrounding JSON whitespace.
func trimSpace(d []byte) []byte {
	i := skipSpace(d, 0)
	j := len(d)
	for j > i && isSpace(d[j-1]) {
		j--
	}
	return d[i:j]
}

// skipValue returns the index just past the value starting at d[i] (no
// leading whitespace), or -1 if it is not valid JSON.
func skipValue(d []byte, i, depth int) int {
	if i >= len(d) {
		return -1
	}
	switch c := d[i]; c {
	case '"':
		return skipString(d, i)
	case '{', '[':
		if depth >= maxDepth {
			return -1
		}
		return skipComposite(d, i, depth+1)
	case 't':
		return skipLiteral(d, i, "true")
	case 'f':
		return skipLiteral(d, i, "false")
	case 'n':
		return skipLiteral(d, i, "null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return skipNumber(d, i)
		}
		return -1
	}
}

func skipLiteral(d []byte, i int, lit string) int {
	if len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// skipString returns the index past the string whose opening quote is d[i].
func skipString(d []byte, i int) int {
	i++
	for {
		for i < len(d) && strPlain[d[i]] {
			i++
		}
		if i >= len(d) {
			return -1
		}
		switch d[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(d) {
				return -1
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(d)-i < 6 || !isHex4(d[i+2:i+6]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // control character
			return -1
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func skipDigits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// skipNumber follows the JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(d []byte, i int) int {
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = skipDigits(d, i+1)
	default:
		return -1
	}
	if i < len(d) && d[i] == '.' {
		j := skipDigits(d, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := skipDigits(d, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// skipComposite skips an object or array starting at d[i]. It does not
// use the iterators below: they hand out a key buffer that lives inside
// them, and sharing code with this recursive path would make the compiler
// move every iterator to the heap.
func skipComposite(d []byte, i, depth int) int {
	closing := byte(']')
	if d[i] == '{' {
		closing = '}'
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == closing {
		return i + 1
	}
	for {
		if closing == '}' {
			if i >= len(d) || d[i] != '"' {
				return -1
			}
			if i = skipString(d, i); i < 0 {
				return -1
			}
			i = skipSpace(d, i)
			if i >= len(d) || d[i] != ':' {
				return -1
			}
			i = skipSpace(d, i+1)
		}
		if i = skipValue(d, i, depth); i < 0 {
			return -1
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return -1
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case closing:
			return i + 1
		default:
			return -1
		}
	}
}

// object iterates over the members of a JSON object without allocating.
// After next reports false, err tells whether the object was malformed and
// i is the index just past its closing brace.
type object struct {
	d     []byte
	i     int
	depth int
	n     int // members returned so far
	done  bool
	err   bool
	key   [64]byte // unescaped key when the raw key has escapes
}

// newObject starts iterating v, which must be a complete value; if it is
// not an object the iterator is empty and reports err.
func newObject(v []byte) object {
	if len(v) == 0 || v[0] != '{' {
		return object{done: true, err: true}
	}
	return object{d: v, i: 1, depth: 1}
}

// next returns the next member's key (unescaped) and raw value.
func (o *object) next() (key, val []byte, ok bool) {
	if o.done {
		return nil, nil, false
	}
	d := o.d
	i := skipSpace(d, o.i)
	if i < len(d) && d[i] == '}' && o.n == 0 {
		o.done, o.i = true, i+1
		return nil, nil, false
	}
	if o.n > 0 {
		if i < len(d) && d[i] == '}' {
			o.done, o.i = true, i+1
			return nil, nil, false
		}
		if i >= len(d) || d[i] != ',' {
			return o.fail()
		}
		i = skipSpace(d, i+1)
	}
	if i >= len(d) || d[i] != '"' {
		return o.fail()
	}
	ke := skipString(d, i)
	if ke < 0 {
		return o.fail()
	}
	key = d[i+1 : ke-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		key = unescapeKey(o.key[:0], key)
	}
	i = skipSpace(d, ke)
	if i >= len(d) || d[i] != ':' {
		return o.fail()
	}
	i = skipSpace(d, i+1)
	ve := skipValue(d, i, o.depth)
	if ve < 0 {
		return o.fail()
	}
	o.i = ve
	o.n++
	return key, d[i:ve], true
}

func (o *object) fail() ([]byte, []byte, bool) {
	o.done, o.err = true, true
	return nil, nil, false
}

// array iterates over the elements of a JSON array; see object.
type array struct {
	d     []byte
	i     int
	depth int
	n     int
	done  bool
	err   bool
}

func newArray(v []byte) array {
	if len(v) == 0 || v[0] != '[' {
		return array{done: true, err: true}
	}
	return array{d: v, i: 1, depth: 1}
}

func (a *array) next() (val []byte, ok bool) {
	if a.done {
		return nil, false
	}
	d := a.d
	i := skipSpace(d, a.i)
	if i < len(d) && d[i] == ']' {
		a.done, a.i = true, i+1
		return nil, false
	}
	if a.n > 0 {
		if i >= len(d) || d[i] != ',' {
			a.done, a.err = true, true
			return nil, false
		}
		i = skipSpace(d, i+1)
	}
	ve := skipValue(d, i, a.depth)
	if ve < 0 {
		a.done, a.err = true, true
		return nil, false
	}
	a.i = ve
	a.n++
	return d[i:ve], true
}

// unescapeKey decodes an escaped key into buf (capacity 64). Keys that do
// not fit cannot be any key this package looks for, so they are returned
// undecoded rather than allocating.
func unescapeKey(buf, raw []byte) []byte {
	out, ok := appendUnescaped(buf, raw, cap(buf))
	if !ok {
		return raw
	}
	return out
}

// appendUnescaped appends the decoded form of the validated string body raw
// (without quotes) to dst, giving up (ok false) once dst would exceed limit
// bytes; limit < 0 means no limit.
func appendUnescaped(dst, raw []byte, limit int) (out []byte, ok bool) {
	var tmp [utf8.UTFMax]byte
	for i := 0; i < len(raw); {
		c := raw[i]
		var piece []byte
		if c != '\\' {
			piece, i = raw[i:i+1], i+1
		} else {
			switch raw[i+1] {
			case 'b':
				tmp[0] = '\b'
			case 'f':
				tmp[0] = '\f'
			case 'n':
				tmp[0] = '\n'
			case 'r':
				tmp[0] = '\r'
			case 't':
				tmp[0] = '\t'
			case 'u':
				r, n := decodeU(raw[i:])
				piece, i = tmp[:utf8.EncodeRune(tmp[:], r)], i+n
			default: // '"', '\\', '/'
				tmp[0] = raw[i+1]
			}
			if piece == nil {
				piece, i = tmp[:1], i+2
			}
		}
		if limit >= 0 && len(dst)+len(piece) > limit {
			return dst, false
		}
		dst = append(dst, piece...)
	}
	return dst, true
}

// decodeU decodes the \uXXXX escape at the start of s (and a following low
// surrogate escape when s starts with a high one), returning the rune and
// the number of bytes consumed. Lone surrogates become U+FFFD, as in
// encoding/json.
func decodeU(s []byte) (rune, int) {
	r := hex4(s[2:6])
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if r2 := utf16.DecodeRune(r, hex4(s[8:12])); r2 != utf8.RuneError {
			return r2, 12
		}
	}
	return utf8.RuneError, 6
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// strLen returns the decoded length in bytes of the JSON string value v.
// ok is false when v is not a string (null, a number, ...).
func strLen(v []byte) (n int, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return 0, false
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return len(raw), true
	}
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			i++
			n++
			continue
		}
		if raw[i+1] != 'u' {
			i += 2
			n++
			continue
		}
		r, w := decodeU(raw[i:])
		n += utf8.RuneLen(r)
		i += w
	}
	return n, true
}

// str returns the JSON string value v decoded; ok is false if v is not a
// string. Values that are not escaped go through intern to avoid
// allocating for the usual stop reasons.
func str(v []byte) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return intern(raw), true
	}
	out, _ := appendUnescaped(make([]byte, 0, len(raw)), raw, -1)
	return intern(out), true
}

// strEq reports whether v is the JSON string s. Escaped spellings of s are
// not recognised; the wire formats never escape these ASCII tokens.
func strEq(v []byte, s string) bool {
	return len(v) == len(s)+2 && v[0] == '"' && string(v[1:len(v)-1]) == s
}

// num returns the integer value of the JSON number v; ok is false for
// anything else (including null). Fractions are truncated, which only
// matters for a provider that sends 12.0 instead of 12.
func num(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	neg := v[0] == '-'
	i := 0
	if neg {
		i = 1
	}
	var n int64
	for ; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' || n > (1<<63-1-9)/10 {
			return numSlow(v)
		}
		n = n*10 + int64(c-'0')
	}
	if i == 0 || neg && i == 1 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func numSlow(v []byte) (int64, bool) {
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil && f == 0 {
		return 0, false
	}
	const limit = 1 << 62 // saturate absurd values instead of overflowing
	if f > limit {
		return limit, true
	}
	if f < -limit {
		return -limit, true
	}
	return int64(f), true
}

func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }

// valid reports whether d is one complete JSON value with optional
// surrounding whitespace. Only tests use it directly (against json.Valid);
// production code validates as it walks.
func valid(d []byte) bool {
	i := skipSpace(d, 0)
	e := skipValue(d, i, 0)
	return e >= 0 && skipSpace(d, e) == len(d)
}
