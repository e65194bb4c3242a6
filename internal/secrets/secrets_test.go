package secrets

import (
	"bytes"
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
