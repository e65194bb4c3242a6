package firewall

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// A prefilter is what a text must contain for a pattern to match: one of a
// few literals, found with a vectorised byte search before Go's regexp
// scans the text from every position. Prompts are long and rarely match,
// so most checks end at the prefilter: a 2 KB prompt costs a (?i) pattern
// about 30 µs in regexp and well under 1 µs here.
//
// It must never say no where the pattern matches. So it is built only from
// what every match contains (a literal of a concatenation, each branch of
// an alternation, the body of a + or {n,}), and a case-insensitive
// literal is compared folding ASCII only when that is exact: the literal
// is ASCII, and if it has a k or an s (which also fold to the Kelvin sign
// and the long s) the text has neither of those.
type prefilter struct {
	alts   []string // the text contains one of these (lower-case when fold)
	pivots []int    // per alt, the byte containsFold looks for
	fold   bool
	ks     bool // a literal has k or s, which the Kelvin sign and the long s fold to
}

// minPrefilter: a single character is too common to save anything.
const minPrefilter = 2

// newPrefilter returns the prefilter of an RE2 pattern, or nil.
func newPrefilter(pattern string) *prefilter {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits, ok := required(re.Simplify())
	if !ok || len(lits) == 0 || len(lits) > 8 {
		return nil
	}
	f := &prefilter{fold: lits[0].fold}
	for _, l := range lits {
		if l.fold != f.fold || utf8.RuneCountInString(l.s) < minPrefilter {
			return nil
		}
		s := l.s
		if f.fold {
			for i := 0; i < len(s); i++ {
				if s[i] >= utf8.RuneSelf {
					return nil
				}
			}
			s = strings.ToLower(s)
			f.ks = f.ks || strings.ContainsAny(s, "ks")
		}
		f.alts = append(f.alts, s)
		f.pivots = append(f.pivots, pivot(s))
	}
	return f
}

type literal struct {
	s    string
	fold bool
}

// required returns literals one of which every match of re contains; ok is
// false when it knows none.
func required(re *syntax.Regexp) ([]literal, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r == utf8.RuneError { // matches invalid bytes too
				return nil, false
			}
		}
		return []literal{{string(re.Rune), re.Flags&syntax.FoldCase != 0}}, true
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpAlternate:
		var all []literal
		for _, sub := range re.Sub {
			lits, ok := required(sub)
			if !ok {
				return nil, false
			}
			all = append(all, lits...)
		}
		return all, true
	case syntax.OpConcat:
		// The best of the subexpressions' requirements, runs of adjacent
		// literals merged: the one whose shortest literal is longest.
		var best []literal
		score := func(lits []literal) int {
			m := -1
			for _, l := range lits {
				if n := len(l.s); m < 0 || n < m {
					m = n
				}
			}
			return m
		}
		consider := func(lits []literal) {
			if len(lits) > 0 && (best == nil || score(lits) > score(best) ||
				score(lits) == score(best) && len(lits) < len(best)) {
				best = lits
			}
		}
		var run *literal
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				l, ok := required(sub)
				if ok && run != nil && run.fold == l[0].fold {
					run.s += l[0].s
					continue
				}
				if run != nil {
					consider([]literal{*run})
				}
				run = nil
				if ok {
					run = &l[0]
				}
				continue
			}
			if run != nil {
				consider([]literal{*run})
				run = nil
			}
			if lits, ok := required(sub); ok {
				consider(lits)
			}
		}
		if run != nil {
			consider([]literal{*run})
		}
		return best, best != nil
	}
	return nil, false
}

// mayMatch reports whether text may match.
func (f *prefilter) mayMatch(text string) bool {
	if !f.fold {
		for _, a := range f.alts {
			if strings.Contains(text, a) {
				return true
			}
		}
		return false
	}
	if f.ks && (strings.Contains(text, "\u212a") || strings.Contains(text, "\u017f")) {
		return true // the Kelvin sign or the long s: the regexp decides
	}
	for i, a := range f.alts {
		if containsFold(text, a, f.pivots[i]) {
			return true
		}
	}
	return false
}

// containsFold reports whether text contains lit (lower-case ASCII) in any
// ASCII case: it looks for the pivot, lit's rarest byte, in either case
// with IndexByte (vectorised) and compares the window around each.
func containsFold(text, lit string, pivot int) bool {
	c := lit[pivot]
	variants := []byte{c}
	if 'a' <= c && c <= 'z' {
		variants = append(variants, c-('a'-'A'))
	}
	for _, b := range variants {
		for from := pivot; from < len(text); {
			j := strings.IndexByte(text[from:], b)
			if j < 0 {
				break
			}
			start := from + j - pivot
			if start+len(lit) <= len(text) && equalFoldASCII(text[start:start+len(lit)], lit) {
				return true
			}
			from += j + 1
		}
	}
	return false
}

// equalFoldASCII compares s with lower-case lit, folding ASCII letters.
func equalFoldASCII(s, lit string) bool {
	for i := 0; i < len(lit); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[i] {
			return false
		}
	}
	return true
}

// letterRank orders the letters from the most to the least common in
// English text; the pivot is a literal's rarest byte.
const letterRank = "etaoinshrdlcumwfgypbvkjxqz"

func pivot(lit string) int {
	best, bestRank := 0, -2
	for i := 0; i < len(lit); i++ {
		rank := strings.IndexByte(letterRank, lit[i])
		switch {
		case lit[i] == ' ':
			rank = -1 // the most common of all
		case rank < 0:
			rank = len(letterRank) // digits and punctuation: rarer than letters
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	return best
}
