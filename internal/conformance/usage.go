package conformance

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// TestUsage checks usage events as the group-commit Writer stores them and
// the management API reads them.
func TestUsage(t *testing.T, f Factory) {
	t.Run("ListNewestFirstPaged", func(t *testing.T) { testListPaged(t, f) })
	t.Run("ListFiltered", func(t *testing.T) { testListFiltered(t, f) })
	t.Run("RequestAttemptsInOrder", func(t *testing.T) { testRequestAttempts(t, f) })
	t.Run("OverviewEqualsEvents", func(t *testing.T) { testOverview(t, f) })
	t.Run("ReplayCountedOnce", func(t *testing.T) { testReplayOnce(t, f) })
	t.Run("EveryFieldRoundTrips", func(t *testing.T) { testEveryField(t, f) })
}

// testEveryField: an event with every field set reads back equal.
func testEveryField(t *testing.T, f Factory) {
	db, _ := f(t)
	want := &store.UsageEvent{ID: "ue_full", RequestID: "req_full", Attempt: 2, Timestamp: t0.Add(1500 * time.Microsecond),
		AccessKeyID: "ak_1", AccountID: "acct_1", ProviderID: "anthropic", Model: "claude-haiku-4-5", Endpoint: "messages",
		KeySource: "user", Status: 200, Streaming: true, StopReason: "end_turn", InputTokens: 11, OutputTokens: 22,
		CacheReadTokens: 3, CacheWriteTokens: 4, ReasoningTokens: 5, UsageEstimated: true, Cost: 123456, Fee: 789,
		ProviderKeyID: "pk_1", LatencyMs: 321, TTFTMs: 45, RetryAction: store.RetrySucceeded, Error: "an error text",
		VirtualModel: "house-default", Firewall: []store.FirewallDecision{
			{Policy: "agents", Rule: 0, RuleName: "no deletes", Action: "block", Mode: "enforce", Phase: "response", Tool: "delete_file", Message: "no deletes"},
			{Policy: "agents", Rule: 2, Action: "allow", Mode: "dryRun", Phase: "request"},
		}}
	write(db, []*store.UsageEvent{want})
	got := must(db.RequestUsage(ctx, "req_full"))(t)
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("read back\n%+v\nwant\n%+v", *got[0], *want)
	}
}

// event is a usage event of the suite: 100 output tokens, a cost and a
// fee that differ by attempt so sums catch a lost or doubled event.
func event(id, req string, attempt int, ts time.Time, accessKey, account, action string) *store.UsageEvent {
	return &store.UsageEvent{ID: id, RequestID: req, Attempt: attempt, Timestamp: ts, AccessKeyID: accessKey, AccountID: account,
		ProviderID: "openai", Model: "gpt-4o", Endpoint: "chat.completions", KeySource: "managed", Status: 200,
		InputTokens: int64(10 * attempt), OutputTokens: 100, CacheReadTokens: 3, ReasoningTokens: 7,
		Cost: money.Nano(1000 * attempt), Fee: 50, LatencyMs: 20, RetryAction: action}
}

// usageFixture is 24 single-attempt requests 7 minutes apart from t0
// (across three UTC hours), alternating two access keys of two accounts.
func usageFixture() []*store.UsageEvent {
	var out []*store.UsageEvent
	for i := range 24 {
		key, acct := "ak_even", "acct_even"
		if i%2 == 1 {
			key, acct = "ak_odd", "acct_odd"
		}
		action := store.RetrySucceeded
		if i%5 == 4 {
			action = "fail_fast"
		}
		e := event(fmt.Sprintf("ue_%02d", i), fmt.Sprintf("req_%02d", i), 1, t0.Add(time.Duration(i)*7*time.Minute), key, acct, action)
		e.Model = []string{"gpt-4o", "gpt-4o-mini"}[i%3%2]
		out = append(out, e)
	}
	return out
}

// write commits events through a Writer and waits for it.
func write(db Engine, events []*store.UsageEvent) {
	w := store.NewWriter(db, store.WriterOptions{MaxBatch: 5})
	for _, e := range events {
		w.RecordUsage(e)
	}
	w.Close()
}

