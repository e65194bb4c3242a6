package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// DB is an open gateway database on a PostgreSQL server.
type DB struct {
	pool  *pgxpool.Pool
	conn  *pgx.ConnConfig          // for WatchChanges' connection
	batch *store.GroupCommit[*txn] // settlements (BatchLedger)

	// done ends WatchChanges loops when the DB closes.
	done   context.Context
	cancel context.CancelFunc
}

// Open connects to the database at url (a libpq URL or key=value string)
// and brings its schema up to date (migrate). Several processes may open
// the same database at once. pgxpool's pool_* parameters in url tune the
// pool (pool_max_conns: default the larger of 4 and the number of CPUs).
// ctx bounds the connection and the migration.
func Open(ctx context.Context, url string) (*DB, error) {
	return openWith(ctx, url, nil)
}

// openWith is Open with a hook that may change the pool's configuration
// (tests: a tracer counting round trips).
func openWith(ctx context.Context, url string, configure func(*pgxpool.Config)) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing the database URL: %w", err)
	}
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", redact(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to %s: %w", redact(cfg), err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	db := &DB{pool: pool, conn: cfg.ConnConfig}
	db.done, db.cancel = context.WithCancel(context.Background())
	db.batch = store.NewGroupCommit(256, func(ctx context.Context, fn func(*txn) error) error { return db.inTx(ctx, readWrite, fn) })
	return db, nil
}

// redact names a database without its password.
func redact(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Close commits the settlements queued, ends WatchChanges and closes the
// connections.
func (db *DB) Close() error {
	db.batch.Close()
	db.cancel()
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers a query within ctx.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// Meta reads a metadata value; ok is false when absent.
func (db *DB) Meta(key string) (val []byte, ok bool, err error) {
	err = db.pool.QueryRow(context.Background(), `SELECT val FROM meta WHERE key = $1`, key).Scan(&val)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading meta %s: %w", key, err)
	}
	return val, true, nil
}

// SetMetaIfAbsent stores val under key unless a value exists, and returns
// the value now stored. Two processes racing to initialise agree on one:
// the insert of the second waits for the first's and does nothing, and
// the read that follows sees the committed value.
func (db *DB) SetMetaIfAbsent(key string, val []byte) ([]byte, error) {
	ctx := context.Background()
	if _, err := db.pool.Exec(ctx, `INSERT INTO meta (key, val) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, val); err != nil {
		return nil, fmt.Errorf("storing meta %s: %w", key, err)
	}
	stored, ok, err := db.Meta(key)
	if err == nil && !ok {
		err = fmt.Errorf("meta %s vanished after it was stored", key)
	}
	return stored, err
}

// Transaction modes.
var (
	readOnly  = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	readWrite = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
)

// maxAttempts bounds the runs of a transaction that keeps meeting
// serialization failures or deadlocks.
const maxAttempts = 8

// inTx runs fn in a transaction of mode opts, committing when it returns
// nil and rolling back otherwise; fn's own error is returned unchanged.
// A transaction that failed because PostgreSQL chose it as the victim of
// a conflict (retryable) runs again, up to maxAttempts times.
func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(*txn) error) error {
	for attempt := 1; ; attempt++ {
		err := db.tryTx(ctx, opts, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		// a little jitter so two victims do not collide again
		time.Sleep(time.Duration(rand.N(int64(attempt) * int64(2*time.Millisecond))))
	}
}

func (db *DB) tryTx(ctx context.Context, opts pgx.TxOptions, fn func(*txn) error) error {
	ptx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	t := &txn{ctx: ctx, tx: ptx, write: opts.AccessMode != pgx.ReadOnly}
	if err := fn(t); err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := t.finish(); err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// retryable reports whether err is PostgreSQL aborting a transaction that
// would succeed when run again: a serialization failure, a deadlock, or
// two transactions marking the same request settled (run again, the
// second sees the first's mark).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01":
		return true
	case "23505":
		return pe.ConstraintName == "credit_settled_pkey"
	}
	return false
}
