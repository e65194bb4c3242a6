// Package money holds the gateway's one representation of money: int64
// nano-USD (1 USD = 1e9 nano-USD). Amounts are never floats; the API shows
// them as decimal strings.
package money

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Nano is an amount of money in nano-USD.
type Nano int64

// USD is one US dollar in nano-USD.
const USD Nano = 1_000_000_000

// ParseUSD parses a decimal USD string: an optional sign, digits, and at
// most nine of them after a decimal point ("5", "5.00", ".25", "-1.5",
// "0.000000001"). Nothing else is accepted: no spaces, exponents,
// separators or trailing text, and nothing finer than a nano-dollar
// (money is never rounded silently). The result lies within ±MaxInt64
// nano-USD.
func ParseUSD(s string) (Nano, error) { return parseUSD(s, true) }

// ParseUnsignedUSD is ParseUSD without a sign, for amounts that are
// positive by nature (a purchase): "+5" and "-5" are refused.
func ParseUnsignedUSD(s string) (Nano, error) { return parseUSD(s, false) }

func parseUSD(s string, signed bool) (Nano, error) {
	if s == "" {
		return 0, errors.New("empty amount")
	}
	in := s
	neg := false
	if s[0] == '-' || s[0] == '+' {
		if !signed {
			return 0, fmt.Errorf("invalid amount %s: no sign allowed", quote(in))
		}
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	switch {
	case !digits(whole) || !digits(frac):
		return 0, fmt.Errorf("invalid amount %s: not a decimal number", quote(in))
	case whole == "" && frac == "":
		return 0, fmt.Errorf("invalid amount %s: no digits", quote(in))
	case hasDot && frac == "":
		return 0, fmt.Errorf("invalid amount %s: digits expected after the decimal point", quote(in))
	case len(frac) > 9:
		return 0, fmt.Errorf("invalid amount %s: at most 9 decimal places (1 nano-USD)", quote(in))
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w > math.MaxInt64/uint64(USD) {
		return 0, fmt.Errorf("invalid amount %s: out of range", quote(in))
	}
	var f uint64
	if frac != "" {
		f, _ = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	n := w*uint64(USD) + f // at most 9223372036999999999: no uint64 overflow
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("invalid amount %s: out of range", quote(in))
	}
	if neg {
		return -Nano(n), nil
	}
	return Nano(n), nil
}

// digits reports whether s is ASCII digits only (true for "").
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quote quotes user input for an error message, shortened when long.
func quote(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "…"
	}
	return strconv.Quote(s)
}

// String formats n as a USD decimal string with at least two and at most
// nine fractional digits: 5000000000 → "5.00", 1 → "0.000000001".
func (n Nano) String() string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	whole := u / uint64(USD)
	frac := u % uint64(USD)
	var buf [32]byte
	b := buf[:0]
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, whole, 10)
	b = append(b, '.')
	// nine fraction digits, trailing zeros dropped down to two
	var fd [9]byte
	for i := 8; i >= 0; i-- {
		fd[i] = byte('0' + frac%10)
		frac /= 10
	}
	k := 9
	for k > 2 && fd[k-1] == '0' {
		k--
	}
	b = append(b, fd[:k]...)
	return string(b)
}

// MarshalText makes Nano encode as its decimal USD string in JSON.
func (n Nano) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText parses a decimal USD string.
func (n *Nano) UnmarshalText(b []byte) error {
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// PerMillion is a price in nano-USD per one million tokens. "$2.50 per 1M
// tokens" is 2_500_000_000. Keeping the per-million unit (instead of per
// token) keeps prices such as $0.0375/1M exact.
type PerMillion int64

// ParsePerMillion parses a USD-per-million-tokens decimal string.
func ParsePerMillion(s string) (PerMillion, error) {
	n, err := ParseUSD(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("negative price %q", s)
	}
	return PerMillion(n), nil
}

// String formats the price as USD per 1M tokens.
func (p PerMillion) String() string { return Nano(p).String() }

// Cost returns the cost of tokens at price p, rounded half up to the
// nearest nano-USD. It saturates rather than overflows.
func (p PerMillion) Cost(tokens int64) Nano {
	if tokens <= 0 || p <= 0 {
		return 0
	}
	hi, lo := mul64(uint64(tokens), uint64(p))
	if hi != 0 {
		return Nano(math.MaxInt64)
	}
	q := (lo + 500_000) / 1_000_000
	if lo+500_000 < lo || q > math.MaxInt64 {
		return Nano(math.MaxInt64)
	}
	return Nano(q)
}

func mul64(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t & mask32
	w2 := t >> 32
	w1 += a0 * b1
	hi = a1*b1 + w2 + w1>>32
	lo = a * b
	return
}

// MarshalText encodes the price as its decimal USD-per-1M string.
func (p PerMillion) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a decimal USD-per-1M string.
func (p *PerMillion) UnmarshalText(b []byte) error {
	v, err := ParsePerMillion(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
