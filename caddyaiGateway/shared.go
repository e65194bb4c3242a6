package caddyaigateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/health"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/inflight"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/pgstore"
)

// pool holds one shared state per store. Caddy provisions a new config
// before it stops the old one; both must use the same open bbolt file (a
// second Open would wait for the file lock forever) or PostgreSQL pool,
// and the same in-memory indexes.
var pool = caddy.NewUsagePool()

// Storage engines.
const (
	engineBBolt    = "bbolt"
	enginePostgres = "postgres"
)

// storageRef names a store: an engine and a file path or database URL.
type storageRef struct{ engine, where string }

// key is the store's name in the pool.
func (r storageRef) key() string { return r.engine + "|" + r.where }

// String names the store in logs and errors, without a URL's password.
func (r storageRef) String() string {
	if r.engine == enginePostgres {
		if u, err := url.Parse(r.where); err == nil {
			return u.Redacted()
		}
		return "the PostgreSQL database"
	}
	return r.where
}

// engine is a storage engine as the ai app uses it: the seams the
// packages that use it declare, and its own lifecycle.
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

// shared is the state that outlives a config: the open store, the usage
// writer and the management state (resources, access key index).
type shared struct {
	ref    storageRef
	path   string // the pool's key
	db     engine
	usage  *store.Writer
	key    secrets.Key
	logger *zap.Logger

	// manage holds the management resources' snapshot and the access key
	// index; key use is flushed to the store every few seconds.
	manage  *manage.State
	stop    chan struct{}
	stopped chan struct{}

	// stats is the rolling window of outcomes per model; health the
	// cooldowns of refused or rate-limited provider keys.
	stats  *health.LiveStats
	health *health.KeyHealth

	// ledger holds the credit balances; limiter the per-key limits.
	ledger     *credits.Ledger
	limiter    keyLimiter
	lowBalance *credits.LowBalanceNotifier

	// stopWatch ends the watch for other nodes' changes (many nodes).
	stopWatch context.CancelFunc

	// inflight tracks the metered requests using the store (enter);
	// Destruct cuts them and waits for them to settle before it closes.
	inflight inflight.Tracker

	// usageRetention is the usage_retention in force (nanoseconds; 0 keeps
	// usage events forever): the latest config's, set at its Start.
	// stopRetention ends the loop that applies it (retentionLoop), which
	// closes retentionDone.
	usageRetention atomic.Int64
	stopRetention  context.CancelFunc
	retentionDone  chan struct{}
}

// inflightWait bounds how long Destruct waits for requests in flight.
var inflightWait = 15 * time.Second

// errGatewayStopping is the answer to a request that arrives while the
// store closes (shared.enter reported ok=false).
var errGatewayStopping = apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the gateway is shutting down; retry the request")

// enter registers a request that will use the store (reserve, settle,
// record usage). ok=false once the store began closing: answer 503
// (errGatewayStopping) without using it. Otherwise use the returned ctx
// for the request's upstream work (Destruct cuts it with errShutdown, see
// shuttingDown) and call the entry's Leave when the request is done with
// the store, after it settled and recorded usage, on every path: Destruct
// waits for it (at most inflightWait) before closing the usage writer and
// the database. Leave is idempotent.
func (s *shared) enter(parent context.Context) (ctx context.Context, e *inflight.Entry, ok bool) {
	return s.inflight.Enter(parent)
}

// errShutdown cuts the requests in flight when the store closes;
// shuttingDown reports whether it cut ctx.
var (
	errShutdown  = inflight.ErrShutdown
	shuttingDown = inflight.ShuttingDown
)

// secretCheckMeta is where the store keeps the value that proves which
// secret key its provider keys are sealed with (secrets.Key.Verify).
const secretCheckMeta = "secret_key_check"

// acquireShared opens the state of the database at path, or joins the
// one a running configuration has open; fresh reports that it was opened
// now. Each successful call is paired with releaseShared.
func acquireShared(ref storageRef, key secrets.Key, logger *zap.Logger) (s *shared, fresh bool, err error) {
	path := ref.key()
	v, loaded, err := pool.LoadOrNew(path, func() (caddy.Destructor, error) {
		return openShared(ref, key, logger)
	})
	if err != nil {
		return nil, false, err
	}
	s = v.(*shared)
	if s.key != key {
		_, _ = pool.Delete(path)
		return nil, false, fmt.Errorf("secret_key differs from the one the running configuration uses for %s; provider keys are encrypted with it", ref)
	}
	return s, !loaded, nil
}

