package conformance

import (
	"path/filepath"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
)

// bbolt is the embedded engine: a fresh file per subtest.
func bbolt(t *testing.T) (Engine, func() Engine) {
	path := filepath.Join(t.TempDir(), "gw.db")
	return reopening(t, func() (*boltstore.DB, error) { return boltstore.Open(path) })
}

func TestBBolt(t *testing.T) { Run(t, bbolt) }
