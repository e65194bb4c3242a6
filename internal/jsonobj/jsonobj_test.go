package jsonobj

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGetSetDelete(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		op     string
		key    string
		value  string
		want   string
		errors bool
	}{
		{"replace", `{"model":"openai:gpt-4o","x":1}`, "set", "model", `"gpt-4o"`, `{"model":"gpt-4o","x":1}`, false},
		{"append", `{"a":1}`, "set", "stream_options", `{"include_usage":true}`, `{"a":1,"stream_options":{"include_usage":true}}`, false},
		{"append empty", ` { } `, "set", "a", `1`, ` { "a":1} `, false},
		{"delete middle", `{"a":1, "models":["x","y"], "b":2}`, "delete", "models", "", `{"a":1, "b":2}`, false},
		{"delete last", `{"a":1,"models":[]}`, "delete", "models", "", `{"a":1}`, false},
		{"delete only", `{"models":[1,{"a":"}"}]}`, "delete", "models", "", `{}`, false},
		{"delete absent", `{"a":1}`, "delete", "models", "", `{"a":1}`, false},
		{"delete duplicate", `{"m":1,"a":2,"m":3}`, "delete", "m", "", `{"a":2}`, false},
		{"escaped key", `{"mo\u0064el":"x"}`, "set", "model", `"y"`, `{"mo\u0064el":"y"}`, false},
		{"nested key untouched", `{"a":{"model":"x"}}`, "set", "model", `"y"`, `{"a":{"model":"x"},"model":"y"}`, false},
		{"string with braces", `{"s":"}{\"model\":1","model":"z"}`, "set", "model", `"y"`, `{"s":"}{\"model\":1","model":"y"}`, false},
		{"array body", `[1,2]`, "set", "a", `1`, "", true},
		{"truncated", `{"a":`, "set", "a", `1`, "", true},
		{"trailing", `{"a":1} x`, "set", "a", `1`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var err error
			if tt.op == "set" {
				got, err = Set([]byte(tt.in), tt.key, []byte(tt.value))
			} else {
				got, err = Delete([]byte(tt.in), tt.key)
			}
			if tt.errors {
				if err == nil {
					t.Fatalf("expected error, got %s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
		})
	}
}

func TestGet(t *testing.T) {
	v, ok, err := Get([]byte(`{"a":{"b":1},"model" : "gpt-4o" }`), "model")
	if err != nil || !ok || string(v) != `"gpt-4o"` {
		t.Fatalf("%s %v %v", v, ok, err)
	}
	_, ok, _ = Get([]byte(`{"a":1}`), "model")
	if ok {
		t.Fatal("found absent key")
	}
}

// FuzzEdit checks Set and Delete against encoding/json's view of the object.
func FuzzEdit(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{}`, `{"model":"x","models":["a"],"n":[{"x":"]"}]}`, `{"a":"\"","b":null}`} {
		f.Add(s, "model")
	}
	f.Fuzz(func(t *testing.T, in, key string) {
		if !utf8.ValidString(key) {
			return // not a key a client could send
		}
		var before map[string]json.RawMessage
		if json.Unmarshal([]byte(in), &before) != nil || before == nil {
			_, _ = Set([]byte(in), key, []byte(`1`)) // must not panic
			_, _ = Delete([]byte(in), key)
			return
		}
		set, err := Set([]byte(in), key, []byte(`"v"`))
		if err != nil {
			t.Fatalf("Set(%q): %v", in, err)
		}
		var after map[string]any
		if err := json.Unmarshal(set, &after); err != nil {
			t.Fatalf("Set(%q) made invalid JSON %q", in, set)
		}
		if after[key] != "v" {
			t.Fatalf("Set(%q) = %q: key not set", in, set)
		}
		del, err := Delete([]byte(in), key)
		if err != nil {
			t.Fatalf("Delete(%q): %v", in, err)
		}
		var gone map[string]any
		if err := json.Unmarshal(del, &gone); err != nil {
			t.Fatalf("Delete(%q) made invalid JSON %q", in, del)
		}
		if _, ok := gone[key]; ok {
			t.Fatalf("Delete(%q) kept key", in)
		}
		var want map[string]any
		_ = json.Unmarshal([]byte(in), &want)
		delete(want, key)
		if !reflect.DeepEqual(want, gone) {
			t.Fatalf("Delete(%q) changed other members: %q", in, del)
		}
	})
}

func BenchmarkSetModel(b *testing.B) {
	body := []byte(`{"model":"openai:gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about recursion in programming."}],"temperature":0.7,"stream":true}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = Set(body, "model", []byte(`"gpt-4o-mini"`))
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{`{}`, nil, false},
		{`{"a":1,"b":[1,{"c":2}],"a":3}`, []string{"a", "b", "a"}, false},
		{`{"max_tokens":1,"MAX_TOKENS":2}`, []string{"max_tokens", "MAX_TOKENS"}, false},
		{`{"m\u0061x_tokens":1}`, []string{"max_tokens"}, false},
		{`[1]`, nil, true},
		{`{"a":1`, nil, true},
		{`{"a":1} x`, nil, true},
	} {
		got, err := Keys([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("Keys(%s) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Keys(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckStrict(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"name":"a","metadata":{"x":"1"}}`, true},
		{`{}`, true},
		{`null`, false},
		{`[]`, false},
		{`"x"`, false},
		{`{"name":"a","name":"b"}`, false},
		{`{"access":{"models":{"allow":[]},"models":{}}}`, false},
		{`{"list":[{"a":1},{"a":2,"a":3}]}`, false},
		{"{\"name\":\"\xff\"}", false},
		{`{"a":1} {}`, false},
		{`{"a":1`, false},
		{deep, false},
	} {
		if err := CheckStrict([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("CheckStrict(%.40s) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}
