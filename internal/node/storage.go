package node

import (
	"context"
	"net/url"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/pgstore"
)

// Storage engines.
const (
	BBolt    = "bbolt"
	Postgres = "postgres"
)

// Storage names a store: an engine (BBolt or Postgres) and a file path or
// database URL.
type Storage struct{ Engine, Where string }

// ID names the store uniquely, for a pool of open stores. It may contain
// a URL's password: never log it.
func (r Storage) ID() string { return r.Engine + "|" + r.Where }

// String names the store in logs and errors, without a URL's password.
func (r Storage) String() string {
	if r.Engine == Postgres {
		if u, err := url.Parse(r.Where); err == nil {
			return u.Redacted()
		}
		return "the PostgreSQL database"
	}
	return r.Where
}

// engine is a storage engine as a node uses it: the seams the packages
// that use it declare, and its own lifecycle.
type engine interface {
	manage.Store
	credits.Store
	store.UsageStorer
	SetMetaIfAbsent(key string, val []byte) ([]byte, error)
	Ping(ctx context.Context) error
	Close() error
}

// openTimeout bounds connecting to (and migrating) a PostgreSQL database
// at start.
const openTimeout = 30 * time.Second

// openEngine opens the store r names.
func openEngine(r Storage) (engine, error) {
	if r.Engine == Postgres {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		return pgstore.Open(ctx, r.Where)
	}
	return boltstore.Open(r.Where)
}

// changeWatcher is a store shared by several nodes that reports their
// changes (pgstore: LISTEN/NOTIFY): fn runs for each, and after every
// reconnection.
type changeWatcher interface {
	WatchChanges(ctx context.Context, fn func())
}
