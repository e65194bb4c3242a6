package conformance

import (
	"context"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/pgstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

// TestMain stops the PostgreSQL server testpg started for this package's
// tests, if any.
func TestMain(m *testing.M) { testpg.Main(m) }

// postgres is the PostgreSQL engine: a fresh database per subtest (see
// internal/testpg for where the server comes from).
func postgres(t *testing.T) (Engine, func() Engine) {
	url := testpg.URL(t)
	open := func() *pgstore.DB {
		db, err := pgstore.Open(context.Background(), url)
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

func TestPostgres(t *testing.T) { Run(t, postgres) }
