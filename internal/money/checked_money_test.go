package money

import (
	"math"
	"math/big"
	"testing"
)

const (
	maxN = Nano(math.MaxInt64)
	minN = Nano(math.MinInt64)
)

// boundary are the values where int64 arithmetic goes wrong.
var boundary = []Nano{minN, minN + 1, minN + 2, minN / 2, -USD, -2, -1, 0, 1, 2, USD, maxN / 2, maxN/2 + 1, maxN - 2, maxN - 1, maxN,
	3_037_000_499, 3_037_000_500, -3_037_000_500} // around √MaxInt64

// fits reports whether a big integer is an int64, and which.
func fits(v *big.Int) (Nano, bool) {
	if !v.IsInt64() {
		return 0, false
	}
	return Nano(v.Int64()), true
}

// saturate clamps a big integer to the int64 range.
func saturate(v *big.Int) Nano {
	if n, ok := fits(v); ok {
		return n
	}
	if v.Sign() < 0 {
		return minN
	}
	return maxN
}

// TestCheckedAgainstBig compares every checked and saturating helper with
// exact big-integer arithmetic on every pair of boundary values.
func TestCheckedAgainstBig(t *testing.T) {
	for _, a := range boundary {
		for _, b := range boundary {
			ba, bb := big.NewInt(int64(a)), big.NewInt(int64(b))
			sum := new(big.Int).Add(ba, bb)
			want, wantOK := fits(sum)
			if got, ok := Add(a, b); ok != wantOK || (ok && got != want) {
				t.Errorf("Add(%d, %d) = %d, %v; exact %s", a, b, got, ok, sum)
			}
			if got := SatAdd(a, b); got != saturate(sum) {
				t.Errorf("SatAdd(%d, %d) = %d; want %d", a, b, got, saturate(sum))
			}
			diff := new(big.Int).Sub(ba, bb)
			want, wantOK = fits(diff)
			if got, ok := Sub(a, b); ok != wantOK || (ok && got != want) {
				t.Errorf("Sub(%d, %d) = %d, %v; exact %s", a, b, got, ok, diff)
			}
			if got := SatSub(a, b); got != saturate(diff) {
				t.Errorf("SatSub(%d, %d) = %d; want %d", a, b, got, saturate(diff))
			}
			prod := new(big.Int).Mul(ba, bb)
			want, wantOK = fits(prod)
			if got, ok := Mul(a, int64(b)); ok != wantOK || (ok && got != want) {
				t.Errorf("Mul(%d, %d) = %d, %v; exact %s", a, b, got, ok, prod)
			}
			if got := SatMul(a, int64(b)); got != saturate(prod) {
				t.Errorf("SatMul(%d, %d) = %d; want %d", a, b, got, saturate(prod))
			}
		}
		neg := new(big.Int).Neg(big.NewInt(int64(a)))
		want, wantOK := fits(neg)
		if got, ok := Neg(a); ok != wantOK || (ok && got != want) {
			t.Errorf("Neg(%d) = %d, %v; exact %s", a, got, ok, neg)
		}
	}
}

func TestCheckedTable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      func() (Nano, bool)
		want   Nano
		wantOK bool
	}{
		{"Sub(max, -1)", func() (Nano, bool) { return Sub(maxN, -1) }, 0, false},
		{"Sub(min, 1)", func() (Nano, bool) { return Sub(minN, 1) }, 0, false},
		{"Sub(min, -1)", func() (Nano, bool) { return Sub(minN, -1) }, minN + 1, true},
		{"Sub(0, min)", func() (Nano, bool) { return Sub(0, minN) }, 0, false},
		{"Sub(-1, min)", func() (Nano, bool) { return Sub(-1, minN) }, maxN, true},
		{"Sub(max, max)", func() (Nano, bool) { return Sub(maxN, maxN) }, 0, true},
		{"Mul(max, 1)", func() (Nano, bool) { return Mul(maxN, 1) }, maxN, true},
		{"Mul(max, 2)", func() (Nano, bool) { return Mul(maxN, 2) }, 0, false},
		{"Mul(min, -1)", func() (Nano, bool) { return Mul(minN, -1) }, 0, false},
		{"Mul(-1, min)", func() (Nano, bool) { return Mul(-1, math.MinInt64) }, 0, false},
		{"Mul(min, 1)", func() (Nano, bool) { return Mul(minN, 1) }, minN, true},
		{"Mul(USD, 9223372036)", func() (Nano, bool) { return Mul(USD, 9_223_372_036) }, 9_223_372_036_000_000_000, true},
		{"Mul(USD, 9223372037)", func() (Nano, bool) { return Mul(USD, 9_223_372_037) }, 0, false},
		{"Neg(min)", func() (Nano, bool) { return Neg(minN) }, 0, false},
		{"Neg(max)", func() (Nano, bool) { return Neg(maxN) }, -maxN, true},
		{"Add(balance, 9223372036 USD)", func() (Nano, bool) { return Add(20*USD+300_000_000, 9_223_372_036*USD) }, 0, false},
	} {
		got, ok := tc.f()
		if ok != tc.wantOK || (ok && got != tc.want) {
			t.Errorf("%s = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
	for _, tc := range []struct {
		name      string
		got, want Nano
	}{
		{"SatSub(min, 1)", SatSub(minN, 1), minN},
		{"SatSub(max, -1)", SatSub(maxN, -1), maxN},
		{"SatSub(0, min)", SatSub(0, minN), maxN},
		{"SatMul(max, max)", SatMul(maxN, math.MaxInt64), maxN},
		{"SatMul(max, -2)", SatMul(maxN, -2), minN},
		{"SatMul(min, -1)", SatMul(minN, -1), maxN},
		{"SatMul(min, min)", SatMul(minN, math.MinInt64), maxN},
		{"SatMul(-3, 5)", SatMul(-3, 5), -15},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}