func releaseShared(path string) error {
	_, err := pool.Delete(path)
	return err
}

// openEngine opens the store ref names.
func openEngine(ref storageRef) (engine, error) {
	if ref.engine == enginePostgres {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		return pgstore.Open(ctx, ref.where)
	}
	return boltstore.Open(ref.where)
}

// errWrongKey marks a bbolt database opened with another key than the
// one it was created with; activate says where the key came from.
var errWrongKey = errors.New("wrong secret key")

func openShared(ref storageRef, key secrets.Key, logger *zap.Logger) (*shared, error) {
	db, err := openEngine(ref)
	if err != nil {
		return nil, err
	}
	if err := key.Verify(func(check []byte) ([]byte, error) { return db.SetMetaIfAbsent(secretCheckMeta, check) }); err != nil {
		db.Close()
		if errors.Is(err, secrets.ErrWrongKey) {
			if ref.engine == enginePostgres {
				return nil, fmt.Errorf("secret_key does not match the key %s was created with: every node on one database needs the same secret_key", ref)
			}
			return nil, fmt.Errorf("%w: the secret key does not match the key %s was created with", errWrongKey, ref)
		}
		return nil, fmt.Errorf("initialising %s: %w", ref, err)
	}

	s := &shared{ref: ref, path: ref.key(), db: db, key: key, logger: logger.Named("store"),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	s.usage = store.NewWriter(db, store.WriterOptions{OnError: func(err error, lost int) {
		s.logger.Error("committing usage events", zap.Error(err), zap.Int("events", lost))
	}})
	s.manage, err = manage.Open(db, key, s.logger)
	if err == nil {
		s.ledger, err = s.openLedger(db)
	}
	if err != nil {
		s.usage.Close()
		db.Close()
		return nil, err
	}
	if w, ok := db.(changeWatcher); ok {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopWatch = cancel
		go w.WatchChanges(ctx, func() {
			if err := s.manage.Reload(); err != nil {
				s.logger.Error("reloading management resources after a change on another node", zap.Error(err))
				return
			}
			s.afterReload()
		})
	}
	s.limiter = s.openLimiter(db)
	s.stats, s.health = health.NewLiveStats(), health.NewKeyHealth()
	s.lowBalance = credits.NewLowBalanceNotifier(s.logger)
	go s.flushLoop(5 * time.Second)
	if d, ok := db.(usageDeleter); ok {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopRetention, s.retentionDone = cancel, make(chan struct{})
		go s.retentionLoop(ctx, d, retentionFirstRun, retentionEvery)
	}
	logger.Info("opened gateway store", zap.String("engine", ref.engine), zap.String("store", ref.String()))
	return s, nil
}

// afterReload applies what another node changed and the request path does
// not read from the snapshot itself: the gateway config's credit settings
// (lifetime, thresholds, webhook) of the running configuration.
func (s *shared) afterReload() {
	if a := Current(); a != nil && a.shared == s {
		a.applyCreditSettings()
	}
}

// keyLimiter enforces the per-key limits: in memory on one node
// (credits.Limiter); on a store shared by several nodes against every
// node's admissions (credits.SharedLimiter).
type keyLimiter interface {
	Admit(keyID string, lim credits.Limits, estTokens int64, worstCost money.Nano) (*credits.Admission, error)
}

func (s *shared) openLimiter(db engine) keyLimiter {
	if ls, ok := db.(credits.LimitStore); ok {
		return credits.NewSharedLimiter(ls, nil, func(err error) {
			s.logger.Error("recording what a limited request used", zap.Error(err))
		})
	}
	l := credits.NewLimiter(nil)
	// spendPerDay counts what keys already spent today (UTC)
	if spent, err := s.ledger.SpentSince(time.Now().UTC().Truncate(24 * time.Hour)); err == nil {
		for keyID, n := range spent {
			l.SeedSpent(keyID, n)
		}
	} else {
		s.logger.Error("reading today's spend for spendPerDay limits", zap.Error(err))
	}
	return l
}

// changeWatcher is a store shared by several nodes that reports their
// changes (pgstore: LISTEN/NOTIFY): fn runs for each, and after every
// reconnection.
type changeWatcher interface {
	WatchChanges(ctx context.Context, fn func())
}

// openLedger opens the credit ledger: the balances in memory on one node;
// on a store shared by several nodes, leases (credits.OpenLeased) under a
// node name unique to this process.
func (s *shared) openLedger(db engine) (*credits.Ledger, error) {
	l, ok := db.(credits.Leaser)
	if !ok {
		return credits.Open(db, credits.Config{}, nil)
	}
	host, _ := os.Hostname()
	node := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), ids.New("node"))
	return credits.OpenLeased(credits.LeaseConfig{Store: l, Node: node, OnLost: func(err error) {
		s.logger.Error("credit leases", zap.Error(err))
	}}, credits.Config{}, nil)
}

