package money

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestParseAndFormatUSD(t *testing.T) {
	tests := []struct {
		in   string
		want Nano
		out  string
	}{
		{"5", 5 * USD, "5.00"},
		{"5.00", 5 * USD, "5.00"},
		{"0.000000001", 1, "0.000000001"},
		{"-1.5", -1_500_000_000, "-1.50"},
		{".25", 250_000_000, "0.25"},
		{"+3.141592653", 3_141_592_653, "3.141592653"},
		{"0", 0, "0.00"},
	}
	for _, tt := range tests {
		got, err := ParseUSD(tt.in)
		if err != nil {
			t.Fatalf("ParseUSD(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseUSD(%q) = %d, want %d", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.out {
			t.Errorf("String(%d) = %q, want %q", got, s, tt.out)
		}
	}
}

func TestParseUSDRejects(t *testing.T) {
	for _, in := range []string{"", "abc", "1.0000000001", "1e5", "1.", "--1", "1,5", "99999999999999999999", "."} {
		if _, err := ParseUSD(in); err == nil {
			t.Errorf("ParseUSD(%q) accepted", in)
		}
	}
}

// TestParseUSDStrict: nothing but an optional sign, digits and one
// decimal point, within ±MaxInt64 nano-USD.
func TestParseUSDStrict(t *testing.T) {
	for _, in := range []string{
		// whitespace, inside or around
		" 5", "5 ", "\t5", "5\n", " ", "\u00a05", "5\u200b", "- 5", "5 .00", "\r\n5",
		// exponents, bases, separators, specials
		"1e3", "1E3", "5e-1", "0x10", "0b1", "1_000", "1,000.00", "1'000", "NaN", "Inf", "-Inf", "infinity",
		// signs
		"+", "-", "++5", "+-5", "-+5", "5-", "5+", "$5", "5$", "USD5", "5USD",
		// digits and dots
		"5.0.0", "..5", "5..", ".", "-.", "+.", "1.", "1.0000000001", "0.0000000000", "١", "５",
		// trailing garbage
		"5\x00", "5;", "5abc", "5.00x",
		// range: one nano-USD past int64, whichever way
		"9223372036.854775808", "-9223372036.854775808", "9223372036.999999999", "9223372037", "18446744073709551616",
		"99999999999999999999.5", "00000000000000000000000000000009223372037",
	} {
		if n, err := ParseUSD(in); err == nil {
			t.Errorf("ParseUSD(%q) accepted as %d", in, n)
		}
	}
	for in, want := range map[string]Nano{
		"9223372036.854775807":  math.MaxInt64,
		"-9223372036.854775807": -math.MaxInt64,
		"9223372036":            9_223_372_036 * USD,
		"0000005.5":             5_500_000_000,
		"-0":                    0,
		"-.000000001":           -1,
		"0.000000000":           0,
	} {
		if got, err := ParseUSD(in); err != nil || got != want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestParseUnsignedUSD(t *testing.T) {
	for _, in := range []string{"+5", "-5", "-0", "+0.5", " 5", "5e2", "", "9223372036.854775808"} {
		if n, err := ParseUnsignedUSD(in); err == nil {
			t.Errorf("ParseUnsignedUSD(%q) accepted as %d", in, n)
		}
	}
	if n, err := ParseUnsignedUSD("9223372036.00"); err != nil || n != 9_223_372_036*USD {
		t.Errorf("ParseUnsignedUSD: %d, %v", n, err)
	}
}

// TestParseErrorQuotesShort: a long malformed amount is not echoed whole.
func TestParseErrorQuotesShort(t *testing.T) {
	_, err := ParseUSD("1" + strings.Repeat("x", 10_000))
	if err == nil || len(err.Error()) > 120 {
		t.Fatalf("error %d bytes: %.200v", len(err.Error()), err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var v struct{ A Nano }
	if err := json.Unmarshal([]byte(`{"A":"12.345"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 12_345_000_000 {
		t.Fatalf("got %d", v.A)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"A":"12.345"}` {
		t.Fatalf("got %s", b)
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		price  string
		tokens int64
		want   Nano
	}{
		{"2.50", 1_000_000, 2_500_000_000},
		{"2.50", 1, 2_500},
		{"0.0375", 1, 38},        // 37.5 rounds half up
		{"0.0375", 1000, 37_500}, // exact
		{"0.075", 3, 225},        //
		{"0", 1_000_000, 0},      // explicit free
		{"15", 123_456, 1_851_840_000},
	}
	for _, tt := range tests {
		p, err := ParsePerMillion(tt.price)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Cost(tt.tokens); got != tt.want {
			t.Errorf("Cost(%s, %d) = %d, want %d", tt.price, tt.tokens, got, tt.want)
		}
	}
	if got := PerMillion(math.MaxInt64).Cost(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("overflow not saturated: %d", got)
	}
}