func ids(events []*store.UsageEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// newestFirst returns the ids of events matching keep, newest first.
func newestFirst(events []*store.UsageEvent, keep func(*store.UsageEvent) bool) []string {
	var sel []*store.UsageEvent
	for _, e := range events {
		if keep(e) {
			sel = append(sel, e)
		}
	}
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].Timestamp.After(sel[j].Timestamp) })
	return ids(sel)
}

// listAll pages through q with cursor paging and checks the more flags.
func listAll(t *testing.T, db Engine, q store.UsageList) []string {
	t.Helper()
	var got []string
	for range 100 {
		page, more, err := db.ListUsage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > q.Limit || (more && len(page) != q.Limit) {
			t.Fatalf("page of %d (limit %d), more %v", len(page), q.Limit, more)
		}
		got = append(got, ids(page)...)
		if !more {
			return got
		}
		q.BeforeID = page[len(page)-1].ID
	}
	t.Fatal("paging does not end")
	return nil
}

var fixtureRange = store.UsageFilter{From: t0.Add(-30 * time.Minute), To: t0.Add(4 * time.Hour)}

func testListPaged(t *testing.T, f Factory) {
	db, _ := f(t)
	all := usageFixture()
	write(db, all)
	got := listAll(t, db, store.UsageList{UsageFilter: fixtureRange, IncludeRetries: true, Limit: 5})
	if want := newestFirst(all, func(*store.UsageEvent) bool { return true }); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %v\nwant   %v", got, want)
	}
	// the range bounds the list: [From, To)
	q := store.UsageList{UsageFilter: store.UsageFilter{From: all[3].Timestamp, To: all[6].Timestamp}, IncludeRetries: true, Limit: 100}
	if got := listAll(t, db, q); fmt.Sprint(got) != fmt.Sprint([]string{"ue_05", "ue_04", "ue_03"}) {
		t.Fatalf("range [ue_03, ue_06) listed %v", got)
	}
	if _, _, err := db.ListUsage(ctx, store.UsageList{UsageFilter: fixtureRange, BeforeID: "ue_missing"}); !errors.Is(err, store.ErrUnknownCursor) {
		t.Fatalf("unknown cursor: %v", err)
	}
	// every field round-trips
	want := *all[7]
	var e *store.UsageEvent
	for _, x := range must(db.RequestUsage(ctx, want.RequestID))(t) {
		if x.ID == want.ID {
			e = x
		}
	}
	if e == nil {
		t.Fatalf("%s is not among the attempts of %s", want.ID, want.RequestID)
	}
	if !e.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("timestamp %v, want %v", e.Timestamp, want.Timestamp)
	}
	e.Timestamp = want.Timestamp
	if !reflect.DeepEqual(*e, want) {
		t.Fatalf("stored %+v\nwant   %+v", *e, want)
	}
}

func testListFiltered(t *testing.T, f Factory) {
	db, _ := f(t)
	all := usageFixture()
	write(db, all)
	for _, tc := range []struct {
		name string
		f    store.UsageFilter
		keep func(*store.UsageEvent) bool
	}{
		{"accessKey", store.UsageFilter{AccessKeyID: "ak_odd"}, func(e *store.UsageEvent) bool { return e.AccessKeyID == "ak_odd" }},
		{"account", store.UsageFilter{AccountID: "acct_even"}, func(e *store.UsageEvent) bool { return e.AccountID == "acct_even" }},
		{"model", store.UsageFilter{Model: "GPT-4O-MINI"}, func(e *store.UsageEvent) bool { return e.Model == "gpt-4o-mini" }},
		{"accessKey+model", store.UsageFilter{AccessKeyID: "ak_even", Model: "gpt-4o"}, func(e *store.UsageEvent) bool {
			return e.AccessKeyID == "ak_even" && e.Model == "gpt-4o"
		}},
		{"none", store.UsageFilter{AccessKeyID: "ak_none"}, func(*store.UsageEvent) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := store.UsageList{UsageFilter: tc.f, IncludeRetries: true, Limit: 4}
			q.From, q.To = fixtureRange.From, fixtureRange.To
			got := listAll(t, db, q)
			if want := newestFirst(all, tc.keep); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("listed %v\nwant   %v", got, want)
			}
		})
	}
}

