// Package jsonobj reads and edits the top-level members of a JSON object in
// place, without decoding the rest. The gateway forwards request bodies
// untouched except for a few members (model, models, stream_options);
// re-encoding a whole body (with its images and tool schemas) to change one
// member would cost time and could alter what the client sent.
//
// Why hand-written: github.com/tidwall/sjson (v1.2.9) edits in place too,
// but does not reject what we reject and changes what we keep. It set the
// member in `{"model":"a"`, `{"model":"a"} x` and `{"x":1,}` (writing
// `{"x":1,,"model":"Z"}`) where Set refuses them; with a duplicate key it
// replaced the first "model" while the upstream (last wins, as
// encoding/json) reads the second, so a client could keep its own model;
// and Delete left `{"a":1 ,"b":2}` where ours leaves `{"a":1, "b":2}`. It
// also allocated more: BenchmarkSetModel 223-236 ns, 208 B, 1 alloc here
// against 233-263 ns, 336 B, 5 allocs with sjson.SetRawBytes.
// encoding/json/v2 (jsontext) needs GOEXPERIMENT=jsonv2 in Go 1.26.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrNotObject is returned when the body is not a JSON object.
var ErrNotObject = errors.New("request body is not a JSON object")

type member struct {
	start, end       int // the member "key": value, without separators
	valStart, valEnd int
}

// scan walks the top-level members of obj in order, calling fn with each
// member's key (raw, quotes included) and value bounds until fn returns
// false. It validates the object's structure as far as it scans, but not
// the contents of nested values. closeIdx is the index of the closing
// brace when the whole object was scanned.
func scan(obj []byte, fn func(m member, rawKey []byte) bool) (count int, closeIdx int, err error) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, 0, ErrNotObject
	}
	i = skipWS(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		if skipWS(obj, i+1) != len(obj) {
			return 0, 0, errors.New("trailing data after JSON object")
		}
		return 0, i, nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return 0, 0, syntaxErr(i)
		}
		ks := i
		ke, err := skipString(obj, i)
		if err != nil {
			return 0, 0, err
		}
		i = skipWS(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return 0, 0, syntaxErr(i)
		}
		vs := skipWS(obj, i+1)
		ve, err := skipValue(obj, vs)
		if err != nil {
			return 0, 0, err
		}
		count++
		if !fn(member{start: ks, end: ve, valStart: vs, valEnd: ve}, obj[ks:ke]) {
			return count, 0, nil
		}
		i = skipWS(obj, ve)
		if i >= len(obj) {
			return 0, 0, syntaxErr(i)
		}
		switch obj[i] {
		case ',':
			i = skipWS(obj, i+1)
		case '}':
			if skipWS(obj, i+1) != len(obj) {
				return 0, 0, errors.New("trailing data after JSON object")
			}
			return count, i, nil
		default:
			return 0, 0, syntaxErr(i)
		}
	}
}

// find locates key among the top-level members of obj (the last one when
// the key repeats: encoding/json, and most providers, take the last).
func find(obj []byte, key string) (m member, count int, closeIdx int, found bool, err error) {
	count, closeIdx, err = scan(obj, func(mm member, rawKey []byte) bool {
		if keyEquals(rawKey, key) {
			m, found = mm, true
		}
		return true
	})
	if err != nil {
		return member{}, 0, 0, false, err
	}
	return m, count, closeIdx, found, nil
}

// Keys returns the names of the top-level members of obj, in order,
// duplicates included.
func Keys(obj []byte) ([]string, error) {
	var keys []string
	err := EachKey(obj, func(k []byte) bool {
		keys = append(keys, string(k))
		return true
	})
	return keys, err
}

// EachKey calls fn with the name of each top-level member of obj, in
// order, until fn returns false. The name aliases obj when it has no
// escapes (so no allocation), and is only valid during the call.
func EachKey(obj []byte, fn func(key []byte) bool) error {
	return EachMember(obj, func(key, _ []byte) bool { return fn(key) })
}

// EachMember is EachKey with each member's raw value.
func EachMember(obj []byte, fn func(key, value []byte) bool) error {
	var kerr error
	_, _, err := scan(obj, func(m member, rawKey []byte) bool {
		inner := rawKey[1 : len(rawKey)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			return fn(inner, obj[m.valStart:m.valEnd])
		}
		var k string
		if kerr = json.Unmarshal(rawKey, &k); kerr != nil {
			return false
		}
		return fn([]byte(k), obj[m.valStart:m.valEnd])
	})
	if err == nil {
		err = kerr
	}
	return err
}

