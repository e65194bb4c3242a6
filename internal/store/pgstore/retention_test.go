package pgstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

// TestDeleteUsageBefore: old events go in batches of at most the limit,
// oldest first, up to the cutoff rounded down to the hour; while another
// node deletes (it holds the retention lock) a node deletes nothing.
func TestDeleteUsageBefore(t *testing.T) {
	url := testpg.URL(t)
	a, b := open(t, url), open(t, url)
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var events []*store.UsageEvent
	for i := range 50 {
		ts := base.Add(time.Duration(i) * 7 * time.Minute) // 00:00 to 05:43
		events = append(events, &store.UsageEvent{ID: fmt.Sprintf("ue_%02d", i), RequestID: fmt.Sprintf("req_%02d", i/2),
			Attempt: 1 + i%2, Timestamp: ts, ProviderID: "openai", Model: "gpt-4o", Status: 200, RetryAction: store.RetrySucceeded})
	}
	if err := a.StoreUsage(ctx, events); err != nil {
		t.Fatal(err)
	}
	cutoff := base.Add(3*time.Hour + 30*time.Minute) // deletes what precedes 03:00
	old := 0
	for _, e := range events {
		if e.Timestamp.Before(base.Add(3 * time.Hour)) {
			old++
		}
	}

	// another node holds the lock: nothing deleted, no error
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, retentionLock); err != nil {
		t.Fatal(err)
	}
	if n, err := a.DeleteUsageBefore(ctx, cutoff, 10); n != 0 || err != nil {
		t.Fatalf("while another node deletes: %d, %v", n, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	var got []int
	for {
		n, err := a.DeleteUsageBefore(ctx, cutoff, 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
		if n < 10 {
			break
		}
	}
	if want := []int{10, 10, 6}; fmt.Sprint(got) != fmt.Sprint(want) || old != 26 {
		t.Fatalf("batches %v, want %v (%d old events)", got, want, old)
	}
	left, err := a.Usage(ctx, store.UsageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != len(events)-old || left[0].ID != events[old].ID {
		t.Fatalf("%d events left, the first %s; want %d from %s", len(left), left[0].ID, len(events)-old, events[old].ID)
	}
	// req_12 had its attempts at 02:48 and 02:55: gone; req_13 (03:02) kept
	if _, err := b.RequestUsage(ctx, "req_12"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted request: %v", err)
	}
	if evs, err := b.RequestUsage(ctx, "req_13"); err != nil || len(evs) != 2 {
		t.Fatalf("a kept request: %d attempts, %v", len(evs), err)
	}
	if n, err := b.DeleteUsageBefore(ctx, cutoff, 10); n != 0 || err != nil {
		t.Fatalf("deleting again: %d, %v", n, err)
	}
}
