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

// ParseUSD parses a decimal USD string such as "5", "5.00", "0.000000001"
// or "-1.5". At most nine fractional digits are accepted: anything finer
// than a nano-dollar would have to be rounded, and money is never rounded
// silently.
func ParseUSD(s string) (Nano, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("invalid amount %q", s)
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("invalid amount %q: digits expected after the decimal point", s)
	}
	if len(frac) > 9 {
		return 0, fmt.Errorf("invalid amount %q: at most 9 decimal places (1 nano-USD)", s)
	}
	if whole == "" {
		whole = "0"
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("invalid amount %q: not a decimal number", s)
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/int64(USD) {
		return 0, fmt.Errorf("invalid amount %q: out of range", s)
	}
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	n := w*int64(USD) + f
	if neg {
		n = -n
	}
	return Nano(n), nil
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
	fs := fmt.Sprintf("%09d", frac)
	fs = strings.TrimRight(fs, "0")
	for len(fs) < 2 {
		fs += "0"
	}
	out := strconv.FormatUint(whole, 10) + "." + fs
	if neg {
		out = "-" + out
	}
	return out
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
