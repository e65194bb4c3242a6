package boltstore

import (
	"context"
	"path/filepath"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

var usageBase = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

// usageFixture is a few thousand events over three days: requests of one
// to three attempts, two providers, three models, three access keys in
// two accounts, and some events without an access key (a private
// gateway). Timestamps are distinct and not hour-aligned.
func usageFixture(t *testing.T) (*DB, []*store.UsageEvent) {
	t.Helper()
	db := openTemp(t)
	r := rand.New(rand.NewPCG(7, 7))
	models := [][2]string{{"openai", "gpt-4o"}, {"openai", "gpt-4o-mini"}, {"anthropic", "claude-sonnet-4-6"}}
	keys := [][2]string{{"ak_1", "acct_a"}, {"ak_2", "acct_a"}, {"ak_3", "acct_b"}, {"", ""}}
	var all []*store.UsageEvent
	ts := usageBase.Add(17 * time.Minute)
	for req := 0; len(all) < 3000; req++ {
		reqID := fmt.Sprintf("req_%05d", req)
		key := keys[r.IntN(len(keys))]
		attempts := 1 + r.IntN(3)/2 + r.IntN(4)/3 // mostly one
		for a := 1; a <= attempts; a++ {
			m := models[r.IntN(len(models))]
			ts = ts.Add(time.Duration(1+r.IntN(120)) * time.Second)
			e := &store.UsageEvent{ID: ids.At("ue", ts), RequestID: reqID, Attempt: a, Timestamp: ts,
				AccessKeyID: key[0], AccountID: key[1], ProviderID: m[0], Model: m[1], Endpoint: "chat/completions",
				KeySource: "managed", Status: 200, InputTokens: int64(r.IntN(1000)), OutputTokens: int64(r.IntN(300)),
				CacheReadTokens: int64(r.IntN(50)), CacheWriteTokens: int64(r.IntN(20)), ReasoningTokens: int64(r.IntN(10)),
				Cost: money.Nano(r.IntN(5_000_000)), LatencyMs: int64(r.IntN(2000)), RetryAction: store.RetrySucceeded}
			switch {
			case a < attempts && r.IntN(2) == 0:
				e.Status, e.RetryAction, e.Error = 429, store.RetryNextKey, "rate limited"
			case a < attempts:
				e.Status, e.RetryAction, e.Error = 500, store.RetryNextBackend, "server error"
			case r.IntN(10) == 0:
				e.Status, e.RetryAction = 502, "exhausted"
			}
			all = append(all, e)
		}
	}
	w := store.NewWriter(db, store.WriterOptions{MaxBatch: 97}) // batches that straddle requests and hours
	for _, e := range all {
		w.RecordUsage(e)
	}
	w.Close()
	return db, all
}

// refList is ListUsage by brute force.
func refList(all []*store.UsageEvent, q store.UsageList) []*store.UsageEvent {
	var out []*store.UsageEvent
	for _, e := range all {
		if e.Timestamp.Before(q.From) || !e.Timestamp.Before(q.To) || (!q.IncludeRetries && !e.Final()) ||
			!q.Match([]byte(e.ProviderID), []byte(e.Model), []byte(e.AccessKeyID), []byte(e.AccountID)) {
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Timestamp.After(out[j].Timestamp) })
	return out
}

func eventIDs(evs []*store.UsageEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestListUsage(t *testing.T) {
	db, all := usageFixture(t)
	end := all[len(all)-1].Timestamp.Add(time.Second)
	whole := store.UsageFilter{From: usageBase, To: end}
	mid := usageBase.Add(30*time.Hour + 7*time.Minute)
	for _, tc := range []struct {
		name string
		q    store.UsageList
	}{
		{"everything", store.UsageList{UsageFilter: whole}},
		{"with retries", store.UsageList{UsageFilter: whole, IncludeRetries: true}},
		{"time range", store.UsageList{UsageFilter: store.UsageFilter{From: mid, To: mid.Add(5 * time.Hour)}}},
		{"empty range", store.UsageList{UsageFilter: store.UsageFilter{From: mid, To: mid.Add(time.Millisecond)}}},
		{"before the data", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase.Add(-48 * time.Hour), To: usageBase}}},
		{"access key", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, AccessKeyID: "ak_2"}}},
		{"access key with retries", store.UsageList{UsageFilter: store.UsageFilter{From: mid, To: end, AccessKeyID: "ak_2"}, IncludeRetries: true}},
		{"unknown access key", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, AccessKeyID: "ak_9"}}},
		{"account", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, AccountID: "acct_a"}}},
		{"account and provider", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, AccountID: "acct_a", ProviderID: "anthropic"}}},
		{"provider", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, ProviderID: "openai"}}},
		{"provider ignores case", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, ProviderID: "OpenAI"}}},
		{"model", store.UsageList{UsageFilter: store.UsageFilter{From: mid, To: end, Model: "gpt-4o-mini"}, IncludeRetries: true}},
		{"provider and model, no match", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, ProviderID: "anthropic", Model: "gpt-4o"}}},
		{"every filter", store.UsageList{UsageFilter: store.UsageFilter{From: usageBase, To: end, AccessKeyID: "ak_3", AccountID: "acct_b", ProviderID: "openai", Model: "gpt-4o"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := eventIDs(refList(all, tc.q))
			// one page holding everything
			q := tc.q
			q.Limit = len(all) + 1
			evs, more, err := db.ListUsage(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if got := eventIDs(evs); more || !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
				t.Fatalf("got %d events (more %v), want %d", len(got), more, len(want))
			}
			// pages of 7 through the cursor
			var paged []string
			q.Limit, q.BeforeID = 7, ""
			for {
				evs, more, err := db.ListUsage(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, eventIDs(evs)...)
				if !more {
					break
				}
				if len(evs) != 7 {
					t.Fatalf("a page of %d before the last", len(evs))
				}
				q.BeforeID = evs[len(evs)-1].ID
			}
			if !reflect.DeepEqual(paged, want) && (len(paged) > 0 || len(want) > 0) {
				t.Fatalf("paged: %d events, want %d", len(paged), len(want))
			}
		})
	}

	if _, _, err := db.ListUsage(context.Background(), store.UsageList{UsageFilter: whole, BeforeID: "ue_nope"}); !errors.Is(err, store.ErrUnknownCursor) {
		t.Fatalf("unknown cursor: %v", err)
	}
	evs, more, _ := db.ListUsage(context.Background(), store.UsageList{UsageFilter: whole})
	if len(evs) != 100 || !more {
		t.Fatalf("default limit: %d events, more %v", len(evs), more)
	}
}

