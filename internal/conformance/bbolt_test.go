package conformance

import (
	"path/filepath"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// bbolt is the embedded engine: a fresh file per subtest.
func bbolt(t *testing.T) (*store.DB, func() *store.DB) {
	path := filepath.Join(t.TempDir(), "gw.db")
	open := func() *store.DB {
		db, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	t.Cleanup(func() { db.Close() })
	return db, func() *store.DB {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = open()
		return db
	}
}

func TestBBolt(t *testing.T) { Run(t, bbolt) }
