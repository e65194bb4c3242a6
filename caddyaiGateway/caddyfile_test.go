package caddyaigateway

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of the Caddyfile adapt tests")

// Golden files: testdata/caddyfile_adapt/*.caddyfiletest, in the manner of
// caddytest.CompareAdapt (and caddy-l4's integration/caddyfile_adapt). Each
// holds a Caddyfile, a line of ten dashes, then what is expected:
//
//   - the adapted JSON, tab-indented. It must also pass `caddy validate`
//     (every module provisioned, nothing started), so a golden file never
//     enshrines a config the modules would refuse.
//   - `error: <text>`: adapting fails with an error containing <text>.
//   - `validate error: <text>`: adapting succeeds (the parser passes the
//     value through) and `caddy validate` fails with an error containing
//     <text>: checks made by the modules' Provision/Validate (prices, CEL,
//     purchase bounds) rather than by the Caddyfile parser.
//
// `go test -run TestCaddyfileAdapt -update` rewrites the JSON of the
// files that expect JSON; error expectations are written by hand.
const (
	goldenSeparator     = "----------\n"
	goldenAdaptError    = "error: "
	goldenValidateError = "validate error: "
)

func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no adapt tests")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".caddyfiletest"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cf, want, ok := strings.Cut(string(raw), goldenSeparator)
			if !ok {
				t.Fatalf("%s: missing %q separator line", f, strings.TrimSpace(goldenSeparator))
			}
			want = strings.TrimSpace(want)

			got, warnings, adaptErr := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
			for _, w := range warnings {
				t.Logf("warning: %s:%d: %s: %s", f, w.Line, w.Directive, w.Message)
			}

			switch {
			case strings.HasPrefix(want, goldenAdaptError):
				sub := strings.TrimSpace(strings.TrimPrefix(want, goldenAdaptError))
				if adaptErr == nil {
					t.Fatalf("%s: adapted without error, want an error containing %q; got:\n%s", f, sub, indent(got))
				}
				if !strings.Contains(adaptErr.Error(), sub) {
					t.Fatalf("%s: adapt error\n\t%v\ndoes not contain\n\t%s", f, adaptErr, sub)
				}

			case strings.HasPrefix(want, goldenValidateError):
				sub := strings.TrimSpace(strings.TrimPrefix(want, goldenValidateError))
				if adaptErr != nil {
					t.Fatalf("%s: adapt: %v (want adapt to succeed and validate to fail with %q)", f, adaptErr, sub)
				}
				err := validateJSON(got)
				if err == nil {
					t.Fatalf("%s: passed caddy validate, want an error containing %q; adapted JSON:\n%s", f, sub, indent(got))
				}
				if !strings.Contains(err.Error(), sub) {
					t.Fatalf("%s: validate error\n\t%v\ndoes not contain\n\t%s", f, err, sub)
				}

			default:
				if adaptErr != nil {
					t.Fatalf("%s: adapt: %v", f, adaptErr)
				}
				pretty := indent(got)
				if *update {
					if err := os.WriteFile(f, []byte(cf+goldenSeparator+pretty+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				} else if pretty != want {
					t.Errorf("%s: adapted JSON differs (- expected, + got; run with -update to accept):\n%s", f, lineDiff(want, pretty))
				}
				if err := validateJSON(got); err != nil {
					t.Errorf("%s: adapted JSON fails caddy validate: %v", f, err)
				}
			}
		})
	}
}

// validateJSON is `caddy validate`: it provisions every module of the
// config (the ai app's Provision has no side effects) and cleans up.
func validateJSON(cfgJSON []byte) error {
	var cfg caddy.Config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return fmt.Errorf("decoding adapted JSON: %w", err)
	}
	return caddy.Validate(&cfg)
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "\t"); err != nil {
		return string(b)
	}
	return strings.TrimSpace(buf.String())
}

// lineDiff is a minimal line diff (longest common subsequence): lines only
// in want are marked -, lines only in got +, and common lines are shown
// only within 3 lines of a change.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, line{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', a[i]})
			i++
		default:
			lines = append(lines, line{'+', b[j]})
			j++
		}
	}
	const ctx = 3
	var out strings.Builder
	skipped := false
	for k, l := range lines {
		near := false
		for d := max(0, k-ctx); d <= min(len(lines)-1, k+ctx); d++ {
			if lines[d].op != ' ' {
				near = true
				break
			}
		}
		if !near {
			if !skipped {
				out.WriteString("  ...\n")
				skipped = true
			}
			continue
		}
		skipped = false
		fmt.Fprintf(&out, "%c %s\n", l.op, l.text)
	}
	return out.String()
}
