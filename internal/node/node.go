package node

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/health"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/inflight"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// State is what one process keeps open per store. Open sets the exported
// fields; they never change after it (only tests swap them).
type State struct {
	// Manage holds the management resources' snapshot and the access key
	// index; key use is flushed to the store every few seconds.
	Manage *manage.State
	// Usage journals usage events in batches, off the request path.
	Usage *store.Writer
	// Ledger holds the credit balances; Limiter enforces the per-key
	// limits; LowBalance sends the low-balance warnings.
	Ledger     *credits.Ledger
	Limiter    KeyLimiter
	LowBalance *credits.LowBalanceNotifier
	// Stats is the rolling window of outcomes per model; Health the
	// cooldowns of refused or rate-limited provider keys.
	Stats  *health.LiveStats
	Health *health.KeyHealth

	storage  Storage
	db       engine
	key      secrets.Key
	logger   *zap.Logger
	onReload func()

	// flushLoop runs until stop is closed, then closes stopped.
	stop    chan struct{}
	stopped chan struct{}

	// stopWatch ends the watch for other nodes' changes (many nodes).
	stopWatch context.CancelFunc

	// inflight tracks the metered requests using the store (Enter); Close
	// cuts them and waits for them to settle before it closes the store.
	inflight inflight.Tracker

	// usageRetention is the usage_retention in force (nanoseconds; 0 keeps
	// usage events forever): the latest config's (SetUsageRetention).
	// stopRetention ends the loop that applies it (retentionLoop), which
	// closes retentionDone.
	usageRetention atomic.Int64
	stopRetention  context.CancelFunc
	retentionDone  chan struct{}

	// ping shares the store checks of Ready.
	ping pingCache
}

// Options are what Open needs besides the store and its key.
type Options struct {
	// Logger is the ai app's; the state logs under its "store" name.
	Logger *zap.Logger

	// OnReload, when set, runs after the management state was reloaded
	// with what another node changed (many nodes only), to apply what the
	// request path does not read from the snapshot itself.
	OnReload func()
}

// ErrWrongKey marks a bbolt database opened with another key than the one
// it was created with; the caller says where the key came from.
var ErrWrongKey = errors.New("wrong secret key")

// secretCheckMeta is where the store keeps the value that proves which
// secret key its provider keys are sealed with (secrets.Key.Verify).
const secretCheckMeta = "secret_key_check"

// Open opens the store r names, checks that key is the one its provider
// keys are sealed with (the first key used on a store is recorded in it),
// and starts the node's background work. Close undoes it.
func Open(r Storage, key secrets.Key, opts Options) (*State, error) {
	db, err := openEngine(r)
	if err != nil {
		return nil, err
	}
	if err := key.Verify(func(check []byte) ([]byte, error) { return db.SetMetaIfAbsent(secretCheckMeta, check) }); err != nil {
		db.Close()
		if errors.Is(err, secrets.ErrWrongKey) {
			if r.Engine == Postgres {
				return nil, fmt.Errorf("secret_key does not match the key %s was created with: every node on one database needs the same secret_key", r)
			}
			return nil, fmt.Errorf("%w: the secret key does not match the key %s was created with", ErrWrongKey, r)
		}
		return nil, fmt.Errorf("initialising %s: %w", r, err)
	}

	s := &State{storage: r, db: db, key: key, logger: opts.Logger.Named("store"), onReload: opts.OnReload,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	s.Usage = store.NewWriter(db, store.WriterOptions{OnError: func(err error, lost int) {
		s.logger.Error("committing usage events", zap.Error(err), zap.Int("events", lost))
	}})
	s.Manage, err = manage.Open(db, key, s.logger)
	if err == nil {
		s.Ledger, err = s.openLedger(db)
	}
	if err != nil {
		s.Usage.Close()
		db.Close()
		return nil, err
	}
	if w, ok := db.(changeWatcher); ok {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopWatch = cancel
		go w.WatchChanges(ctx, func() {
			if err := s.Manage.Reload(); err != nil {
				s.logger.Error("reloading management resources after a change on another node", zap.Error(err))
				return
			}
			s.afterReload()
		})
	}
	s.Limiter = s.openLimiter(db)
	s.Stats, s.Health = health.NewLiveStats(), health.NewKeyHealth()
	s.LowBalance = credits.NewLowBalanceNotifier(s.logger)
	go s.flushLoop(5 * time.Second)
	if d, ok := db.(usageDeleter); ok {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopRetention, s.retentionDone = cancel, make(chan struct{})
		go s.retentionLoop(ctx, d, retentionFirstRun, retentionEvery)
	}
	opts.Logger.Info("opened gateway store", zap.String("engine", r.Engine), zap.String("store", r.String()))
	return s, nil
}

// UsesKey reports whether the state's provider keys are sealed with key.
func (s *State) UsesKey(key secrets.Key) bool { return s.key == key }

// afterReload runs Options.OnReload.
func (s *State) afterReload() {
	if s.onReload != nil {
		s.onReload()
	}
}

// inflightWait bounds how long Close waits for requests in flight.
var inflightWait = 15 * time.Second

// Enter registers a request that will use the store (reserve, settle,
// record usage). ok=false once the store began closing: answer without
// using it. Otherwise use the returned ctx for the request's upstream work
// (Close cuts it with inflight.ErrShutdown, see inflight.ShuttingDown) and
// call the entry's Leave when the request is done with the store, after it
// settled and recorded usage, on every path: Close waits for it (at most
// inflightWait) before closing the usage writer and the database. Leave is
// idempotent.
func (s *State) Enter(parent context.Context) (ctx context.Context, e *inflight.Entry, ok bool) {
	return s.inflight.Enter(parent)
}

// Close closes the store. At shutdown Caddy's http app returns from Stop
// when its grace period ends, with requests still running (it does not
// close their connections): those that entered are cut now, and the store
// closes only after they settled and left, or after inflightWait.
func (s *State) Close() error {
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
	s.LowBalance.Close()
	s.Usage.Close()
	s.Manage.FlushLastUsed()
	s.Ledger.Close() // leases go back to their accounts
	return s.db.Close()
}

// flushLoop writes the access keys' last use every every, heals a missed
// change notification on many nodes, and expires due credits, until
// Close.
func (s *State) flushLoop(every time.Duration) {
	defer close(s.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Manage.FlushLastUsed()
			if s.stopWatch != nil {
				// many nodes: heal a change notification that was missed
				if err := s.Manage.Reload(); err != nil {
					s.logger.Error("reloading management resources", zap.Error(err))
				} else {
					s.afterReload()
				}
			}
			if err := s.Ledger.ExpireDue(); err != nil {
				s.logger.Error("expiring credits", zap.Error(err))
			}
		}
	}
}
