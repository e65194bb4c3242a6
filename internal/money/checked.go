package money

import "math"

// Add returns a+b and whether it fits in an int64 (ok false: overflow).
func Add(a, b Nano) (Nano, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// SatAdd returns a+b, saturated at the int64 range instead of wrapping.
func SatAdd(a, b Nano) Nano {
	if s, ok := Add(a, b); ok {
		return s
	}
	if b > 0 {
		return Nano(math.MaxInt64)
	}
	return Nano(math.MinInt64)
}

// SatAddTokens returns a+b for non-negative token counts, saturated at
// MaxInt64 (negative inputs count as zero).
func SatAddTokens(a, b int64) int64 {
	a, b = max(a, 0), max(b, 0)
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
