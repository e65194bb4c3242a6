package caddyaigateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// pool holds one shared state per database file. Caddy provisions a new
// config before it stops the old one; both must use the same open bbolt
// file (a second Open would wait for the file lock forever) and the same
// in-memory indexes.
var pool = caddy.NewUsagePool()

// shared is the state that outlives a config: the open store, the usage
// writer and the in-memory access key index.
type shared struct {
	path   string
	db     *store.DB
	usage  *store.Writer
	key    secrets.Key
	logger *zap.Logger

	// keys maps token hashes to access keys. Readers load the map without
	// locking; writers (the management API) copy it under keysMu.
	keys   atomic.Pointer[map[secrets.Hash]*store.AccessKey]
	keysMu sync.Mutex

	// state is the snapshot of the other management resources; mu
	// serialises their changes.
	state atomic.Pointer[state]
	mu    sync.Mutex

	// lastUsed collects access key use (id → unix nanos) and is flushed to
	// the store every few seconds: no write per request.
	lastUsed sync.Map
	stop     chan struct{}
	stopped  chan struct{}

	// stats is the rolling window of outcomes per model; health the
	// cooldowns of refused or rate-limited provider keys.
	stats  *liveStats
	health *keyHealth

	// ledger holds the credit balances; limiter the per-key limits.
	ledger  *credits.Ledger
	limiter *credits.Limiter
	webhook atomic.Pointer[string]
	// webhooks is never closed: a threshold crossed after shutdown (a late
	// settlement, a management call) must find a channel it can send to.
	webhooks chan lowBalanceEvent

	// inflight tracks the metered requests using the store (enter);
	// Destruct cuts them and waits for them to settle before it closes.
	inflight inflight
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
// shuttingDown) and call leave when the request is done with the store,
// after it settled and recorded usage, on every path: Destruct waits for
// it (at most inflightWait) before closing the usage writer and the
// database. leave is idempotent.
func (s *shared) enter(parent context.Context) (ctx context.Context, leave func(), ok bool) {
	ctx, done, ok := s.inflight.enter(parent)
	if !ok {
		return ctx, done, false
	}
	var once sync.Once
	return ctx, func() { once.Do(done) }, true
}

const secretCheckMeta = "secret_key_check"

// acquireShared opens the state of the database at path, or joins the
// one a running configuration has open; fresh reports that it was opened
// now. Each successful call is paired with releaseShared.
func acquireShared(path string, key secrets.Key, logger *zap.Logger) (s *shared, fresh bool, err error) {
	v, loaded, err := pool.LoadOrNew(path, func() (caddy.Destructor, error) {
		return openShared(path, key, logger)
	})
	if err != nil {
		return nil, false, err
	}
	s = v.(*shared)
	if s.key != key {
		_, _ = pool.Delete(path)
		return nil, false, fmt.Errorf("secret_key differs from the one the running configuration uses for %s; provider keys are encrypted with it", path)
	}
	return s, !loaded, nil
}

func releaseShared(path string) error {
	_, err := pool.Delete(path)
	return err
}

func openShared(path string, key secrets.Key, logger *zap.Logger) (*shared, error) {
	db, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	// A stored check value proves that this secret key is the one the
	// database's provider keys were sealed with.
	check, err := key.Seal([]byte("caddy-ai-gateway"), []byte(secretCheckMeta))
	if err != nil {
		db.Close()
		return nil, err
	}
	stored, err := db.SetMetaIfAbsent(secretCheckMeta, check)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising %s: %w", path, err)
	}
	if _, err := key.Open(stored, []byte(secretCheckMeta)); err != nil {
		db.Close()
		return nil, fmt.Errorf("secret_key does not match the key %s was created with; restore the original secret_key", path)
	}

	s := &shared{path: path, db: db, key: key, logger: logger.Named("store"),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	s.usage = store.NewWriter(db, store.WriterOptions{OnError: func(err error, lost int) {
		s.logger.Error("committing usage events", zap.Error(err), zap.Int("events", lost))
	}})
	err = s.ensureDefaultAccount()
	if err == nil {
		err = s.reloadState()
	}
	if err == nil {
		err = s.reloadKeys()
	}
	if err == nil {
		s.ledger, err = credits.Open(db, credits.Config{}, nil)
	}
	if err != nil {
		s.usage.Close()
		db.Close()
		return nil, err
	}
	s.limiter = credits.NewLimiter(nil)
	// spendPerDay counts what keys already spent today (UTC)
	if spent, err := s.ledger.SpentSince(time.Now().UTC().Truncate(24 * time.Hour)); err == nil {
		for keyID, n := range spent {
			s.limiter.SeedSpent(keyID, n)
		}
	} else {
		logger.Error("reading today's spend for spendPerDay limits", zap.Error(err))
	}
	s.stats, s.health = newLiveStats(), newKeyHealth()
	empty := ""
	s.webhook.Store(&empty)
	s.webhooks = make(chan lowBalanceEvent, 1024)
	go s.deliverWebhooks()
	go s.flushLoop(5 * time.Second)
	logger.Info("opened gateway store", zap.String("path", path))
	return s, nil
}

// Destruct closes the store once no configuration uses it. At shutdown
// Caddy's http app returns from Stop when its grace period ends, with
// requests still running (it does not close their connections): those
// that entered are cut now, and the store closes only after they settled
// and left, or after inflightWait.
func (s *shared) Destruct() error {
	if n := s.inflight.drain(inflightWait); n > 0 {
		s.logger.Error("closing the store with requests still in flight; their settlement and usage may be lost",
			zap.Int("requests", n), zap.Duration("waited", inflightWait))
	}
	close(s.stop)
	<-s.stopped
	s.stopWebhooks()
	s.usage.Close()
	s.flushLastUsed()
	return s.db.Close()
}

// stopWebhooks ends low-balance webhook delivery: later crossings are only
// logged (no URL), and events still queued are dropped with a log line.
func (s *shared) stopWebhooks() {
	empty := ""
	s.webhook.Store(&empty)
	dropped := 0
	for {
		select {
		case <-s.webhooks:
			dropped++
			continue
		default:
		}
		break
	}
	if dropped > 0 {
		s.logger.Warn("low-balance webhooks not delivered: the store closed", zap.Int("events", dropped))
	}
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
			s.flushLastUsed()
			if err := s.ledger.ExpireDue(); err != nil {
				s.logger.Error("expiring credits", zap.Error(err))
			}
		}
	}
}