// refOverview is UsageOverview by brute force.
func refOverview(all []*store.UsageEvent, q store.UsageOverviewQuery) *store.UsageOverview {
	width := int64(24 * time.Hour)
	if q.Bucket == store.BucketHour {
		width = int64(time.Hour)
	}
	groups := map[store.UsageBucket]*store.UsageTotals{}
	for _, e := range all {
		if e.Timestamp.Before(q.From) || !e.Timestamp.Before(q.To) ||
			!q.Match([]byte(e.ProviderID), []byte(e.Model), []byte(e.AccessKeyID), []byte(e.AccountID)) {
			continue
		}
		ns := e.Timestamp.UnixNano()
		k := store.UsageBucket{Start: time.Unix(0, ns-ns%width).UTC()}
		switch q.GroupBy {
		case store.GroupByProvider:
			k.ProviderID = e.ProviderID
		case store.GroupByModel:
			k.ProviderID, k.Model = e.ProviderID, e.Model
		case store.GroupByAccessKey:
			k.AccessKeyID = e.AccessKeyID
		case store.GroupByAccount:
			k.AccountID = e.AccountID
		}
		if groups[k] == nil {
			groups[k] = new(store.UsageTotals)
		}
		groups[k].AddEvent(e)
	}
	out := &store.UsageOverview{Buckets: []store.UsageBucket{}}
	for k, v := range groups {
		k.UsageTotals = *v
		out.Buckets = append(out.Buckets, k)
		out.Totals.Add(*v)
	}
	sort.Slice(out.Buckets, func(i, j int) bool {
		a, b := out.Buckets[i], out.Buckets[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.ProviderID+"\x00"+a.Model+"\x00"+a.AccessKeyID+"\x00"+a.AccountID <
			b.ProviderID+"\x00"+b.Model+"\x00"+b.AccessKeyID+"\x00"+b.AccountID
	})
	return out
}

func TestUsageOverview(t *testing.T) {
	db, all := usageFixture(t)
	end := all[len(all)-1].Timestamp.Add(time.Second)
	ranges := []struct {
		name     string
		from, to time.Time
	}{
		{"everything", usageBase.Add(-time.Hour), end.Add(time.Hour)},
		{"hour aligned", usageBase.Add(3 * time.Hour), usageBase.Add(40 * time.Hour)},
		{"unaligned ends", usageBase.Add(3*time.Hour + 25*time.Minute), usageBase.Add(40*time.Hour + 13*time.Second)},
		{"inside one hour", usageBase.Add(5*time.Hour + 10*time.Minute), usageBase.Add(5*time.Hour + 50*time.Minute)},
		{"across one hour boundary", usageBase.Add(5*time.Hour + 10*time.Minute), usageBase.Add(6*time.Hour + 50*time.Minute)},
		{"no events", end.Add(time.Hour), end.Add(48 * time.Hour)},
	}
	filters := []struct {
		name string
		mod  func(*store.UsageFilter)
	}{
		{"", func(*store.UsageFilter) {}},
		{"key", func(f *store.UsageFilter) { f.AccessKeyID = "ak_1" }},
		{"account+model", func(f *store.UsageFilter) { f.AccountID = "acct_a"; f.Model = "gpt-4o" }},
		{"provider", func(f *store.UsageFilter) { f.ProviderID = "anthropic" }},
	}
	for _, rg := range ranges {
		for _, bucket := range []store.UsageBucketSize{store.BucketHour, store.BucketDay} {
			for _, g := range []store.UsageGroupBy{store.GroupByNone, store.GroupByProvider, store.GroupByModel, store.GroupByAccessKey, store.GroupByAccount} {
				for _, f := range filters {
					name := fmt.Sprintf("%s/%s/by-%s/%s", rg.name, bucket, g, f.name)
					q := store.UsageOverviewQuery{UsageFilter: store.UsageFilter{From: rg.from, To: rg.to}, Bucket: bucket, GroupBy: g}
					f.mod(&q.UsageFilter)
					got, err := db.UsageOverview(context.Background(), q)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					want := refOverview(all, q)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s:\n got %d buckets, totals %+v\nwant %d buckets, totals %+v", name, len(got.Buckets), got.Totals, len(want.Buckets), want.Totals)
					}
				}
			}
		}
	}

	// The whole data set: requests are counted once, by their final
	// attempt; attempts are every event.
	o, err := db.UsageOverview(context.Background(), store.UsageOverviewQuery{UsageFilter: store.UsageFilter{From: usageBase, To: end}})
	if err != nil {
		t.Fatal(err)
	}
	requests := map[string]bool{}
	for _, e := range all {
		requests[e.RequestID] = true
	}
	if o.Totals.Attempts != int64(len(all)) || o.Totals.Requests != int64(len(requests)) || o.Totals.FailedRequests == 0 {
		t.Fatalf("totals %+v: want %d attempts, %d requests", o.Totals, len(all), len(requests))
	}
	if len(o.Buckets) != 3 || !o.Buckets[0].Start.Equal(usageBase) || !o.Buckets[2].Start.Equal(usageBase.Add(48*time.Hour)) {
		t.Fatalf("day buckets %+v", o.Buckets)
	}
}

