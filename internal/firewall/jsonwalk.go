package firewall

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// Reading request bodies without decoding them: a reader pulls the values
// an adapter needs out of the body in one pass, skipping the rest (images,
// tool schemas) with a quick scan, and copies only the strings it keeps.
// encoding/json validated and decoded the whole body at about 40 MB/s. The
// body was checked by the gateway (clientreq) before; on malformed JSON
// the reader stops with an error, it never panics.

var (
	errNotArray   = errors.New("not a JSON array")
	errJSONSyntax = errors.New("invalid JSON")
)

// reader pulls values out of one JSON text. Its methods take the position
// of a value and return the position after it; the first error sticks and
// makes every later call return at once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) int {
	if r.err == nil {
		r.err = err
	}
	return len(r.b)
}

// skip returns the end of the value at i.
func (r *reader) skip(i int) int {
	if r.err != nil {
		return len(r.b)
	}
	end, err := jsonobj.SkipValue(r.b, i)
	if err != nil {
		return r.fail(err)
	}
	return end
}

// raw returns the value at i and its end.
func (r *reader) raw(i int) ([]byte, int) {
	end := r.skip(i)
	if r.err != nil {
		return nil, end
	}
	return r.b[i:end], end
}

// str returns the text of the string at i ("" for any other value) and
// its end.
func (r *reader) str(i int) (string, int) {
	v, end := r.raw(i)
	return jsonString(v), end
}

func (r *reader) is(i int, c byte) bool { return i < len(r.b) && r.b[i] == c }

func (r *reader) null(i int) bool { return isNull(r.b[min(i, len(r.b)):]) }

// object reads the object at i: fn gets each member's name (unescaped) and
// the position of its value, and returns the value's end having read it,
// or -1 to have it skipped. Any other value is skipped.
func (r *reader) object(i int, fn func(key []byte, v int) int) int {
	if r.err != nil {
		return len(r.b)
	}
	if !r.is(i, '{') {
		return r.skip(i)
	}
	b := r.b
	i = jsonobj.SkipSpace(b, i+1)
	if r.is(i, '}') {
		return i + 1
	}
	for r.err == nil {
		if !r.is(i, '"') {
			return r.fail(errJSONSyntax)
		}
		ke, err := jsonobj.SkipString(b, i)
		if err != nil {
			return r.fail(err)
		}
		key := b[i+1 : ke-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(unquote(key))
		}
		i = jsonobj.SkipSpace(b, ke)
		if !r.is(i, ':') {
			return r.fail(errJSONSyntax)
		}
		vs := jsonobj.SkipSpace(b, i+1)
		ve := fn(key, vs)
		if ve < 0 {
			ve = r.skip(vs)
		}
		if r.err != nil {
			break
		}
		i = jsonobj.SkipSpace(b, ve)
		switch {
		case r.is(i, ','):
			i = jsonobj.SkipSpace(b, i+1)
		case r.is(i, '}'):
			return i + 1
		default:
			return r.fail(errJSONSyntax)
		}
	}
	return len(r.b)
}

// array reads the array at i: fn gets each element's position and returns
// its end having read it, or -1 to have it skipped. Any other value is
// skipped.
func (r *reader) array(i int, fn func(e int) int) int {
	if r.err != nil {
		return len(r.b)
	}
	if !r.is(i, '[') {
		return r.skip(i)
	}
	b := r.b
	i = jsonobj.SkipSpace(b, i+1)
	if r.is(i, ']') {
		return i + 1
	}
	for r.err == nil {
		ve := fn(i)
		if ve < 0 {
			ve = r.skip(i)
		}
		if r.err != nil {
			break
		}
		i = jsonobj.SkipSpace(b, ve)
		switch {
		case r.is(i, ','):
			i = jsonobj.SkipSpace(b, i+1)
		case r.is(i, ']'):
			return i + 1
		default:
			return r.fail(errJSONSyntax)
		}
	}
	return len(r.b)
}

// top reads a whole body as an object.
func (r *reader) top(fn func(key []byte, v int) int) error {
	i := jsonobj.SkipSpace(r.b, 0)
	if !r.is(i, '{') {
		return jsonobj.ErrNotObject
	}
	end := r.object(i, fn)
	if r.err == nil && jsonobj.SkipSpace(r.b, end) != len(r.b) {
		r.fail(errJSONSyntax)
	}
	return r.err
}

// arrayOrNull fails unless the value at i is an array or null.
func (r *reader) arrayOrNull(i int) {
	if !r.is(i, '[') && !r.null(i) {
		r.fail(errNotArray)
	}
}

// memberString is the string member key of obj ("" if none); the last one
// when the name repeats.
func memberString(obj []byte, key string) string {
	var s string
	r := &reader{b: obj}
	r.object(jsonobj.SkipSpace(obj, 0), func(k []byte, v int) int {
		if string(k) != key {
			return -1
		}
		var end int
		s, end = r.str(v)
		return end
	})
	return s
}

func isNull(b []byte) bool { return len(b) >= 4 && string(b[:4]) == "null" }

// jsonString is a JSON string value's text; "" for anything else.
func jsonString(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	return unquote(s)
}

// unquote decodes a JSON string's contents as encoding/json does: the
// escapes, surrogate pairs, and U+FFFD for invalid UTF-8 or a lone
// surrogate. Malformed escapes (which a checked body does not have) end
// the string.
func unquote(s []byte) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i += 2
			switch s[i-1] {
			case '"', '\\', '/':
				out = append(out, s[i-1])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s, i)
				if !ok {
					return string(out)
				}
				i += 4
				if utf16.IsSurrogate(r) {
					if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							i += 6
							out = utf8.AppendRune(out, d)
							continue
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return string(out)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, s[i:i+n]...)
			}
			i += n
		}
	}
	return string(out)
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// textAt appends the text of the content at i to dst: a JSON string, or
// the text parts ("text", "input_text") of an array of parts. It returns
// the content's end.
func (r *reader) textAt(i int, dst *[]string) int {
	if r.is(i, '"') {
		s, end := r.str(i)
		if s != "" {
			*dst = append(*dst, s)
		}
		return end
	}
	return r.array(i, func(e int) int {
		var typ string
		var text []byte
		end := r.object(e, func(k []byte, v int) int {
			var end int
			switch string(k) {
			case "type":
				typ, end = r.str(v)
			case "text":
				text, end = r.raw(v)
			default:
				return -1
			}
			return end
		})
		if typ == "text" || typ == "input_text" {
			if s := jsonString(text); s != "" {
				*dst = append(*dst, s)
			}
		}
		return end
	})
}

// appendText appends the text of a content value (see textAt).
func appendText(dst []string, v []byte) []string {
	if len(v) > 0 {
		r := &reader{b: v}
		r.textAt(jsonobj.SkipSpace(v, 0), &dst)
	}
	return dst
}

// argumentsOf is a call's arguments as the model wrote them: a string's
// value, or the compact JSON of anything else (a lenient server's object).
func argumentsOf(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || isNull(v) {
		return ""
	}
	if v[0] == '"' {
		return jsonString(v)
	}
	return compactJSON(v)
}