// flushLastUsed writes the last use of access keys (and forgets it: the
// store has it) and of provider keys (kept in memory too: the snapshot
// is not reloaded for it).
func (s *shared) flushLastUsed() {
	keys, providerKeys := map[string]time.Time{}, map[string]time.Time{}
	s.lastUsed.Range(func(k, v any) bool {
		id, t := k.(string), time.Unix(0, v.(int64))
		if strings.HasPrefix(id, "pk_") {
			providerKeys[id] = t
		} else {
			keys[id] = t
			s.lastUsed.CompareAndDelete(k, v)
		}
		return true
	})
	if err := s.db.TouchAccessKeys(keys); err != nil {
		s.logger.Error("recording access key last use", zap.Error(err))
	}
	if len(providerKeys) == 0 {
		return
	}
	err := s.db.Update(func(tx *store.Tx) error {
		for id, t := range providerKeys {
			var pk ProviderKey
			if err := tx.Get(store.ProviderKeys, id, &pk); err != nil {
				continue // deleted meanwhile
			}
			if pk.LastUsed != nil && !t.After(*pk.LastUsed) {
				continue
			}
			t := t.UTC()
			pk.LastUsed = &t
			if err := tx.Put(store.ProviderKeys, id, &pk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.logger.Error("recording provider key last use", zap.Error(err))
	}
}

// reloadKeys rebuilds the in-memory access key index from the store.
func (s *shared) reloadKeys() error {
	all, err := s.db.AccessKeys()
	if err != nil {
		return fmt.Errorf("loading access keys: %w", err)
	}
	m := make(map[secrets.Hash]*store.AccessKey, len(all))
	for _, k := range all {
		if err := indexKey(m, k); err != nil {
			return err
		}
	}
	s.keysMu.Lock()
	s.keys.Store(&m)
	s.keysMu.Unlock()
	return nil
}

// indexKey adds k to an index under its token hash and, during a
// rotation's grace period, its previous token's hash.
func indexKey(m map[secrets.Hash]*store.AccessKey, k *store.AccessKey) error {
	h, err := k.Hash()
	if err != nil {
		return err
	}
	m[h] = k
	if ph, ok := k.PreviousHash(); ok {
		m[ph] = k
	}
	return nil
}

// unindexKey removes every hash of k from an index.
func unindexKey(m map[secrets.Hash]*store.AccessKey, k *store.AccessKey) {
	if h, err := k.Hash(); err == nil {
		delete(m, h)
	}
	if ph, ok := k.PreviousHash(); ok {
		delete(m, ph)
	}
}

// lookupKey finds the access key for a token hash. A previous token
// (replaced by a rotation) is valid until its grace period ends.
func (s *shared) lookupKey(h secrets.Hash, now time.Time) *store.AccessKey {
	k := (*s.keys.Load())[h]
	if k == nil {
		return nil
	}
	if ph, ok := k.PreviousHash(); ok && ph == h {
		if k.PreviousValidUntil == nil || !now.Before(*k.PreviousValidUntil) {
			return nil
		}
	}
	return k
}

// updateKeys applies change to a copy of the index and publishes it. It
// runs after the store committed, so memory never runs ahead of disk.
func (s *shared) updateKeys(change func(m map[secrets.Hash]*store.AccessKey)) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	old := *s.keys.Load()
	m := make(map[secrets.Hash]*store.AccessKey, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	change(m)
	s.keys.Store(&m)
}

func (s *shared) touch(id string, t time.Time) { s.lastUsed.Store(id, t.UnixNano()) }

var _ caddy.Destructor = (*shared)(nil)
