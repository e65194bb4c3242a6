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
	return reopening(t, func() (*pgstore.DB, error) { return pgstore.Open(context.Background(), url) })
}

func TestPostgres(t *testing.T) { Run(t, postgres) }
