package boltstore

// Usage queries over one million stored events.
//
//	go test -run XXX -bench Usage1M -benchtime 20x ./internal/store/
//	AI_GATEWAY_USAGE_1M=1 go test -run TestUsage1M -v ./internal/store/   (fails if a query takes ≥ 1s)
//
// The data set: 1,000,000 events over 30 days (≈1,390 an hour): ~910k
// requests, 10% of them with a failed first attempt (next_backend) before
// the final one; 4 providers, 7 models (one rare: 0.05%), 200 access keys
// in 20 accounts plus a rare key (~100 events). Loaded through the Writer
// (group commit, 512 events a transaction, fsync each).
//
// Measured on the 2-core development VM (go1.26, linux/amd64, other builds
// running at the same time). Load: 1M events through the Writer in 25.7s
// (39k events/s, fsync per 512-event transaction); file 483 MB (~480 bytes
// an event with its index entries and rollups). Query times: the first run
// (TestUsage1M) and the mean of 20 (BenchmarkUsage1M):
//
//	list/newest-100                  page of 100, 30 days, final attempts     50µs      83µs
//	list/one-day-100                 page of 100 within one day               70µs      87µs
//	list/include-retries             every attempt                            40µs      84µs
//	list/cursor-mid-range            page after a beforeId mid-range         110µs      85µs
//	list/access-key                  1 key of 200 (access_keys index)        230µs      99µs
//	list/rare-access-key             ~100 events in 30 days                  760µs     151µs
//	list/account                     1 account of 20 (accounts index)        130µs     165µs
//	list/provider                    google (10%), hours from the rollup     680µs     366µs
//	list/rare-model                  0.05% of events                        13.4ms    12.9ms
//	list/model-without-events        a model with no events                  290µs     181µs
//	overview/day-by-model            30 days × 7 models                      780µs     1.0ms
//	overview/hour-by-access-key      720 hours × 200 keys = 144k buckets     221ms     165ms
//	overview/hour-unaligned-edges    partial first/last hours from events    3.2ms     2.5ms
//	overview/filtered-by-account     one account, day × key                  6.9ms     6.6ms
//	overview/key-filter-by-model     one key, day × model (full rollup)     40.0ms    27.0ms
//	request                          a request's attempts by requestId        40µs     4.5µs
//
// BenchmarkUsageWriteBatch, fsync off: a full batch of 512 costs 7–9ms
// (15µs an event; the JSON-only layout 2.5ms), a batch of 8 0.3–0.6ms.

