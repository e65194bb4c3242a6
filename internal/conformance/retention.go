package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// usageDeleter is an engine that deletes old usage events (the ai app's
// usage_retention): DeleteUsageBefore deletes, in one transaction, at
// most limit of the oldest events timestamped before t rounded down to
// the UTC hour, and returns how many; fewer than limit when none is left.
type usageDeleter interface {
	Engine
	DeleteUsageBefore(ctx context.Context, t time.Time, limit int) (int, error)
}

// TestRetention checks the deletion of old usage events: after it, the
// engine answers every usage query as an engine that never had them
// would. Engines without it skip.
func TestRetention(t *testing.T, f Factory) {
	db, reopen := f(t)
	if _, ok := db.(usageDeleter); !ok {
		t.Skip("the engine does not delete old usage events")
	}
	cutoff := t0.Add(-20 * time.Minute) // 09:40: deletes what precedes 09:00
	recent := usageFixture()
	kept := []*store.UsageEvent{
		// after the cutoff's hour began: kept with the rest of its hour
		event("keep_0910", "req_keep_0910", 1, t0.Add(-50*time.Minute), "ak_even", "acct_even", store.RetrySucceeded),
	}
	kept = append(kept, recent...)
	// two days earlier: the fixture, a request retried across an hour,
	// and the last nanosecond before the cutoff's hour
	var old []*store.UsageEvent
	for _, e := range usageFixture() {
		o := *e
		o.ID, o.RequestID, o.Timestamp = "old_"+e.ID, "old_"+e.RequestID, e.Timestamp.Add(-48*time.Hour)
		old = append(old, &o)
	}
	old = append(old,
		event("old_r1", "old_req_retried", 1, t0.Add(-70*time.Minute-time.Second), "ak_odd", "acct_odd", store.RetryNextKey),
		event("old_r2", "old_req_retried", 2, t0.Add(-70*time.Minute), "ak_odd", "acct_odd", store.RetrySucceeded),
		event("old_edge", "old_req_edge", 1, t0.Add(-time.Hour-time.Nanosecond), "ak_even", "acct_even", store.RetrySucceeded))
	// a settlement's events journaled but not yet stored by the writer
	// when the process died: deleted too, not brought back by a restart
	journaled := []*store.UsageEvent{
		event("old_journaled", "old_req_journaled", 1, t0.Add(-3*time.Hour), "ak_even", "acct_even", store.RetrySucceeded),
		event("keep_journaled", "req_keep_journaled", 1, t0.Add(-30*time.Minute), "ak_odd", "acct_odd", store.RetrySucceeded),
	}
	kept = append(kept, journaled[1])

	write(db, append(append([]*store.UsageEvent(nil), old...), kept[:len(kept)-1]...))
	if err := db.UpdateLedger(ctx, func(tx credits.Tx) error { _, err := tx.JournalUsage(journaled); return err }); err != nil {
		t.Fatal(err)
	}

	// in batches smaller than what is old
	const limit = 7
	total, calls := 0, 0
	for {
		n := must(db.(usageDeleter).DeleteUsageBefore(ctx, cutoff, limit))(t)
		if n < 0 || n > limit {
			t.Fatalf("one call deleted %d events, limit %d", n, limit)
		}
		total += n
		if calls++; n < limit {
			break
		}
		if calls > 100 {
			t.Fatal("deleting does not end")
		}
	}
	// the journaled old event is deleted by the engine storing it in full
	// (PostgreSQL) or still in its journal (bbolt): either way it is gone
	if want := len(old); total != want && total != want+1 {
		t.Fatalf("deleted %d events, want %d (or %d with the journaled one)", total, want, want+1)
	}
	if calls < 1+len(old)/limit {
		t.Fatalf("%d calls deleted %d events in batches of %d", calls, total, limit)
	}
	if n := must(db.(usageDeleter).DeleteUsageBefore(ctx, cutoff, limit))(t); n != 0 {
		t.Fatalf("deleting again deleted %d events", n)
	}

	for _, e := range append(old, journaled[0]) {
		if _, err := db.RequestUsage(ctx, e.RequestID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the usage of deleted request %s: %v, want ErrNotFound", e.RequestID, err)
		}
	}
	if _, _, err := db.ListUsage(ctx, store.UsageList{UsageFilter: wideRange, BeforeID: old[len(old)-1].ID}); !errors.Is(err, store.ErrUnknownCursor) {
		t.Fatalf("listing before a deleted event: %v, want ErrUnknownCursor", err)
	}

	// after a restart (which stores the journaled event kept, on bbolt)
	// the engine answers as one that only ever had the events kept: the
	// deleted ones and their rollups are gone, nothing comes back; then
	// new events add up as usual
	db = reopen()
	ref, _ := f(t)
	write(ref, kept)
	sameUsage(t, "after deleting", db, ref)
	more := []*store.UsageEvent{
		event("new_1", "req_new_1", 1, t0.Add(-10*time.Minute), "ak_odd", "acct_odd", store.RetrySucceeded),
		event("new_2", "req_new_2", 1, t0.Add(5*time.Hour), "ak_even", "acct_even", store.RetrySucceeded),
	}
	write(db, more)
	write(ref, more)
	sameUsage(t, "after new events", db, ref)
	if n := must(db.(usageDeleter).DeleteUsageBefore(ctx, cutoff, limit))(t); n != 0 {
		t.Fatalf("deleting again after a restart deleted %d events", n)
	}
}

