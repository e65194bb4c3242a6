package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// Without secret_key a bbolt store's key comes from the file beside it,
// generated on first start; PostgreSQL needs secret_key.
func TestLoadSecretKey(t *testing.T) {
	dir := t.TempDir()
	ref := Storage{Engine: BBolt, Where: filepath.Join(dir, "gw.db")}
	k, err := LoadSecretKey(ref, filepath.Join(dir, "data"), zap.NewNop())
	if err != nil || !k.Created || k.File != ref.Where+".key" {
		t.Fatalf("first start: %+v %v", k, err)
	}
	again, err := LoadSecretKey(ref, filepath.Join(dir, "data"), zap.NewNop())
	if err != nil || again.Created || again.Key != k.Key || again.File != k.File {
		t.Fatalf("second start: %+v %v", again, err)
	}
	if _, err := LoadSecretKey(Storage{Engine: Postgres, Where: "postgres://db/gw"}, dir, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "needs secret_key") {
		t.Fatalf("postgres: %v", err)
	}
}

// Explain says what to do about the key a store refused; a key file this
// start generated is removed.
func TestSecretKeyExplain(t *testing.T) {
	dir := t.TempDir()
	created := filepath.Join(dir, "created.key")
	if err := os.WriteFile(created, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := ErrWrongKey
	other := errors.New("disk full")
	for _, tc := range []struct {
		name string
		key  SecretKey
		err  error
		want string
	}{
		{"generated now", SecretKey{File: created, Created: true}, other, "the key file " + created + " did not exist"},
		{"read from a file", SecretKey{File: "/db.key"}, wrong, "the key was read from /db.key (secret_key is not set)"},
		{"configured", SecretKey{}, wrong, "restore the secret_key the database was created with"},
		{"another error", SecretKey{File: "/db.key"}, other, "disk full"},
	} {
		got := tc.key.Explain(tc.err)
		if !errors.Is(got, tc.err) || !strings.Contains(got.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := os.Stat(created); !os.IsNotExist(err) {
		t.Fatalf("the generated key file is still there: %v", err)
	}
}

// The management key comes from its file: beside a bbolt database, in
// the data dir with PostgreSQL.
func TestLoadManagementKey(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, tc := range []struct {
		ref  Storage
		file string
	}{
		{Storage{Engine: BBolt, Where: filepath.Join(dir, "gw.db")}, filepath.Join(dir, "gw.db.admin.key")},
		{Storage{Engine: Postgres, Where: "postgres://db/gw"}, filepath.Join(data, "admin.key")},
	} {
		h, err := LoadManagementKey(tc.ref, data, zap.NewNop())
		if err != nil {
			t.Fatalf("%s: %v", tc.ref.Engine, err)
		}
		again, err := LoadManagementKey(tc.ref, data, zap.NewNop())
		if err != nil || again != h {
			t.Fatalf("%s: second load %v", tc.ref.Engine, err)
		}
		if _, err := os.Stat(tc.file); err != nil {
			t.Fatalf("%s: %v", tc.ref.Engine, err)
		}
	}
}
