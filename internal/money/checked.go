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

// Sub returns a−b and whether it fits in an int64 (ok false: overflow).
func Sub(a, b Nano) (Nano, bool) {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		return 0, false
	}
	return d, true
}

// SatSub returns a−b, saturated at the int64 range instead of wrapping.
func SatSub(a, b Nano) Nano {
	if d, ok := Sub(a, b); ok {
		return d
	}
	if b < 0 {
		return Nano(math.MaxInt64)
	}
	return Nano(math.MinInt64)
}

// Neg returns −a and whether it fits (−MinInt64 does not).
func Neg(a Nano) (Nano, bool) {
	if a == math.MinInt64 {
		return 0, false
	}
	return -a, true
}

// Mul returns a×n and whether it fits in an int64.
func Mul(a Nano, n int64) (Nano, bool) {
	if a == 0 || n == 0 {
		return 0, true
	}
	if (a == -1 && n == math.MinInt64) || (n == -1 && a == math.MinInt64) {
		return 0, false
	}
	p := a * Nano(n)
	if p/Nano(n) != a {
		return 0, false
	}
	return p, true
}

// SatMul returns a×n, saturated at the int64 range instead of wrapping.
func SatMul(a Nano, n int64) Nano {
	if p, ok := Mul(a, n); ok {
		return p
	}
	if (a < 0) != (n < 0) {
		return Nano(math.MinInt64)
	}
	return Nano(math.MaxInt64)
}
