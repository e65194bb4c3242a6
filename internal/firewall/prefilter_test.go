package firewall

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var prefilterPatterns = []string{
	`(?i)ignore (all )?previous instructions`,
	`(?i)\b(api[_-]?key|password)\s*[:=]`,
	`/etc/(passwd|shadow)`,
	`rm\s+-rf`,
	`(?i)DROP\s+TABLE`,
	`(?i)kelvin`,
	`(?i)ssh`,
	`(?i)(ab)+c`,
	`x{2,}yz`,
	`^(rm|rmdir|unlink)$`,
	`(?i)shell|exec`,
	`(?i)é+t`, // non-ASCII folding: no prefilter
	`a.*b`,
	`(foo|bar|)baz`,
	`(?i)[a-z]+_admin`,
	`\x{fffd}abc`,
}

func TestPrefilterShapes(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		alts    []string // nil: no prefilter
		fold    bool
	}{
		{`(?i)ignore (all )?previous instructions`, []string{"previous instructions"}, true},
		{`(?i)\b(api[_-]?key|password)\s*[:=]`, []string{"api", "password"}, true},
		{`/etc/(passwd|shadow)`, []string{"passwd", "shadow"}, false},
		{`rm\s+-rf`, []string{"-rf"}, false},
		{`^(rm|rmdir|unlink)$`, []string{"rm", "unlink"}, false},
		{`(?i)é+t`, nil, false},
		{`a.*b`, nil, false},
		{`(foo|bar|)baz`, []string{"baz"}, false},
		{`x{2,}yz`, []string{"yz"}, false},
		{`\x{fffd}abc`, nil, false}, // U+FFFD also matches invalid bytes
	} {
		f := newPrefilter(tt.pattern)
		var alts []string
		if f != nil {
			alts = f.alts
			if f.fold != tt.fold {
				t.Errorf("%s: fold %v", tt.pattern, f.fold)
			}
		}
		slices.Sort(alts)
		want := slices.Clone(tt.alts)
		slices.Sort(want)
		if !slices.Equal(alts, want) {
			t.Errorf("%s: prefilter %q, want %q", tt.pattern, alts, want)
		}
	}
}

// The prefilter never says no where the regexp matches, whatever the case
// and whatever folds to what (the Kelvin sign, the long s).
func TestPrefilterNeverMisses(t *testing.T) {
	pieces := []string{"ignore", "previous", "INSTRUCTIONS", "Previous Instructions", "api", "API_KEY", "password", "PaSSword",
		"pa\u017f\u017fword", "\u212aelvin", "kELVIN", "/etc/", "passwd", "shadow", "rm", " -rf", "-RF", "drop", "TABLE",
		"ssh", "\u017f\u017fh", "ab", "AB", "c", "xx", "yz", "rmdir", "unlink", "shell", "EXEC", "é", "É", "t", "baz",
		"_admin", "\ufffd", "\xff", "abc", " ", ":", "=", "\n", "x", "a", "b"}
	res := make([]*regexp.Regexp, len(prefilterPatterns))
	filters := make([]*prefilter, len(prefilterPatterns))
	for i, p := range prefilterPatterns {
		res[i] = regexp.MustCompile(p)
		filters[i] = newPrefilter(p)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for n := rng.IntN(8); n >= 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		for i, re := range res {
			if filters[i] != nil && re.MatchString(text) && !filters[i].mayMatch(text) {
				t.Fatalf("prefilter of %s misses %q", prefilterPatterns[i], text)
			}
		}
	}
}

func TestContainsFold(t *testing.T) {
	for _, tt := range []struct {
		text, lit string
		want      bool
	}{
		{"Please IGNORE Previous INSTRUCTIONS now", "previous instructions", true},
		{"previous instruction", "previous instructions", false},
		{"vvvv", "previous", false},
		{"pREVIOUS", "previous", true},
		{"x-RF", "-rf", true},
		{"", "ab", false},
		{"ab", "ab", true},
		{"a", "ab", false},
	} {
		if got := containsFold(tt.text, tt.lit, pivot(tt.lit)); got != tt.want {
			t.Errorf("containsFold(%q, %q) = %v", tt.text, tt.lit, got)
		}
	}
}