// testRequestAttempts: a request's attempts come back in attempt order;
// lists without retries show only the attempt that ended the request.
func testRequestAttempts(t *testing.T, f Factory) {
	db, _ := f(t)
	evs := []*store.UsageEvent{
		event("ue_a3", "req_x", 3, t0.Add(3*time.Second), "ak_1", "acct", store.RetrySucceeded),
		event("ue_a1", "req_x", 1, t0.Add(time.Second), "ak_1", "acct", store.RetryNextKey),
		event("ue_o1", "req_other", 1, t0.Add(2*time.Second), "ak_1", "acct", store.RetrySucceeded),
		event("ue_a2", "req_x", 2, t0.Add(2*time.Second), "ak_1", "acct", store.RetryNextBackend),
	}
	write(db, evs)
	got := must(db.RequestUsage(ctx, "req_x"))(t)
	if fmt.Sprint(ids(got)) != fmt.Sprint([]string{"ue_a1", "ue_a2", "ue_a3"}) {
		t.Fatalf("attempts %v", ids(got))
	}
	if _, err := db.RequestUsage(ctx, "req_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a request with no events: %v", err)
	}
	q := store.UsageList{UsageFilter: store.UsageFilter{From: t0, To: t0.Add(time.Hour)}, Limit: 10}
	if got := listAll(t, db, q); fmt.Sprint(got) != fmt.Sprint([]string{"ue_a3", "ue_o1"}) {
		t.Fatalf("final attempts listed %v", got)
	}
	q.AccessKeyID = "ak_1"
	if got := listAll(t, db, q); fmt.Sprint(got) != fmt.Sprint([]string{"ue_a3", "ue_o1"}) {
		t.Fatalf("final attempts of ak_1 listed %v", got)
	}
}

