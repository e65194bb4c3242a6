package firewall

import (
	"encoding/json"
	"fmt"
	"testing"

	"cel.dev/cel-go/common/types"
)

// The lazy call.arguments reads exactly as the decoded map would.
func TestArgsMapAsDecoded(t *testing.T) {
	args := []string{
		`{"path":"/etc/passwd","n":5,"f":1.5,"neg":-2e3,"ok":true,"no":false,"nil":null,
		  "opts":{"force":true,"depth":{"max":3}},"list":[1,"two",{"x":3}],
		  "esc":"a\"b\\c\u00e9","k\u0065y":"escaped key","dup":1,"dup":2, "sp" :  "spaced" }`,
		`{}`,
		` { "a" : 1 } `,
	}
	exprs := []string{
		`call.arguments.path == '/etc/passwd'`,
		`call.arguments.path.startsWith('/etc/')`,
		`call.arguments.n > 4`,
		`call.arguments.n == 5`,
		`call.arguments.f < 2.0`,
		`call.arguments.neg == -2000.0`,
		`call.arguments.ok && !call.arguments.no`,
		`call.arguments.nil == null`,
		`call.arguments.opts.force`,
		`call.arguments.opts.depth.max == 3`,
		`has(call.arguments.opts.depth)`,
		`has(call.arguments.missing)`,
		`has(call.arguments.path)`,
		`'path' in call.arguments`,
		`'missing' in call.arguments`,
		`size(call.arguments) > 5`,
		`size(call.arguments) == 16`,
		`size(call.arguments) == 0`,
		`size(call.arguments) == 1`,
		`size(call.arguments.list) == 3 && call.arguments.list[1] == 'two'`,
		`call.arguments.list[2].x == 3`,
		`call.arguments.esc == 'a"b\\c` + "\u00e9" + `'`,
		`call.arguments.key == 'escaped key'`,
		`call.arguments.dup == 2`,
		`call.arguments.sp == 'spaced'`,
		`call.arguments.exists(k, k == 'ok')`,
		`call.arguments.all(k, k.size() > 0)`,
		`call.arguments.opts == {'force': true, 'depth': {'max': 3}}`,
		`{'a': 1} == call.arguments`,
		`call.arguments == {}`,
		`type(call.arguments) == map`,
		`call.arguments.?path.orValue('none') == '/etc/passwd'`,
		`call.arguments.?missing.orValue('none') == 'none'`,
		`call.arguments.a == 1`,
		`call.arguments.missing == 1`, // an error both ways
		`dyn(call.arguments)[1] == 1`, // a non-string key
		`string(call.arguments.n) == '5'`,
		`dyn(call.arguments).opts.depth.max == 3.0`,
		`call.arguments.opts.depth.map(k, k) == ['max']`,
	}
	for _, a := range args {
		var native map[string]any
		if err := json.Unmarshal([]byte(a), &native); err != nil {
			t.Fatal(err)
		}
		eager := adapter.NativeToValue(native)
		for _, src := range exprs {
			cr, err := compileCEL(src)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			c := &Call{Name: "x", Arguments: a}
			lazy := &activation{call: &callVal{c: c}, req: &requestVal{}, key: &keyVal{}}
			decoded := &activation{call: &callVal{c: c, args: eager}, req: &requestVal{}, key: &keyVal{}}
			got, gotErr := cr.eval(lazy)
			want, wantErr := cr.eval(decoded)
			if got != want || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("args %.40s… %s: lazy %v %v, decoded %v %v", a, src, got, gotErr, want, wantErr)
			}
		}
	}
}

func TestParseArguments(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // "err", "empty" or "lazy"
	}{
		{"", "empty"}, {"{}", "lazy"}, {" {\"a\":1}", "lazy"},
		{"[]", "err"}, {"null", "err"}, {"1", "err"}, {"{", "err"}, {`{"a":1} x`, "err"}, {`{"a":01}`, "err"},
		{"nope", "err"}, {" ", "err"},
	} {
		v := parseArguments(tt.in)
		var got string
		switch v.(type) {
		case *types.Err:
			got = "err"
		case *argsMap:
			got = "lazy"
		default:
			got = "empty"
		}
		if got != tt.want {
			t.Errorf("parseArguments(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestArgsMapSizeFallsBack(t *testing.T) {
	// More keys than the counter keeps, and long keys: the decoded size.
	for _, n := range []int{31, 32, 33, 100} {
		obj := "{"
		for i := range n {
			if i > 0 {
				obj += ","
			}
			obj += fmt.Sprintf(`"key_%03d":%d`, i, i)
		}
		obj += "}"
		m := parseArguments(obj).(*argsMap)
		if got := m.Size(); got != types.Int(n) {
			t.Errorf("%d keys: Size %v", n, got)
		}
	}
	long := `{"` + fmt.Sprintf("%0600d", 0) + `":1,"b":2}`
	if got := parseArguments(long).(*argsMap).Size(); got != types.Int(2) {
		t.Errorf("long key: Size %v", got)
	}
}
