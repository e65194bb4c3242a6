package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Key is a 256-bit AES key.
type Key [32]byte

// NewKey returns a random key.
func NewKey() Key {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		panic("secrets: system randomness unavailable: " + err.Error())
	}
	return k
}

// ParseKey turns a configured secret_key into an AES key. A 64-character
// hex string or a base64 encoding of exactly 32 bytes is used as is; any
// other non-empty string is treated as a passphrase and hashed with
// SHA-256 (weak passphrases make weak keys: use `openssl rand -hex 32`).
func ParseKey(s string) (Key, error) {
	var k Key
	s = strings.TrimSpace(s)
	if s == "" {
		return k, errors.New("empty secret key")
	}
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			copy(k[:], b)
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			copy(k[:], b)
			return k, nil
		}
	}
	return sha256.Sum256([]byte(s)), nil
}

// String encodes the key as hex (for writing a generated key to disk).
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Seal encrypts plaintext with AES-256-GCM; the random nonce is prepended.
// additional binds the ciphertext to its context (e.g. the record id), so
// a sealed value copied to another record does not open.
func (k Key) Seal(plaintext, additional []byte) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("reading nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, additional), nil
}

// Open decrypts a value made by Seal.
func (k Key) Open(sealed, additional []byte) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	pt, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], additional)
	if err != nil {
		return nil, errors.New("decrypting: wrong secret key or corrupted value")
	}
	return pt, nil
}

// ErrWrongKey is a store's data sealed with another key (Verify).
var ErrWrongKey = errors.New("the data was sealed with another secret key")

// Verify proves that k is the key a store's data is sealed with: keep
// stores the check value it is given (sealed with k) unless the store has
// one, and returns the one the store keeps, which must open with k. A
// failure of keep is returned as is.
func (k Key) Verify(keep func(check []byte) (kept []byte, err error)) error {
	const label = "secret_key_check"
	check, err := k.Seal([]byte("caddy-ai-gateway"), []byte(label))
	if err != nil {
		return err
	}
	kept, err := keep(check)
	if err != nil {
		return err
	}
	if _, err := k.Open(kept, []byte(label)); err != nil {
		return ErrWrongKey
	}
	return nil
}

func (k Key) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("creating cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
