package node

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

// A store is named in logs without a URL's password; its ID tells engines
// and places apart.
func TestStorageNames(t *testing.T) {
	for _, tc := range []struct {
		ref      Storage
		id, name string
	}{
		{Storage{BBolt, "/var/lib/gw.db"}, "bbolt|/var/lib/gw.db", "/var/lib/gw.db"},
		{Storage{Postgres, "postgres://gw:hunter2@db:5432/gw"}, "postgres|postgres://gw:hunter2@db:5432/gw", "postgres://gw:xxxxx@db:5432/gw"},
		{Storage{Postgres, "postgres://gw@db/gw?sslmode=disable"}, "postgres|postgres://gw@db/gw?sslmode=disable", "postgres://gw@db/gw?sslmode=disable"},
		{Storage{Postgres, "postgres://a b:%zz@db"}, "postgres|postgres://a b:%zz@db", "the PostgreSQL database"},
	} {
		if got := tc.ref.ID(); got != tc.id {
			t.Errorf("%v: ID %q, want %q", tc.ref, got, tc.id)
		}
		if got := tc.ref.String(); got != tc.name {
			t.Errorf("%v: String %q, want %q", tc.ref, got, tc.name)
		}
	}
}

// A bbolt database remembers the key it was created with: another key is
// ErrWrongKey, naming the database.
func TestOpenChecksTheSecretKey(t *testing.T) {
	ref := Storage{Engine: BBolt, Where: filepath.Join(t.TempDir(), "gw.db")}
	key := secrets.NewKey()
	s, err := Open(ref, key, Options{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	if !s.UsesKey(key) || s.UsesKey(secrets.NewKey()) {
		t.Fatal("UsesKey")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ref, secrets.NewKey(), Options{Logger: zap.NewNop()}); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), ref.Where) {
		t.Fatalf("another key: %v", err)
	}
	s, err = Open(ref, key, Options{Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("the key again: %v", err)
	}
	_ = s.Close()
}