// wideRange spans every event of TestRetention.
var wideRange = store.UsageFilter{From: t0.Add(-7 * 24 * time.Hour), To: t0.Add(7 * 24 * time.Hour)}

// sameUsage fails unless db and ref answer the usage queries alike:
// lists (filtered or not, with retries or without), overviews (hourly and
// daily, grouped and filtered, over whole and partial hours) and each
// listed request's attempts.
func sameUsage(t *testing.T, when string, db, ref Engine) {
	t.Helper()
	partial := store.UsageFilter{From: t0.Add(-(48*time.Hour + 25*time.Minute)), To: t0.Add(95 * time.Minute)}
	for _, f := range []store.UsageFilter{wideRange, partial,
		{From: wideRange.From, To: wideRange.To, AccessKeyID: "ak_odd"},
		{From: wideRange.From, To: wideRange.To, AccountID: "acct_even"},
		{From: wideRange.From, To: wideRange.To, Model: "gpt-4o-mini"},
	} {
		for _, retries := range []bool{false, true} {
			q := store.UsageList{UsageFilter: f, IncludeRetries: retries, Limit: 6}
			got, want := listAll(t, db, q), listAll(t, ref, q)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: listing %+v:\n%v\nwant %v", when, q, got, want)
			}
		}
		for _, bucket := range []store.UsageBucketSize{store.BucketHour, store.BucketDay} {
			for _, group := range []store.UsageGroupBy{"", store.GroupByProvider, store.GroupByModel, store.GroupByAccessKey, store.GroupByAccount} {
				q := store.UsageOverviewQuery{UsageFilter: f, Bucket: bucket, GroupBy: group}
				got, want := must(db.UsageOverview(ctx, q))(t), must(ref.UsageOverview(ctx, q))(t)
				if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *want) {
					t.Fatalf("%s: overview %+v:\n%+v\nwant %+v", when, q, *got, *want)
				}
			}
		}
	}
	// every event stored, whatever its time
	got, want := must(db.Usage(ctx, store.UsageQuery{}))(t), must(ref.Usage(ctx, store.UsageQuery{}))(t)
	if strings.Join(ids(got), ",") != strings.Join(ids(want), ",") {
		t.Fatalf("%s: stored %v\nwant   %v", when, ids(got), ids(want))
	}
	requests := map[string]bool{}
	for _, e := range want {
		requests[e.RequestID] = true
	}
	for req := range requests {
		got, want := must(db.RequestUsage(ctx, req))(t), must(ref.RequestUsage(ctx, req))(t)
		if strings.Join(ids(got), ",") != strings.Join(ids(want), ",") {
			t.Fatalf("%s: the attempts of %s: %v, want %v", when, req, ids(got), ids(want))
		}
	}
}