// CheckStrict reports whether b is one JSON object in valid UTF-8 with no
// member given twice in any object, at any depth: a body whose reading
// would depend on which duplicate a parser keeps is refused instead.
func CheckStrict(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return ErrNotObject
	}
	if err := checkObject(dec, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON object")
	}
	return nil
}

const maxStrictDepth = 64

func checkObject(dec *json.Decoder, depth int) error {
	if depth > maxStrictDepth {
		return fmt.Errorf("nested deeper than %d levels", maxStrictDepth)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := tok.(string)
		if seen[k] {
			return fmt.Errorf("member %q is given twice", k)
		}
		seen[k] = true
		if err := checkValue(dec, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	return err
}

func checkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth+1 > maxStrictDepth {
		return fmt.Errorf("nested deeper than %d levels", maxStrictDepth)
	}
	if d == '{' {
		return checkObject(dec, depth+1)
	}
	for dec.More() {
		if err := checkValue(dec, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ]
	return err
}

// Get returns the raw value of the top-level member key.
func Get(obj []byte, key string) ([]byte, bool, error) {
	m, _, _, found, err := find(obj, key)
	if err != nil || !found {
		return nil, false, err
	}
	return obj[m.valStart:m.valEnd], true, nil
}

// Set returns obj with member key set to the raw JSON value (replaced in
// place when present, appended otherwise). value must be valid JSON.
func Set(obj []byte, key string, value []byte) ([]byte, error) {
	m, count, closeIdx, found, err := find(obj, key)
	if err != nil {
		return nil, err
	}
	if found {
		out := make([]byte, 0, len(obj)-(m.valEnd-m.valStart)+len(value))
		out = append(out, obj[:m.valStart]...)
		out = append(out, value...)
		return append(out, obj[m.valEnd:]...), nil
	}
	k, _ := json.Marshal(key)
	out := make([]byte, 0, len(obj)+len(k)+len(value)+2)
	out = append(out, obj[:closeIdx]...)
	if count > 0 {
		out = append(out, ',')
	}
	out = append(out, k...)
	out = append(out, ':')
	out = append(out, value...)
	return append(out, obj[closeIdx:]...), nil
}

// Delete returns obj without the member key (every occurrence). It
// returns obj itself when key is absent.
func Delete(obj []byte, key string) ([]byte, error) {
	for {
		m, _, _, found, err := find(obj, key)
		if err != nil {
			return nil, err
		}
		if !found {
			return obj, nil
		}
		// Remove the member and one adjacent comma: the following one if
		// any, else the preceding one.
		start, end := m.start, m.end
		j := skipWS(obj, end)
		if obj[j] == ',' {
			end = skipWS(obj, j+1)
		} else {
			k := start - 1
			for k >= 0 && isWS(obj[k]) {
				k--
			}
			if obj[k] == ',' {
				start = k
			}
		}
		out := make([]byte, 0, len(obj)-(end-start))
		out = append(out, obj[:start]...)
		obj = append(out, obj[end:]...)
	}
}

func keyEquals(raw []byte, key string) bool {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return false
			}
			return s == key
		}
	}
	return string(inner) == key
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

func syntaxErr(i int) error { return fmt.Errorf("invalid JSON at offset %d", i) }

// SkipValue returns the index just past the JSON value starting at b[i]
// (no space before it), for readers that walk a body without decoding it.
func SkipValue(b []byte, i int) (int, error) { return skipValue(b, i) }

// SkipString returns the index just past the JSON string starting at
// b[i] (its opening quote).
func SkipString(b []byte, i int) (int, error) { return skipString(b, i) }

// SkipSpace returns the index of the first byte at or after b[i] that is
// not JSON white space.
func SkipSpace(b []byte, i int) int { return skipWS(b, i) }

// skipString returns the index just past the string starting at b[i]=='"'.
func skipString(b []byte, i int) (int, error) {
	// Keys and short values end within a few bytes, where a plain loop is
	// quicker than IndexByte's setup.
	j := i + 1
	for limit := min(len(b), j+32); j < limit; j++ {
		switch b[j] {
		case '"':
			return j + 1, nil
		case '\\':
			j++
		}
	}
	// Then jump from quote to quote (IndexByte is vectorised): a quote ends
	// the string unless an odd number of backslashes escapes it.
	for j = min(j, len(b)); ; {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errors.New("unterminated string in JSON")
		}
		q := j + k
		escapes := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			escapes++
		}
		if escapes%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, syntaxErr(i)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated object or array in JSON")
	default:
		j := i
		for j < len(b) && !isWS(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		if j == i {
			return 0, syntaxErr(i)
		}
		return j, nil
	}
}
