package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	a, b := NewToken(AccessKeyPrefix), NewToken(AccessKeyPrefix)
	if a == b || !strings.HasPrefix(a, "cag_") || len(a) != 4+tokenLen {
		t.Fatalf("bad tokens %q %q", a, b)
	}
	if !HashToken(a).Equal(HashToken(a)) || HashToken(a).Equal(HashToken(b)) {
		t.Fatal("hash equality wrong")
	}
}

func TestRedact(t *testing.T) {
	if got := Redact("sk-proj-abcdefghijklmnopqrstuvwxyz"); got != "sk-proj…wxyz" {
		t.Fatalf("got %q", got)
	}
	if got := Redact("short"); got != "*****" {
		t.Fatalf("got %q", got)
	}
}

func TestSealOpen(t *testing.T) {
	k := NewKey()
	sealed, err := k.Seal([]byte("sk-secret"), []byte("pk_1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("sk-secret")) {
		t.Fatal("plaintext visible in sealed value")
	}
	pt, err := k.Open(sealed, []byte("pk_1"))
	if err != nil || string(pt) != "sk-secret" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := k.Open(sealed, []byte("pk_2")); err == nil {
		t.Fatal("opened with the wrong additional data")
	}
	if _, err := NewKey().Open(sealed, []byte("pk_1")); err == nil {
		t.Fatal("opened with the wrong key")
	}
}

func TestParseKey(t *testing.T) {
	k := NewKey()
	got, err := ParseKey(k.String())
	if err != nil || got != k {
		t.Fatalf("hex round trip failed: %v", err)
	}
	p1, _ := ParseKey("correct horse battery staple")
	p2, _ := ParseKey("correct horse battery staple")
	if p1 != p2 {
		t.Fatal("passphrase derivation not deterministic")
	}
	if _, err := ParseKey(" "); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestVerify(t *testing.T) {
	var stored []byte // a store's check value
	keep := func(check []byte) ([]byte, error) {
		if stored == nil {
			stored = check
		}
		return stored, nil
	}
	failing := errors.New("disk full")
	k1, k2 := NewKey(), NewKey()
	for _, tc := range []struct {
		name string
		key  Key
		keep func([]byte) ([]byte, error)
		want error
	}{
		{"a new store keeps the key's check", k1, keep, nil},
		{"the same key again", k1, keep, nil},
		{"another key", k2, keep, ErrWrongKey},
		{"the store fails", k1, func([]byte) ([]byte, error) { return nil, failing }, failing},
	} {
		if err := tc.key.Verify(tc.keep); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
