package money

import (
	"math"
	"testing"
)

func TestCheckedAdd(t *testing.T) {
	const maxN, minN = Nano(math.MaxInt64), Nano(math.MinInt64)
	for _, tc := range []struct {
		a, b, want Nano
		ok         bool
		sat        Nano
	}{
		{1, 2, 3, true, 3},
		{maxN, 0, maxN, true, maxN},
		{maxN, 1, 0, false, maxN},
		{maxN - 5, 5, maxN, true, maxN},
		{maxN, maxN, 0, false, maxN},
		{minN, -1, 0, false, minN},
		{minN, maxN, -1, true, -1},
		{-5, 5, 0, true, 0},
	} {
		got, ok := Add(tc.a, tc.b)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Add(%d, %d) = %d, %v; want %d, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
		if s := SatAdd(tc.a, tc.b); s != tc.sat {
			t.Errorf("SatAdd(%d, %d) = %d; want %d", tc.a, tc.b, s, tc.sat)
		}
	}
	for _, tc := range []struct{ a, b, want int64 }{
		{1, 2, 3},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64 - 1, 1, math.MaxInt64},
		{-7, 3, 3},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64},
	} {
		if got := SatAddTokens(tc.a, tc.b); got != tc.want {
			t.Errorf("SatAddTokens(%d, %d) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
