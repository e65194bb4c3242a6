package firewall

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// glob is a compiled toolName pattern. Syntax, case-sensitive, matching the
// whole name:
//
//   - any run of characters, the empty one included
//     ?        exactly one character
//     [abc]    one of the characters; [a-z] a range; [!a-z] or [^a-z] none of them;
//     a ']' first in the class is a member ([]a] is ']' or 'a')
//     \c       the character c itself (\*, \?, \[, \\)
//
// Anything else matches itself. Tool names have no separators, so `*`
// crosses '_', '.', '/' and ':' alike: `mcp__payments__*` covers every tool
// of that MCP server.
type glob struct {
	// shape picks a fast path for the common forms.
	shape globShape
	lit   string // exact, prefix*, *suffix, *contains*
	toks  []globTok
}

type globShape uint8

const (
	globExact    globShape = iota // name == lit
	globPrefix                    // lit*
	globSuffix                    // *lit
	globContains                  // *lit*
	globAny                       // *
	globGeneral
)

type globTok struct {
	kind  globKind
	lit   string     // globLit
	class *globClass // globClass
}

type globKind uint8

const (
	globLit globKind = iota
	globOne
	globStar
	globSet
)

type globClass struct {
	negate bool
	ranges []runeRange // lo..hi inclusive
}

type runeRange struct{ lo, hi rune }

func (c *globClass) match(r rune) bool {
	in := false
	for _, rg := range c.ranges {
		if rg.lo <= r && r <= rg.hi {
			in = true
			break
		}
	}
	return in != c.negate
}

// compileGlob parses a toolName pattern.
func compileGlob(pattern string) (glob, error) {
	if pattern == "" {
		return glob{}, errors.New("empty glob")
	}
	var toks []globTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, globTok{kind: globLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch c {
		case '*':
			flush()
			if len(toks) == 0 || toks[len(toks)-1].kind != globStar { // ** is *
				toks = append(toks, globTok{kind: globStar})
			}
			i++
		case '?':
			flush()
			toks = append(toks, globTok{kind: globOne})
			i++
		case '\\':
			if i+1 >= len(pattern) {
				return glob{}, errors.New(`glob ends with an unfinished escape "\"`)
			}
			_, n := utf8.DecodeRuneInString(pattern[i+1:])
			lit.WriteString(pattern[i+1 : i+1+n])
			i += 1 + n
		case '[':
			cls, n, err := parseClass(pattern[i:])
			if err != nil {
				return glob{}, err
			}
			flush()
			toks = append(toks, globTok{kind: globSet, class: cls})
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return shapeGlob(toks), nil
}

// shapeGlob recognises the forms with a fast path.
func shapeGlob(toks []globTok) glob {
	isLit := func(t globTok) bool { return t.kind == globLit }
	isStar := func(t globTok) bool { return t.kind == globStar }
	switch {
	case len(toks) == 1 && isLit(toks[0]):
		return glob{shape: globExact, lit: toks[0].lit}
	case len(toks) == 1 && isStar(toks[0]):
		return glob{shape: globAny}
	case len(toks) == 2 && isLit(toks[0]) && isStar(toks[1]):
		return glob{shape: globPrefix, lit: toks[0].lit}
	case len(toks) == 2 && isStar(toks[0]) && isLit(toks[1]):
		return glob{shape: globSuffix, lit: toks[1].lit}
	case len(toks) == 3 && isStar(toks[0]) && isLit(toks[1]) && isStar(toks[2]):
		return glob{shape: globContains, lit: toks[1].lit}
	}
	return glob{shape: globGeneral, toks: toks}
}

// parseClass parses a class at the start of s ("[...]"), returning it and
// its length.
func parseClass(s string) (*globClass, int, error) {
	cls := &globClass{}
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		cls.negate = true
		i++
	}
	first := true
	for {
		if i >= len(s) {
			return nil, 0, errors.New(`glob has a "[" without its "]"`)
		}
		if s[i] == ']' && !first {
			i++
			break
		}
		first = false
		lo, n, err := classRune(s[i:])
		if err != nil {
			return nil, 0, err
		}
		i += n
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			hi, n, err = classRune(s[i+1:])
			if err != nil {
				return nil, 0, err
			}
			i += 1 + n
			if hi < lo {
				return nil, 0, errors.New("glob has a character range out of order: [" + string(lo) + "-" + string(hi) + "]")
			}
		}
		cls.ranges = append(cls.ranges, runeRange{lo, hi})
	}
	return cls, i, nil
}

func classRune(s string) (rune, int, error) {
	if s[0] == '\\' {
		if len(s) < 2 {
			return 0, 0, errors.New(`glob ends with an unfinished escape "\"`)
		}
		r, n := utf8.DecodeRuneInString(s[1:])
		return r, 1 + n, nil
	}
	r, n := utf8.DecodeRuneInString(s)
	return r, n, nil
}

// match reports whether name matches the whole glob.
func (g *glob) match(name string) bool {
	switch g.shape {
	case globExact:
		return name == g.lit
	case globPrefix:
		return strings.HasPrefix(name, g.lit)
	case globSuffix:
		return strings.HasSuffix(name, g.lit)
	case globContains:
		return strings.Contains(name, g.lit)
	case globAny:
		return true
	}
	return matchToks(g.toks, name)
}

// matchToks matches with backtracking to the latest star only, which is
// enough for globs (a later star subsumes an earlier one's choices): at
// most len(name) restarts of the tokens after that star.
func matchToks(toks []globTok, s string) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for ti < len(toks) || si < len(s) {
		if ti < len(toks) {
			t := &toks[ti]
			switch t.kind {
			case globStar:
				starTi, starSi = ti, si
				ti++
				continue
			case globLit:
				if strings.HasPrefix(s[si:], t.lit) {
					ti++
					si += len(t.lit)
					continue
				}
			case globOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					ti++
					si += n
					continue
				}
			case globSet:
				if si < len(s) {
					r, n := utf8.DecodeRuneInString(s[si:])
					if t.class.match(r) {
						ti++
						si += n
						continue
					}
				}
			}
		}
		// Mismatch: let the latest star take one more character.
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		ti, si = starTi+1, starSi
	}
	return true
}
