package usage

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestValidMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `true`, `false`, `null`,
		` {"a" : [1, 2, {"b": null}], "c": "d\u00e9\n\"", "e": -1.0E-2 } `,
		`{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{,}`, `[,1]`, `{"a":1 "b":2}`,
		`01`, `1.`, `.1`, `1e`, `-`, `+1`, `tru`, `nul`, `"\x"`, `"\u12"`, "\"a\x01\"",
		`"unterminated`, `{"a":1}}`, `[1] [2]`, ``, ` `, `"\ud83d\ude00"`, `"\ud800"`,
		`{"a":{"b":{"c":[[[[]]]]}}}`, "\t[\r\n1\n]\t",
	}
	for _, in := range inputs {
		if got, want := valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("valid(%q) = %v, json.Valid = %v", in, got, want)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	deep := make([]byte, 0, 2*maxDepth+2)
	for range maxDepth + 1 {
		deep = append(deep, '[')
	}
	for range maxDepth + 1 {
		deep = append(deep, ']')
	}
	if valid(deep) {
		t.Fatal("nesting beyond maxDepth accepted")
	}
	if !valid(deep[1 : len(deep)-1]) {
		t.Fatal("nesting at maxDepth rejected")
	}
}

func TestStrLenAndStr(t *testing.T) {
	for _, in := range []string{
		`""`, `"hello"`, `"line\nbreak\ttab\\ \/ \""`, `"caf\u00e9"`, `"\u20ac"`,
		`"\ud83d\ude00 emoji"`, `"lone \ud800 high"`, `"lone \udc00 low"`, `"\ud800\u0041"`,
		`"héllo ünïcode"`, `"{\"location\":\"Paris\"}"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if n, ok := strLen([]byte(in)); !ok || n != len(want) {
			t.Errorf("strLen(%s) = %d, %v; want %d", in, n, ok, len(want))
		}
		if s, ok := str([]byte(in)); !ok || s != want {
			t.Errorf("str(%s) = %q, %v; want %q", in, s, ok, want)
		}
	}
	for _, in := range []string{`null`, `1`, `{}`, ``} {
		if _, ok := strLen([]byte(in)); ok {
			t.Errorf("strLen(%s) ok for a non-string", in)
		}
		if _, ok := str([]byte(in)); ok {
			t.Errorf("str(%s) ok for a non-string", in)
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"-7", -7, true}, {"12.0", 12, true}, {"1e3", 1000, true},
		{"9223372036854775807", 1 << 62, true}, {"1e400", 1 << 62, true},
		{"null", 0, false}, {`"5"`, 0, false}, {"", 0, false}, {"-", 0, false}, {"true", 0, false},
	}
	for _, tt := range tests {
		if got, ok := num([]byte(tt.in)); got != tt.want || ok != tt.ok {
			t.Errorf("num(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestObjectEscapedKeys(t *testing.T) {
	o := newObject([]byte(`{"\u0075sage": 1, "pr\u006fmpt_tokens" : 2, "a\"b":3}`))
	var keys []string
	for k, _, ok := o.next(); ok; k, _, ok = o.next() {
		keys = append(keys, string(k))
	}
	if o.err || len(keys) != 3 || keys[0] != "usage" || keys[1] != "prompt_tokens" || keys[2] != `a"b` {
		t.Fatalf("keys %q, err %v", keys, o.err)
	}
}

// FuzzScanner checks the walker against encoding/json: same validity
// verdict, and for objects the same members and string lengths.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		`{"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":0}}}`,
		`{"choices":[{"delta":{"content":"caf\u00e9\n"}}],"usage":null}`,
		`[1,2.5e3,-0,"x",true,false,null,{}]`,
		`{"a":"\ud83d\ude00","b":"\ud800"}`,
		`{"a":1,}`, `"\u00`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ok := valid(in)
		if ok != json.Valid(in) {
			t.Fatalf("valid = %v, json.Valid = %v", ok, !ok)
		}
		if !ok {
			return
		}
		trimmed := trimSpace(in)
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return
		}
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &ref); err != nil {
			t.Fatal(err)
		}
		o := newObject(trimmed)
		seen := map[string]bool{}
		for k, v, more := o.next(); more; k, v, more = o.next() {
			key := string(k)
			// Long escaped keys are deliberately left raw, and encoding/json
			// replaces invalid UTF-8 where the walker keeps bytes as sent.
			if len(key) > 64 || !utf8.Valid(k) {
				continue
			}
			seen[key] = true
			if _, found := ref[key]; !found {
				t.Fatalf("key %q not found by encoding/json", key)
			}
			var s string
			if v[0] == '"' && utf8.Valid(v) && json.Unmarshal(v, &s) == nil {
				if n, ok := strLen(v); !ok || n != len(s) {
					t.Fatalf("strLen(%s) = %d, want %d", v, n, len(s))
				}
				if got, _ := str(v); got != s {
					t.Fatalf("str(%s) = %q, want %q", v, got, s)
				}
			}
		}
		if o.err || o.i != len(trimmed) {
			t.Fatalf("walk failed on valid input: err %v, end %d of %d", o.err, o.i, len(trimmed))
		}
		if len(seen) > len(ref) {
			t.Fatalf("walker saw %d distinct keys, encoding/json %d", len(seen), len(ref))
		}
	})
}
