package money

import (
	"encoding/json"
	"math"
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
