package firewall

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// jsonString reads every string as encoding/json does.
func TestJSONStringAsEncodingJSON(t *testing.T) {
	cases := []string{
		`""`, `"plain"`, `"a\"b"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u00e9\u00E9"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, "\"caf\xc3\xa9\"", "\"bad \xff byte\"",
		"\"\xed\xa0\x80\"", `"{\"city\":\"Paris\"}"`, `"` + string(rune(0x10FFFF)) + `"`,
	}
	rng := rand.New(rand.NewPCG(7, 7))
	pieces := []string{`a`, `\"`, `\\`, `\n`, `\u0041`, `\ud83d`, `\ude00`, `\u00e9`, "\xff", "\xc3", "\xa9", `é`, `/`, `\/`, ` `}
	for range 20000 {
		s := `"`
		for n := rng.IntN(8); n >= 0; n-- {
			s += pieces[rng.IntN(len(pieces))]
		}
		cases = append(cases, s+`"`)
	}
	for _, c := range cases {
		var want string
		if err := json.Unmarshal([]byte(c), &want); err != nil {
			continue
		}
		if got := jsonString([]byte(c)); got != want {
			t.Fatalf("jsonString(%q) = %q, want %q", c, got, want)
		}
	}
}

func TestSkipJSONValue(t *testing.T) {
	for _, tt := range []struct {
		in  string
		end int // -1: an error
	}{
		{`"abc",`, 5}, {`"a\"b"]`, 6}, {`"a\\"x`, 5}, {`"long string that is longer than thirty-two bytes \" with an escape"}`, 68},
		{`{"a":[1,"]"]}x`, 13}, {`[{"}":"{"}] `, 11}, {`123,`, 3}, {`true}`, 4}, {`"open`, -1}, {`{"a":1`, -1}, {``, -1}, {`,`, -1},
		{`"` + "\\\\\\\\" + `"`, 6},
	} {
		end, err := jsonobj.SkipValue([]byte(tt.in), 0)
		if tt.end < 0 {
			if err == nil {
				t.Errorf("jsonobj.SkipValue(%q) = %d, want an error", tt.in, end)
			}
			continue
		}
		if err != nil || end != tt.end {
			t.Errorf("jsonobj.SkipValue(%q) = %d, %v, want %d", tt.in, end, err, tt.end)
		}
	}
}