import (
	"context"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// bigSet describes the generated data set.
type bigSet struct {
	from, to  time.Time
	events    int
	requestID string // a request with two attempts
	cursorID  string // an event in the middle of the range
	accessKey string // one of 200 ordinary keys
	rareKey   string
	account   string
}

var bigModels = []struct {
	provider, model string
	weight          int // per 10,000
}{
	{"openai", "gpt-4o", 2500}, {"openai", "gpt-4o-mini", 3000}, {"openai", "o3", 500},
	{"anthropic", "claude-sonnet-4-6", 2000}, {"anthropic", "claude-haiku-4-5", 1000},
	{"google", "gemini-2.5-pro", 995}, {"mistral", "mistral-large", 5},
}

func pickModel(r *rand.Rand) (string, string) {
	n := r.IntN(10000)
	for _, m := range bigModels {
		if n < m.weight {
			return m.provider, m.model
		}
		n -= m.weight
	}
	return bigModels[0].provider, bigModels[0].model
}

// genUsage sends n events, in time order, to record.
func genUsage(n int, record func(*store.UsageEvent)) bigSet {
	r := rand.New(rand.NewPCG(1, 2))
	to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	from := to.Add(-30 * 24 * time.Hour)
	set := bigSet{from: from, to: to, events: n, rareKey: "ak_rare", accessKey: "ak_000007", account: "acct_07"}
	step := (to.Sub(from) - time.Minute) / time.Duration(n)
	ts := from
	for i := 0; i < n; {
		reqID := ids.At("req", ts)
		key := fmt.Sprintf("ak_%06d", r.IntN(200))
		if r.IntN(10000) == 0 {
			key = set.rareKey
		}
		account := "acct_" + key[len(key)-2:]
		if key == set.rareKey {
			account = "acct_rare"
		}
		attempts := 1
		if r.IntN(10) == 0 && i+1 < n {
			attempts = 2
		}
		for a := 1; a <= attempts; a++ {
			provider, model := pickModel(r)
			e := &store.UsageEvent{RequestID: reqID, Attempt: a, Timestamp: ts, AccessKeyID: key, AccountID: account,
				ProviderID: provider, Model: model, Endpoint: "chat/completions", KeySource: "managed",
				Status: 200, Streaming: r.IntN(2) == 0, StopReason: "stop", LatencyMs: int64(200 + r.IntN(3000)),
				RetryAction: store.RetrySucceeded}
			if a < attempts {
				e.Status, e.RetryAction, e.Error, e.StopReason = 500, store.RetryNextBackend, "upstream error", ""
				e.LatencyMs = int64(50 + r.IntN(200))
			} else {
				e.InputTokens, e.OutputTokens = int64(10+r.IntN(4000)), int64(1+r.IntN(800))
				e.CacheReadTokens = int64(r.IntN(2)) * int64(r.IntN(2000))
				e.Cost = money.Nano(e.InputTokens*2500 + e.OutputTokens*10000)
				if r.IntN(50) == 0 {
					e.Status, e.RetryAction, e.Error = 400, "fail_fast", "bad request"
				}
			}
			e.ID = ids.At("ue", ts.Add(time.Duration(e.LatencyMs)*time.Millisecond))
			if attempts == 2 && set.requestID == "" && i > n/2 {
				set.requestID = reqID
			}
			if set.cursorID == "" && i >= n/2 {
				set.cursorID = e.ID
			}
			record(e)
			ts = ts.Add(step)
			i++
		}
	}
	return set
}

// loadBig writes n events through a Writer into a new database in dir.
func loadBig(tb testing.TB, dir string, n int) (*DB, bigSet, time.Duration) {
	db, err := Open(dir + "/usage.db")
	if err != nil {
		tb.Fatal(err)
	}
	var failed error
	w := store.NewWriter(db, store.WriterOptions{OnError: func(err error, _ int) { failed = err }})
	start := time.Now()
	set := genUsage(n, w.RecordUsage)
	w.Close()
	took := time.Since(start)
	if failed != nil {
		tb.Fatal(failed)
	}
	return db, set, took
}

// bigQueries are the measured queries; each checks its own answer.
func bigQueries(set bigSet) []struct {
	name string
	run  func(db *DB) error
} {
	mid := set.from.Add(15 * 24 * time.Hour)
	list := func(q store.UsageList, want int) func(db *DB) error {
		return func(db *DB) error {
			evs, _, err := db.ListUsage(context.Background(), q)
			if err == nil && len(evs) != want {
				err = fmt.Errorf("%d events, want %d", len(evs), want)
			}
			return err
		}
	}
	all := store.UsageFilter{From: set.from, To: set.to}
	with := func(mod func(f *store.UsageFilter)) store.UsageFilter { f := all; mod(&f); return f }
	overview := func(q store.UsageOverviewQuery, check func(*store.UsageOverview) error) func(db *DB) error {
		return func(db *DB) error {
			o, err := db.UsageOverview(context.Background(), q)
			if err == nil {
				err = check(o)
			}
			return err
		}
	}
	allAttempts := func(o *store.UsageOverview) error {
		if o.Totals.Attempts != int64(set.events) {
			return fmt.Errorf("%d attempts, want %d", o.Totals.Attempts, set.events)
		}
		return nil
	}
	return []struct {
		name string
		run  func(db *DB) error
	}{
		{"list/newest-100", list(store.UsageList{UsageFilter: all}, 100)},
		{"list/one-day-100", list(store.UsageList{UsageFilter: store.UsageFilter{From: mid, To: mid.Add(24 * time.Hour)}}, 100)},
		{"list/include-retries", list(store.UsageList{UsageFilter: all, IncludeRetries: true}, 100)},
		{"list/cursor-mid-range", list(store.UsageList{UsageFilter: all, BeforeID: set.cursorID}, 100)},
		{"list/access-key", list(store.UsageList{UsageFilter: with(func(f *store.UsageFilter) { f.AccessKeyID = set.accessKey })}, 100)},
		{"list/rare-access-key", func(db *DB) error {
			evs, _, err := db.ListUsage(context.Background(), store.UsageList{UsageFilter: with(func(f *store.UsageFilter) { f.AccessKeyID = set.rareKey })})
			if err == nil && (len(evs) == 0 || len(evs) == 100) {
				err = fmt.Errorf("%d events for the rare key", len(evs))
			}
			return err
		}},
		{"list/account", list(store.UsageList{UsageFilter: with(func(f *store.UsageFilter) { f.AccountID = set.account })}, 100)},
		{"list/provider", list(store.UsageList{UsageFilter: with(func(f *store.UsageFilter) { f.ProviderID = "google" })}, 100)},
		{"list/rare-model", list(store.UsageList{UsageFilter: with(func(f *store.UsageFilter) { f.Model = "mistral-large" })}, 100)},
		{"list/model-without-events", list(store.UsageList{UsageFilter: with(func(f *store.UsageFilter) { f.Model = "no-such-model" })}, 0)},
		{"overview/day-by-model", overview(store.UsageOverviewQuery{UsageFilter: all, Bucket: store.BucketDay, GroupBy: store.GroupByModel}, allAttempts)},
		{"overview/hour-by-access-key", overview(store.UsageOverviewQuery{UsageFilter: all, Bucket: store.BucketHour, GroupBy: store.GroupByAccessKey}, allAttempts)},
		{"overview/hour-unaligned-edges", overview(store.UsageOverviewQuery{
			UsageFilter: store.UsageFilter{From: set.from.Add(90 * time.Minute), To: set.to.Add(-20 * time.Minute)},
			Bucket:      store.BucketHour, GroupBy: store.GroupByProvider}, func(o *store.UsageOverview) error {
			if o.Totals.Attempts == 0 || o.Totals.Attempts >= int64(set.events) {
				return fmt.Errorf("%d attempts", o.Totals.Attempts)
			}
			return nil
		})},
		{"overview/filtered-by-account", overview(store.UsageOverviewQuery{UsageFilter: with(func(f *store.UsageFilter) { f.AccountID = set.account }),
			Bucket: store.BucketDay, GroupBy: store.GroupByAccessKey}, func(o *store.UsageOverview) error {
			if o.Totals.Requests == 0 {
				return fmt.Errorf("no requests")
			}
			return nil
		})},
		{"overview/key-filter-by-model", overview(store.UsageOverviewQuery{UsageFilter: with(func(f *store.UsageFilter) { f.AccessKeyID = set.accessKey }),
			Bucket: store.BucketDay, GroupBy: store.GroupByModel}, func(o *store.UsageOverview) error {
			if o.Totals.Requests == 0 {
				return fmt.Errorf("no requests")
			}
			return nil
		})},
		{"request", func(db *DB) error {
			evs, err := db.RequestUsage(context.Background(), set.requestID)
			if err == nil && len(evs) != 2 {
				err = fmt.Errorf("%d attempts", len(evs))
			}
			return err
		}},
	}
}

const bigEvents = 1_000_000

func BenchmarkUsage1M(b *testing.B) {
	db, set, took := loadBig(b, b.TempDir(), bigEvents)
	defer db.Close()
	st, _ := os.Stat(db.Path())
	b.Logf("loaded %d events through the Writer in %s (%.0f events/s), file %d MB", set.events, took.Round(time.Millisecond),
		float64(set.events)/took.Seconds(), st.Size()>>20)
	for _, q := range bigQueries(set) {
		b.Run(q.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := q.run(db); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestUsage1M loads a million events and requires every query to answer
// within a second. It takes a while, so it runs only when asked.
func TestUsage1M(t *testing.T) {
	if os.Getenv("AI_GATEWAY_USAGE_1M") == "" {
		t.Skip("set AI_GATEWAY_USAGE_1M=1 to load a million events")
	}
	db, set, took := loadBig(t, t.TempDir(), bigEvents)
	defer db.Close()
	st, _ := os.Stat(db.Path())
	t.Logf("load: %d events in %s (%.0f events/s), file %d MB", set.events, took.Round(time.Millisecond),
		float64(set.events)/took.Seconds(), st.Size()>>20)
	for _, q := range bigQueries(set) {
		start := time.Now()
		if err := q.run(db); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		d := time.Since(start)
		t.Logf("%-32s %s", q.name, d.Round(10*time.Microsecond))
		if d >= time.Second {
			t.Errorf("%s took %s", q.name, d)
		}
	}
}

// BenchmarkUsageWriteBatch is the write path: one transaction of n
// events into a database holding 200k, fsync off to show the work itself
// ("json" is the layout before the indexes: one JSON value per event). A
// busy gateway commits full batches of 512; a quiet one, a few events
// every 10ms.
func BenchmarkUsageWriteBatch(b *testing.B) {
	const prefill = 200_000
	var events []*store.UsageEvent
	genUsage(prefill+512*200, func(e *store.UsageEvent) { events = append(events, e) })
	for _, n := range []int{512, 8} {
		for _, layout := range []string{"indexed", "json"} {
			b.Run(fmt.Sprintf("%s/%d", layout, n), func(b *testing.B) {
				db, err := Open(b.TempDir() + "/usage.db")
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				db.bolt.NoSync = true
				commit := func(batch []*store.UsageEvent) error {
					return db.bolt.Update(func(tx *bolt.Tx) error {
						if layout == "json" {
							bk, _ := tx.CreateBucketIfNotExists([]byte("json_events"))
							for _, e := range batch {
								if err := putJSON(bk, []byte(e.ID), e); err != nil {
									return err
								}
							}
							return nil
						}
						ub, err := createUsage(tx)
						if err != nil {
							return err
						}
						return ub.put(batch)
					})
				}
				for i := 0; i < prefill; i += 512 {
					if err := commit(events[i:min(i+512, prefill)]); err != nil {
						b.Fatal(err)
					}
				}
				next := prefill
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if next+n > len(events) { // a month later, with new ids
						b.StopTimer()
						for j, e := range events[prefill:] {
							c := *e
							c.ID, c.Timestamp = c.ID+"+", c.Timestamp.Add(30*24*time.Hour)
							events[prefill+j] = &c
						}
						next = prefill
						b.StartTimer()
					}
					if err := commit(events[next : next+n]); err != nil {
						b.Fatal(err)
					}
					next += n
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
			})
		}
	}
}