func TestRequestUsage(t *testing.T) {
	db, all := usageFixture(t)
	byReq := map[string][]*store.UsageEvent{}
	for _, e := range all {
		byReq[e.RequestID] = append(byReq[e.RequestID], e)
	}
	checked := 0
	for id, want := range byReq {
		if len(want) < 3 && checked > 5 {
			continue
		}
		checked++
		got, err := db.RequestUsage(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(eventIDs(got), eventIDs(want)) {
			t.Fatalf("%s: %v, want %v", id, eventIDs(got), eventIDs(want))
		}
		for i, e := range got {
			if e.Attempt != i+1 || (i < len(got)-1) == e.Final() {
				t.Fatalf("%s attempt %d: %+v", id, i+1, e)
			}
		}
	}
	if _, err := db.RequestUsage(context.Background(), "req_none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown request: %v", err)
	}
	// A request id that is a prefix of another's is its own request.
	if got, _ := db.RequestUsage(context.Background(), "req_0001"); len(got) != 0 {
		t.Fatalf("prefix matched %d events", len(got))
	}

	e, err := db.UsageEventByID(context.Background(), all[42].ID)
	if err != nil || !reflect.DeepEqual(e, all[42]) {
		t.Fatalf("by id: %+v %v\nwant %+v", e, err, all[42])
	}
	if _, err := db.UsageEventByID(context.Background(), "ue_none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

// TestUsageEventEncoding round-trips an event with every field set, so a
// field added to UsageEvent but not to the encoding fails here.
func TestUsageEventEncoding(t *testing.T) {
	e := &store.UsageEvent{ID: "ue_1", RequestID: "req_1", Attempt: 3, Timestamp: time.Unix(1767225600, 123456789).UTC(),
		AccessKeyID: "ak_1", AccountID: "acct_1", ProviderID: "openai", Model: "gpt-4o", Endpoint: "chat/completions",
		KeySource: "user", Status: 200, Streaming: true, StopReason: "length", InputTokens: 1, OutputTokens: 2,
		CacheReadTokens: 3, CacheWriteTokens: 4, ReasoningTokens: 5, UsageEstimated: true, Cost: 6, LatencyMs: 7,
		TTFTMs: 8, RetryAction: "client_closed", Error: "gone", Fee: 9, ProviderKeyID: "pk_1", VirtualModel: "house",
		Firewall: []store.FirewallDecision{{Policy: "p", Rule: 1, Action: "block", Mode: "enforce", Phase: "response", Tool: "delete_file"}}}
	v := reflect.ValueOf(e).Elem()
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("set %s in this test (and encode it)", v.Type().Field(i).Name)
		}
	}
	pk := pkOf(e.Timestamp) + 2 // as if two events had the same time
	got, err := decodeEvent(pk, appendEvent(nil, e, e.Timestamp, pk, eventFlags(e)))
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("%+v %v\nwant %+v", got, err, e)
	}
	for _, bad := range [][]byte{nil, {9, 0}, {eventVersion, 0, 0, 5, 'a'}} {
		if _, err := decodeEvent(1, bad); err == nil {
			t.Fatalf("decoded %x", bad)
		}
	}
}

