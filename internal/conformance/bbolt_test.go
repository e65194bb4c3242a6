package conformance

import (
	"path/filepath"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
)

// bbolt is the embedded engine: a fresh file per subtest.
func bbolt(t *testing.T) (Engine, func() Engine) {
	path := filepath.Join(t.TempDir(), "gw.db")
	open := func() *boltstore.DB {
		db, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	t.Cleanup(func() { db.Close() })
	return db, func() Engine {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = open()
		return db
	}
}

func TestBBolt(t *testing.T) { Run(t, bbolt) }
