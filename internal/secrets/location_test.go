package secrets

import (
	"os"
	"path/filepath"
	"testing"
)

// Generated keys are found beside the database first, then in the data
// dir where an earlier version kept them; with PostgreSQL (db "") the
// management key lives in the data dir.
func TestKeyFileLocations(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		exist                []string // relative to the test's directory
		secret               bool     // SecretKeyFile, else ManagementKeyFile
		db                   string
		wantPath, wantMoveTo string
	}{
		{"secret: none yet", nil, true, "gw.db", "gw.db.key", ""},
		{"secret: beside", []string{"gw.db.key", "data/secret.key"}, true, "gw.db", "gw.db.key", ""},
		{"secret: legacy", []string{"data/secret.key"}, true, "gw.db", "data/secret.key", "gw.db.key"},
		{"admin: none yet", nil, false, "gw.db", "gw.db.admin.key", ""},
		{"admin: beside", []string{"gw.db.admin.key", "data/admin.key"}, false, "gw.db", "gw.db.admin.key", ""},
		{"admin: legacy", []string{"data/admin.key"}, false, "gw.db", "data/admin.key", "gw.db.admin.key"},
		{"admin: postgres", nil, false, "", "data/admin.key", ""},
		{"admin: postgres, file there", []string{"data/admin.key"}, false, "", "data/admin.key", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			abs := func(p string) string {
				if p == "" {
					return ""
				}
				return filepath.Join(dir, p)
			}
			for _, f := range tc.exist {
				if err := os.MkdirAll(filepath.Dir(abs(f)), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(abs(f), []byte("k\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			where := ManagementKeyFile
			if tc.secret {
				where = SecretKeyFile
			}
			path, moveTo := where(abs(tc.db), abs("data"))
			if path != abs(tc.wantPath) || moveTo != abs(tc.wantMoveTo) {
				t.Fatalf("got %q %q, want %q %q", path, moveTo, abs(tc.wantPath), abs(tc.wantMoveTo))
			}
		})
	}
}