func TestUsageSameTimestampAndReplay(t *testing.T) {
	db := openTemp(t)
	ts := usageBase.Add(time.Hour)
	a := &store.UsageEvent{ID: "ue_a", RequestID: "r1", Attempt: 1, Timestamp: ts, ProviderID: "openai", RetryAction: store.RetryNextBackend}
	b := &store.UsageEvent{ID: "ue_b", RequestID: "r1", Attempt: 2, Timestamp: ts, ProviderID: "openai", RetryAction: store.RetrySucceeded}
	zero := &store.UsageEvent{ID: "ue_z", RequestID: "r2", ProviderID: "openai", RetryAction: store.RetrySucceeded}
	w := store.NewWriter(db, store.WriterOptions{})
	for _, e := range []*store.UsageEvent{a, b, a, zero} { // a twice: stored once
		w.RecordUsage(e)
	}
	w.Close()
	evs, _, err := db.ListUsage(context.Background(), store.UsageList{UsageFilter: store.UsageFilter{From: ts, To: ts.Add(time.Second)}, IncludeRetries: true})
	if err != nil || !reflect.DeepEqual(eventIDs(evs), []string{"ue_b", "ue_a"}) {
		t.Fatalf("%v %v", eventIDs(evs), err)
	}
	if !evs[0].Timestamp.Equal(ts) || !evs[1].Timestamp.Equal(ts) {
		t.Fatalf("timestamps %v %v", evs[0].Timestamp, evs[1].Timestamp)
	}
	o, _ := db.UsageOverview(context.Background(), store.UsageOverviewQuery{UsageFilter: store.UsageFilter{From: ts, To: ts.Add(time.Hour)}})
	if o.Totals.Attempts != 2 || o.Totals.Requests != 1 {
		t.Fatalf("totals %+v", o.Totals)
	}
	// An event without a timestamp is placed at the time it was stored.
	z, err := db.UsageEventByID(context.Background(), "ue_z")
	if err != nil || time.Since(z.Timestamp) > time.Minute {
		t.Fatalf("%+v %v", z, err)
	}
}