// testOverview: the hourly (and daily) overview's buckets and totals equal
// the sums of the events, grouped or filtered, for whole and partial hours.
func testOverview(t *testing.T, f Factory) {
	db, _ := f(t)
	all := usageFixture()
	write(db, all)
	sum := func(keep func(*store.UsageEvent) bool, bucket time.Duration, groupKey func(*store.UsageEvent) string) (store.UsageTotals, map[string]store.UsageTotals) {
		var total store.UsageTotals
		per := map[string]store.UsageTotals{}
		for _, e := range all {
			if !keep(e) {
				continue
			}
			d := store.UsageTotals{Attempts: 1, InputTokens: e.InputTokens, OutputTokens: e.OutputTokens, CacheReadTokens: e.CacheReadTokens,
				CacheWriteTokens: e.CacheWriteTokens, ReasoningTokens: e.ReasoningTokens, Cost: e.Cost, Fees: e.Fee}
			if e.Final() {
				d.Requests = 1
				if e.RetryAction != store.RetrySucceeded {
					d.FailedRequests = 1
				}
			}
			k := e.Timestamp.Truncate(bucket).Format(time.RFC3339) + "/" + groupKey(e)
			p := per[k]
			for _, pair := range [][2]*int64{{&total.Requests, &d.Requests}, {&total.FailedRequests, &d.FailedRequests}, {&total.Attempts, &d.Attempts},
				{&total.InputTokens, &d.InputTokens}, {&total.OutputTokens, &d.OutputTokens}, {&total.CacheReadTokens, &d.CacheReadTokens},
				{&total.CacheWriteTokens, &d.CacheWriteTokens}, {&total.ReasoningTokens, &d.ReasoningTokens}} {
				*pair[0] += *pair[1]
			}
			total.Cost += d.Cost
			total.Fees += d.Fees
			p.Requests += d.Requests
			p.FailedRequests += d.FailedRequests
			p.Attempts += d.Attempts
			p.InputTokens += d.InputTokens
			p.OutputTokens += d.OutputTokens
			p.CacheReadTokens += d.CacheReadTokens
			p.ReasoningTokens += d.ReasoningTokens
			p.Cost += d.Cost
			p.Fees += d.Fees
			per[k] = p
		}
		return total, per
	}
	for _, tc := range []struct {
		name     string
		q        store.UsageOverviewQuery
		keep     func(*store.UsageEvent) bool
		groupKey func(*store.UsageEvent) string
	}{
		{"hourly", store.UsageOverviewQuery{UsageFilter: fixtureRange, Bucket: store.BucketHour},
			func(*store.UsageEvent) bool { return true }, func(*store.UsageEvent) string { return "" }},
		{"hourly partial hours", store.UsageOverviewQuery{UsageFilter: store.UsageFilter{From: t0.Add(20 * time.Minute), To: t0.Add(150 * time.Minute)}, Bucket: store.BucketHour},
			func(e *store.UsageEvent) bool {
				return !e.Timestamp.Before(t0.Add(20*time.Minute)) && e.Timestamp.Before(t0.Add(150*time.Minute))
			}, func(*store.UsageEvent) string { return "" }},
		{"hourly by model", store.UsageOverviewQuery{UsageFilter: fixtureRange, Bucket: store.BucketHour, GroupBy: store.GroupByModel},
			func(*store.UsageEvent) bool { return true }, func(e *store.UsageEvent) string { return e.ProviderID + "/" + e.Model }},
		{"hourly by access key", store.UsageOverviewQuery{UsageFilter: fixtureRange, Bucket: store.BucketHour, GroupBy: store.GroupByAccessKey},
			func(*store.UsageEvent) bool { return true }, func(e *store.UsageEvent) string { return e.AccessKeyID }},
		{"hourly of one account by model", store.UsageOverviewQuery{UsageFilter: store.UsageFilter{From: fixtureRange.From, To: fixtureRange.To, AccountID: "acct_odd"},
			Bucket: store.BucketHour, GroupBy: store.GroupByModel},
			func(e *store.UsageEvent) bool { return e.AccountID == "acct_odd" }, func(e *store.UsageEvent) string { return e.ProviderID + "/" + e.Model }},
		{"daily", store.UsageOverviewQuery{UsageFilter: store.UsageFilter{From: t0.Truncate(24 * time.Hour), To: t0.Truncate(24 * time.Hour).Add(24 * time.Hour)}, Bucket: store.BucketDay},
			func(*store.UsageEvent) bool { return true }, func(*store.UsageEvent) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			width := time.Hour
			if tc.q.Bucket == store.BucketDay {
				width = 24 * time.Hour
			}
			total, per := sum(tc.keep, width, tc.groupKey)
			o := must(db.UsageOverview(ctx, tc.q))(t)
			if o.Totals != total {
				t.Fatalf("totals %+v\nwant   %+v", o.Totals, total)
			}
			got := map[string]store.UsageTotals{}
			for _, b := range o.Buckets {
				g := ""
				switch tc.q.GroupBy {
				case store.GroupByModel:
					g = b.ProviderID + "/" + b.Model
				case store.GroupByAccessKey:
					g = b.AccessKeyID
				}
				got[b.Start.UTC().Format(time.RFC3339)+"/"+g] = b.UsageTotals
			}
			if fmt.Sprint(got) != fmt.Sprint(per) {
				t.Fatalf("buckets %v\nwant    %v", got, per)
			}
			for i := 1; i < len(o.Buckets); i++ {
				if o.Buckets[i].Start.Before(o.Buckets[i-1].Start) {
					t.Fatal("buckets out of time order")
				}
			}
		})
	}
}

// testReplayOnce: an event handed over twice — to the Writer twice, or
// journaled with its settlement and also written — is stored and counted
// once, after a restart too.
func testReplayOnce(t *testing.T, f Factory) {
	db, reopen := f(t)
	all := usageFixture()
	write(db, all)
	write(db, all[:10])
	if err := db.UpdateLedger(ctx, func(tx credits.Tx) error { _, err := tx.JournalUsage(all[10:12]); return err }); err != nil {
		t.Fatal(err)
	}
	db = reopen()
	write(db, all[10:12])
	evs := must(db.Usage(ctx, store.UsageQuery{From: fixtureRange.From, To: fixtureRange.To}))(t)
	if len(evs) != len(all) {
		t.Fatalf("%d events stored, want %d", len(evs), len(all))
	}
	o := must(db.UsageOverview(ctx, store.UsageOverviewQuery{UsageFilter: fixtureRange, Bucket: store.BucketHour}))(t)
	if o.Totals.Attempts != int64(len(all)) || o.Totals.OutputTokens != 100*int64(len(all)) {
		t.Fatalf("overview counts %d attempts and %d output tokens, want %d and %d",
			o.Totals.Attempts, o.Totals.OutputTokens, len(all), 100*len(all))
	}
	if got := listAll(t, db, store.UsageList{UsageFilter: fixtureRange, IncludeRetries: true, Limit: 100}); len(got) != len(all) {
		t.Fatalf("%d events listed, want %d", len(got), len(all))
	}
}
