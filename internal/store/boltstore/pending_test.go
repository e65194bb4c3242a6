package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"path/filepath"
	"testing"
	"time"
)

func pendingCount(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketUsagePending); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPendingUsageSurvivesACrash: events journaled in a settlement's
// transaction are stored in full by the Writer, or, when the process died
// first, by the next Open.
func TestPendingUsageSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(id string) *store.UsageEvent {
		return &store.UsageEvent{ID: id, RequestID: "req_" + id, Attempt: 1, Timestamp: time.Now().UTC().Truncate(time.Microsecond),
			ProviderID: "openai", Model: "gpt-4o", Endpoint: "chat.completions", Status: 200, OutputTokens: 7, RetryAction: "succeeded"}
	}
	journal := func(events ...*store.UsageEvent) {
		if err := db.UpdateLedger(ctx, func(tx credits.Tx) error { _, err := tx.JournalUsage(events); return err }); err != nil {
			t.Fatal(err)
		}
	}

	// the writer stores a journaled event and clears its entry
	w := store.NewWriter(db, store.WriterOptions{FlushInterval: time.Millisecond})
	a := ev("ue_a")
	journal(a)
	w.RecordUsage(a)
	w.Close()
	if n := pendingCount(t, db); n != 0 {
		t.Fatalf("%d journal entries left after the writer stored them", n)
	}

	// a crash before the writer ran: the next Open stores it
	journal(ev("ue_b"), ev("ue_c"))
	if n := pendingCount(t, db); n != 2 {
		t.Fatalf("journal holds %d", n)
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := pendingCount(t, db); n != 0 {
		t.Fatalf("%d journal entries left after Open", n)
	}
	for _, id := range []string{"ue_a", "ue_b", "ue_c"} {
		e, err := db.UsageEventByID(ctx, id)
		if err != nil || e.OutputTokens != 7 {
			t.Fatalf("%s: %+v %v", id, e, err)
		}
	}
	// replaying again (the writer got it too) never counts an event twice
	evs, err := db.Usage(ctx, store.UsageQuery{From: time.Now().Add(-time.Hour)})
	if err != nil || len(evs) != 3 {
		t.Fatalf("%d events (%v)", len(evs), err)
	}
}
