package node

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// deleteOldUsage deletes, batch after batch, what the retention in force
// makes old, logs the count, and does nothing while no retention is set.
func TestDeleteOldUsage(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	s := openTest(t, zap.New(core))
	defer s.Close()
	defer func(n int) { retentionBatch = n }(retentionBatch)
	retentionBatch = 3

	now := time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)
	var events []*store.UsageEvent
	for i, age := range []time.Duration{72 * time.Hour, 50 * time.Hour, 49 * time.Hour, 48*time.Hour + 31*time.Minute,
		48 * time.Hour, 47 * time.Hour, time.Hour} {
		events = append(events, &store.UsageEvent{ID: fmt.Sprintf("ue_%d", i), RequestID: fmt.Sprintf("req_%d", i), Attempt: 1,
			Timestamp: now.Add(-age), ProviderID: "openai", Model: "gpt-4o", Status: 200, RetryAction: store.RetrySucceeded})
	}
	if err := s.db.StoreUsage(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	stored := func() []string {
		evs, err := s.db.Usage(context.Background(), store.UsageQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	db := s.db.(usageDeleter)

	s.deleteOldUsage(context.Background(), db, now) // no usage_retention: kept forever
	if got := stored(); len(got) != len(events) {
		t.Fatalf("without a retention: %v left", got)
	}

	// 48h at 12:30 deletes what precedes 12:00 two days ago (the whole hour
	// of 11:59 goes, that of 12:00 stays): 4 events, in two batches
	s.SetUsageRetention(48 * time.Hour)
	s.deleteOldUsage(context.Background(), db, now)
	if got := stored(); fmt.Sprint(got) != "[ue_4 ue_5 ue_6]" {
		t.Fatalf("left %v", got)
	}
	l := logs.FilterMessageSnippet("deleted old usage events").All()
	if len(l) != 1 || l[0].ContextMap()["events"] != int64(4) || l[0].ContextMap()["batches"] != int64(2) {
		t.Fatalf("logged %v", logs.All())
	}
	s.deleteOldUsage(context.Background(), db, now) // nothing more: no log line
	if n := len(logs.FilterMessageSnippet("deleted old usage events").All()); n != 1 {
		t.Fatalf("%d log lines after deleting nothing", n)
	}

	s.deleteOldUsage(context.Background(), failingDeleter{}, now)
	if l := logs.FilterMessageSnippet("deleting old usage events").All(); len(l) != 1 || l[0].Level != zapcore.ErrorLevel {
		t.Fatalf("an error logged as %v", logs.All())
	}
}

type failingDeleter struct{}

func (failingDeleter) DeleteUsageBefore(context.Context, time.Time, int) (int, error) {
	return 0, errors.New("disk full")
}

// signallingDeleter reports each call on calls.
type signallingDeleter struct{ calls chan time.Time }

func (d signallingDeleter) DeleteUsageBefore(_ context.Context, t time.Time, _ int) (int, error) {
	d.calls <- t
	return 0, nil
}

// The loop runs a first pass after its first delay and ends when its
// context does.
func TestRetentionLoop(t *testing.T) {
	s := &State{logger: zap.NewNop(), retentionDone: make(chan struct{})}
	s.SetUsageRetention(24 * time.Hour)
	d := signallingDeleter{calls: make(chan time.Time, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go s.retentionLoop(ctx, d, 0, time.Hour)
	before := <-d.calls
	if !before.Before(time.Now().Add(-23*time.Hour)) || before.Minute() != 0 || before.Second() != 0 || before.Nanosecond() != 0 {
		t.Fatalf("deleted before %v", before)
	}
	cancel()
	<-s.retentionDone
}
