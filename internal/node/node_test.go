package node

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/inflight"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
)

// openTest opens a node on a new bbolt database.
func openTest(t *testing.T, logger *zap.Logger) *State {
	t.Helper()
	s, err := Open(Storage{Engine: BBolt, Where: filepath.Join(t.TempDir(), "gw.db")}, secrets.NewKey(), Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func lifecycleEvent(n int) *store.UsageEvent {
	ts := time.Now()
	return &store.UsageEvent{ID: ids.At("ue", ts), RequestID: "req_inflight_" + string(rune('a'+n)), Attempt: 1, Timestamp: ts,
		ProviderID: "openai", Model: "gpt-4o", Status: 200, RetryAction: store.RetrySucceeded}
}

// Close cuts the requests in flight and waits for them to settle
// before it closes the usage writer and the database: a stream cut at
// shutdown still settles and records its usage. New requests are refused
// meanwhile.
func TestCloseWaitsForRequestsInFlight(t *testing.T) {
	s := openTest(t, zap.NewNop())
	ctx, entry, ok := s.Enter(context.Background())
	if !ok {
		t.Fatal("enter refused before shutdown")
	}
	var writeErr error
	var wrote, cut atomic.Bool
	go func() {
		<-ctx.Done() // a stream runs until the shutdown cuts it
		cut.Store(inflight.ShuttingDown(ctx))
		time.Sleep(200 * time.Millisecond)
		// what a settling handler does: a ledger write and a usage event
		_, writeErr = s.Ledger.Adjust(manage.DefaultAccountID, credits.Adjustment, 1*money.USD, "late settle")
		s.Usage.RecordUsage(lifecycleEvent(0))
		wrote.Store(true)
		entry.Leave()
		entry.Leave() // idempotent
	}()
	start := time.Now()
	destructed := make(chan error, 1)
	go func() { destructed <- s.Close() }()
	time.Sleep(50 * time.Millisecond)
	if _, _, ok := s.Enter(context.Background()); ok {
		t.Fatal("enter admitted a request while the store closes")
	}
	if err := <-destructed; err != nil {
		t.Fatal(err)
	}
	if !wrote.Load() || writeErr != nil {
		t.Fatalf("Close returned before the request left (wrote %v, err %v)", wrote.Load(), writeErr)
	}
	if !cut.Load() {
		t.Fatal("the request in flight was not cut with inflight.ErrShutdown")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("Close took %s", d)
	}
	// the usage event reached the database before it closed
	db, err := boltstore.Open(s.storage.Where)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if evs, err := db.RequestUsage(context.Background(), lifecycleEvent(0).RequestID); err != nil || len(evs) != 1 {
		t.Fatalf("usage of the request in flight: %v %v", evs, err)
	}
}

// The wait is bounded: a request that never leaves delays Close by
// inflightWait, and the log says how many were still in flight.
func TestCloseGivesUpOnStuckRequests(t *testing.T) {
	old := inflightWait
	inflightWait = 100 * time.Millisecond
	defer func() { inflightWait = old }()
	core, logs := observer.New(zapcore.InfoLevel)
	s := openTest(t, zap.New(core))
	_, e1, _ := s.Enter(context.Background())
	_, e2, _ := s.Enter(context.Background())
	defer e1.Leave()
	defer e2.Leave()
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Close took %s", d)
	}
	found := logs.FilterMessageSnippet("still in flight").All()
	if len(found) != 1 || found[0].ContextMap()["requests"] != int64(2) {
		t.Fatalf("log: %v", logs.All())
	}
}

// A threshold crossed after the store closed (a late settlement) and a
// usage event recorded after it are dropped with a log line; nothing
// panics.
func TestLateEventsAfterClose(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	s := openTest(t, zap.New(core))
	s.LowBalance.SetWebhook("http://127.0.0.1:1/hook")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.LowBalance.Notify(manage.DefaultAccountID, 1*money.USD, 2*money.USD)
	s.Usage.RecordUsage(lifecycleEvent(1))
	if len(logs.FilterMessageSnippet("committing usage events").All()) != 1 {
		t.Fatalf("late usage event not reported: %v", logs.All())
	}
}