// Destruct closes the store once no configuration uses it. At shutdown
// Caddy's http app returns from Stop when its grace period ends, with
// requests still running (it does not close their connections): those
// that entered are cut now, and the store closes only after they settled
// and left, or after inflightWait.
func (s *shared) Destruct() error {
	if n := s.inflight.Drain(inflightWait); n > 0 {
		s.logger.Error("closing the store with requests still in flight; their settlement and usage may be lost",
			zap.Int("requests", n), zap.Duration("waited", inflightWait))
	}
	close(s.stop)
	<-s.stopped
	if s.stopRetention != nil {
		s.stopRetention()
		<-s.retentionDone
	}
	if s.stopWatch != nil {
		s.stopWatch()
	}
	s.lowBalance.Close()
	s.usage.Close()
	s.manage.FlushLastUsed()
	s.ledger.Close() // leases go back to their accounts
	return s.db.Close()
}

func (s *shared) flushLoop(every time.Duration) {
	defer close(s.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.manage.FlushLastUsed()
			if s.stopWatch != nil {
				// many nodes: heal a change notification that was missed
				if err := s.manage.Reload(); err != nil {
					s.logger.Error("reloading management resources", zap.Error(err))
				} else {
					s.afterReload()
				}
			}
			if err := s.ledger.ExpireDue(); err != nil {
				s.logger.Error("expiring credits", zap.Error(err))
			}
		}
	}
}

// usageDeleter is a store that deletes old usage events (usage_retention):
// in one transaction, at most limit of the oldest events timestamped
// before t rounded down to the UTC hour; fewer than limit when none is
// left (or, on a store of many nodes, when another node is deleting them).
type usageDeleter interface {
	DeleteUsageBefore(ctx context.Context, t time.Time, limit int) (deleted int, err error)
}

// When the retention loop runs, and how many events one transaction
// deletes. On bbolt a batch of 5,000 holds the write lock for ~50-60 ms
// on a plain disk, most of it the fsync every commit pays (a batch of
// 1,000 took ~47 ms), so settlements and the usage writer wait at most
// one batch; on PostgreSQL it locks only the rows it deletes, which
// nobody writes.
var (
	retentionFirstRun = time.Minute
	retentionEvery    = 10 * time.Minute
	retentionBatch    = 5000
)

// retentionLoop deletes the usage events older than usageRetention, first
// after first, then every every, until ctx ends (Destruct).
func (s *shared) retentionLoop(ctx context.Context, db usageDeleter, first, every time.Duration) {
	defer close(s.retentionDone)
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.deleteOldUsage(ctx, db, time.Now())
			t.Reset(every)
		}
	}
}

// deleteOldUsage deletes, batch after batch, the usage events older than
// the retention in force at now, and logs how many went. It stops early
// when ctx ends; what is left goes next time.
func (s *shared) deleteOldUsage(ctx context.Context, db usageDeleter, now time.Time) {
	retention := time.Duration(s.usageRetention.Load())
	if retention <= 0 {
		return
	}
	before := now.Add(-retention).Truncate(time.Hour)
	started := time.Now()
	total, batches := 0, 0
	for ctx.Err() == nil {
		n, err := db.DeleteUsageBefore(ctx, before, retentionBatch)
		total += n
		batches++
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("deleting old usage events (usage_retention)", zap.Error(err),
					zap.Time("before", before), zap.Int("deleted", total))
			}
			return
		}
		if n < retentionBatch {
			break
		}
	}
	if total > 0 {
		s.logger.Info("deleted old usage events (usage_retention)", zap.Int("events", total),
			zap.Int("batches", batches), zap.Time("before", before), zap.Duration("took", time.Since(started)))
	}
}

var _ caddy.Destructor = (*shared)(nil)