// TestUsageMigratesOldLayout: events stored as JSON at the top of the
// bucket (the first layout) are converted when the file is opened, and
// the bucket then holds only the current layout.
func TestUsageMigratesOldLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	reopen := func() {
		t.Helper()
		db.Close()
		if db, err = Open(path); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { db.Close() }()
	old := []*store.UsageEvent{
		{ID: ids.At("ue", usageBase), RequestID: "r1", Attempt: 1, Timestamp: usageBase, ProviderID: "openai", Model: "gpt-4o", RetryAction: store.RetryNextBackend},
		{ID: ids.At("ue", usageBase.Add(time.Second)), RequestID: "r1", Attempt: 2, Timestamp: usageBase.Add(time.Second), ProviderID: "openai", Model: "gpt-4o-mini", RetryAction: store.RetrySucceeded, Cost: 5},
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		// a file of the first layout: no format mark, no nested buckets
		b := tx.Bucket(bucketUsage)
		if err := b.Delete(usageFormatKey); err != nil {
			return err
		}
		for _, name := range [][]byte{usageEventsB, usageIDsB, usageRequestsB, usageAccessKeysB, usageAccountsB, usageHourlyB, usageHourlyModB, usageHourlyKeyB} {
			if err := b.DeleteBucket(name); err != nil {
				return err
			}
		}
		for _, e := range old {
			if err := putJSON(b, []byte(e.ID), e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reopen()
	got, err := db.RequestUsage(context.Background(), "r1")
	if err != nil || len(got) != 2 || got[1].Cost != 5 || got[0].RetryAction != store.RetryNextBackend {
		t.Fatalf("%+v %v", got, err)
	}
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsage).ForEach(func(k, v []byte) error {
			if v != nil && !bytes.Equal(k, usageFormatKey) {
				t.Errorf("left in the old layout: %s", k)
			}
			return nil
		})
	})
	// A second start finds the current layout and changes nothing.
	reopen()
	if got, _ := db.RequestUsage(context.Background(), "r1"); len(got) != 2 {
		t.Fatalf("%d events after a restart", len(got))
	}
}

// TestUsageEventJSON keeps the field names the README documents.
func TestUsageEventJSON(t *testing.T) {
	b, _ := json.Marshal(&store.UsageEvent{Cost: money.USD / 100})
	for _, f := range []string{`"id"`, `"requestId"`, `"attempt"`, `"timestamp"`, `"providerId"`, `"model"`, `"endpoint"`,
		`"keySource"`, `"status"`, `"streaming"`, `"inputTokens"`, `"outputTokens"`, `"cacheReadTokens"`,
		`"cacheWriteTokens"`, `"reasoningTokens"`, `"usageEstimated"`, `"cost":"0.01"`, `"latencyMs"`, `"retryAction"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("%s missing from %s", f, b)
		}
	}
}
