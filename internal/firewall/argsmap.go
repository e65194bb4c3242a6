package firewall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// call.arguments is read lazily: rules mostly look at one or two members
// (`call.arguments.path`, `has(call.arguments.force)`, `size(...)`), and
// decoding the whole object into a map for each call cost more than the
// rest of a policy. argsMap finds a member by scanning the object's
// top-level members and decodes only that value; iteration, equality and
// conversion decode the whole object, once. Values read as encoding/json
// would decode them: numbers as doubles, objects as maps, null as null.

var errArgsNotObject = errors.New("call.arguments: the arguments are not a JSON object")

var emptyArgs = types.NewStringInterfaceMap(adapter, map[string]any{})

// parseArguments is call.arguments for a call's arguments text: {} for
// none, an error value when it is not a JSON object.
func parseArguments(s string) ref.Val {
	if s == "" {
		return emptyArgs
	}
	b := []byte(s)
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(b) {
		return types.WrapErr(errArgsNotObject)
	}
	return &argsMap{raw: b}
}

// argsMap is a JSON object (valid, checked once by parseArguments) as a
// CEL map(string, dyn).
type argsMap struct {
	raw  []byte
	full ref.Val // the whole object decoded, on first need
}

func (m *argsMap) decoded() ref.Val {
	if m.full == nil {
		var v map[string]any
		if err := json.Unmarshal(m.raw, &v); err != nil {
			m.full = types.WrapErr(err)
		} else {
			m.full = adapter.NativeToValue(v)
		}
	}
	return m.full
}

// member finds a string key's value, decoded.
func (m *argsMap) member(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	raw, found, err := jsonobj.Get(m.raw, string(k))
	if err != nil {
		return types.WrapErr(err), false
	}
	if !found {
		return nil, false
	}
	return jsonValue(raw), true
}

// jsonValue decodes one valid JSON value.
func jsonValue(b []byte) ref.Val {
	switch b[0] {
	case '"':
		if s := b[1 : len(b)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			return types.String(s)
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return types.WrapErr(err)
		}
		return types.String(s)
	case 't':
		return types.True
	case 'f':
		return types.False
	case 'n':
		return types.NullValue
	case '{':
		return &argsMap{raw: b}
	case '[':
		var v []any
		if err := json.Unmarshal(b, &v); err != nil {
			return types.WrapErr(err)
		}
		return adapter.NativeToValue(v)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return types.WrapErr(err)
	}
	return types.Double(f)
}

func (m *argsMap) Get(key ref.Val) ref.Val {
	if _, ok := key.(types.String); !ok {
		return m.decoded().(traits.Indexer).Get(key)
	}
	v, found := m.member(key)
	if !found {
		if v != nil {
			return v
		}
		return types.NewErr("no such key: %v", key)
	}
	return v
}

func (m *argsMap) Find(key ref.Val) (ref.Val, bool) {
	if _, ok := key.(types.String); !ok {
		if mm, ok := m.decoded().(traits.Mapper); ok {
			return mm.Find(key)
		}
		return m.decoded(), false
	}
	v, found := m.member(key)
	if !found {
		return v, false // nil, or an error
	}
	return v, true
}

func (m *argsMap) Contains(key ref.Val) ref.Val {
	if _, ok := key.(types.String); !ok {
		return m.decoded().(traits.Container).Contains(key)
	}
	v, found := m.member(key)
	if !found && v != nil {
		return v
	}
	return types.Bool(found)
}

// Size counts the distinct keys (the last of a repeated key wins, as in
// the decoded map).
func (m *argsMap) Size() ref.Val {
	var buf [512]byte
	var ends [32]int
	n := 0
	err := jsonobj.EachKey(m.raw, func(k []byte) bool {
		start := 0
		if n > 0 {
			start = ends[n-1]
		}
		if n == len(ends) || start+len(k) > len(buf) {
			n = -1
			return false
		}
		prev := 0
		for _, end := range ends[:n] {
			if bytes.Equal(buf[prev:end], k) {
				return true // a repeated key
			}
			prev = end
		}
		ends[n] = start + copy(buf[start:], k)
		n++
		return true
	})
	if err != nil || n < 0 {
		return m.decoded().(traits.Sizer).Size()
	}
	return types.Int(n)
}

func (m *argsMap) Iterator() traits.Iterator { return m.decoded().(traits.Iterable).Iterator() }

func (m *argsMap) ConvertToNative(t reflect.Type) (any, error) {
	return m.decoded().ConvertToNative(t)
}

func (m *argsMap) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return m.decoded().ConvertToType(t)
}

func (m *argsMap) Equal(other ref.Val) ref.Val { return m.decoded().Equal(other) }
func (m *argsMap) Type() ref.Type              { return types.MapType }
func (m *argsMap) Value() any                  { return m.decoded().Value() }

func (m *argsMap) String() string { return fmt.Sprintf("%s", m.raw) }

var _ traits.Mapper = (*argsMap)(nil)
