package boltstore

import (
	"context"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
)

func closeTestEvent(n int) *store.UsageEvent {
	ts := time.Now().Add(-time.Minute).Add(time.Duration(n) * time.Microsecond)
	return &store.UsageEvent{ID: ids.At("ue", ts), RequestID: fmt.Sprintf("req_late_%06d", n), Attempt: 1, Timestamp: ts,
		ProviderID: "openai", Model: "gpt-4o", Status: 200, RetryAction: store.RetrySucceeded}
}

// A request that records usage after the writer closed (the store is
// shutting down under it) must not panic: the event is committed on its
// own while the database is open.
func TestWriterRecordAfterCloseCommits(t *testing.T) {
	db := openTemp(t)
	w := store.NewWriter(db, store.WriterOptions{})
	w.Close()
	e := closeTestEvent(1)
	w.RecordUsage(e)
	got, err := db.RequestUsage(context.Background(), e.RequestID)
	if err != nil || len(got) != 1 {
		t.Fatalf("late event: %v %v", got, err)
	}
}

// After the database closed too, a late event is reported lost, with its
// count, through OnError.
func TestWriterRecordAfterDBCloseReportsLoss(t *testing.T) {
	db := openTemp(t)
	var lost atomic.Int64
	var msg atomic.Value
	w := store.NewWriter(db, store.WriterOptions{OnError: func(err error, n int) {
		lost.Add(int64(n))
		msg.Store(err.Error())
	}})
	w.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	w.RecordUsage(closeTestEvent(1))
	if lost.Load() != 1 {
		t.Fatalf("lost %d events, want 1 (%v)", lost.Load(), msg.Load())
	}
}

// RecordUsage racing Close: no panic, no data race, and every event is
// either committed or reported lost (here: all committed, the database
// stays open).
func TestWriterRecordRacingClose(t *testing.T) {
	for round := 0; round < 20; round++ {
		db := openTemp(t)
		var lost atomic.Int64
		w := store.NewWriter(db, store.WriterOptions{Queue: 4, MaxBatch: 3, OnError: func(_ error, n int) { lost.Add(int64(n)) }})
		const senders, each = 8, 25
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < senders; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				<-start
				for i := 0; i < each; i++ {
					w.RecordUsage(closeTestEvent(g*each + i))
				}
			}(g)
		}
		close(start)
		time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
		w.Close()
		wg.Wait()
		w.Close() // idempotent
		n := 0
		for i := 0; i < senders*each; i++ {
			got, err := db.RequestUsage(context.Background(), closeTestEvent(i).RequestID)
			if err == nil {
				n += len(got)
			}
		}
		if n != senders*each || lost.Load() != 0 {
			t.Fatalf("round %d: %d of %d events committed, %d lost", round, n, senders*each, lost.Load())
		}
	}
}
