// Package secrets makes and checks the gateway's secrets: bearer tokens
// (access keys "cag_…", management keys "cagm_…") stored only as SHA-256
// hashes, and provider keys sealed with AES-256-GCM at rest.
package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"math/big"
	"strings"
)

// Token prefixes.
const (
	AccessKeyPrefix     = "cag_"
	ManagementKeyPrefix = "cagm_"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// tokenLen base62 characters carry 43×log2(62) ≈ 256 bits.
const tokenLen = 43

// Hash is the SHA-256 of a token: the only form in which tokens are stored.
type Hash [sha256.Size]byte

// NewToken returns prefix followed by 43 random base62 characters
// (≈256 bits of entropy, comfortably above the 128 the design asks for).
func NewToken(prefix string) string {
	var sb strings.Builder
	sb.Grow(len(prefix) + tokenLen)
	sb.WriteString(prefix)
	max := big.NewInt(int64(len(base62)))
	for i := 0; i < tokenLen; i++ {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("secrets: system randomness unavailable: " + err.Error())
		}
		sb.WriteByte(base62[n.Int64()])
	}
	return sb.String()
}

// HashToken hashes a token for storage and lookup.
func HashToken(token string) Hash { return sha256.Sum256([]byte(token)) }

// Equal compares two hashes in constant time.
func (h Hash) Equal(o Hash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }

// Redact shows the first and last few characters of a secret so a human
// can recognise it: "cag_3kF…x9Qa". Short values are fully masked.
func Redact(s string) string {
	const head, tail = 7, 4
	if len(s) < head+tail+4 {
		return strings.Repeat("*", len(s))
	}
	return s[:head] + "…" + s[len(s)-tail:]
}
