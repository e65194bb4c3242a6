package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// usageDump is every key and value of the usage buckets (and the
// journal), by bucket.
func usageDump(t *testing.T, db *DB) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var walk func(name string, b *bolt.Bucket) error
		walk = func(name string, b *bolt.Bucket) error {
			m := map[string]string{}
			out[name] = m
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					return walk(name+"/"+string(k), b.Bucket(k))
				}
				m[string(k)] = string(v)
				return nil
			})
		}
		if err := walk(string(bucketUsage), tx.Bucket(bucketUsage)); err != nil {
			return err
		}
		if b := tx.Bucket(bucketUsagePending); b != nil {
			return walk(string(bucketUsagePending), b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rollupsFrom is the rollup rows of the hours from hour on.
func rollupsFrom(dump map[string]map[string]string, hour uint64) map[string]string {
	out := map[string]string{}
	for _, name := range [][]byte{usageHourlyB, usageHourlyModB, usageHourlyKeyB} {
		for k, v := range dump[string(bucketUsage)+"/"+string(name)] {
			if uint64(binary.BigEndian.Uint32([]byte(k))) >= hour {
				out[string(name)+"/"+k] = v
			}
		}
	}
	return out
}

// TestDeleteUsageBefore: deleting in batches leaves exactly the buckets
// of a store that only ever had the events kept — events, every index and
// every rollup, byte for byte — and, between batches, the rollups of
// every hour that still has events.
func TestDeleteUsageBefore(t *testing.T) {
	ctx := context.Background()
	db, all := usageFixture(t)
	cutoff := usageBase.Add(30*time.Hour + 20*time.Minute) // deletes what precedes 06:00 on day two
	hour := cutoff.Truncate(time.Hour)
	var old, kept []*store.UsageEvent
	for _, e := range all {
		if e.Timestamp.Before(hour) {
			old = append(old, e)
		} else {
			kept = append(kept, e)
		}
	}
	if len(old) < 1000 || len(kept) < 1000 {
		t.Fatalf("fixture: %d old and %d kept events", len(old), len(kept))
	}
	ref := openTemp(t)
	w := store.NewWriter(ref, store.WriterOptions{MaxBatch: 500})
	for _, e := range kept {
		w.RecordUsage(e)
	}
	w.Close()

	before := usageDump(t, db)
	const limit = 300
	total := 0
	for calls := 1; ; calls++ {
		n, err := db.DeleteUsageBefore(ctx, cutoff, limit)
		if err != nil {
			t.Fatal(err)
		}
		if n > limit {
			t.Fatalf("one call deleted %d events, limit %d", n, limit)
		}
		total += n
		if n < limit {
			break
		}
		if calls > len(old) {
			t.Fatal("deleting does not end")
		}
		// mid-way: the hours that still have events keep their rollups
		// whole (an overview of the oldest one includes what this run
		// deleted from it until the run empties it); older ones are gone
		first := pkOf(old[total].Timestamp) / hourNs
		now := usageDump(t, db)
		if got, want := rollupsFrom(now, 0), rollupsFrom(before, first); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after %d events: the rollups are not those of the hours from %d on", total, first)
		}
	}
	if total != len(old) {
		t.Fatalf("deleted %d events, want %d", total, len(old))
	}
	got, want := usageDump(t, db), usageDump(t, ref)
	for name, m := range want {
		if fmt.Sprint(got[name]) != fmt.Sprint(m) {
			t.Errorf("bucket %s: %d keys, want %d (or the same keys with other values)", name, len(got[name]), len(m))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d buckets, want %d", len(got), len(want))
	}
	if t.Failed() {
		t.FailNow()
	}
	if _, err := db.RequestUsage(ctx, old[0].RequestID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the usage of a deleted request: %v", err)
	}
	if _, err := db.UsageEventByID(ctx, old[len(old)-1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted event by id: %v", err)
	}
	// idempotent: nothing more to delete, nothing changes
	if n, err := db.DeleteUsageBefore(ctx, cutoff, limit); n != 0 || err != nil {
		t.Fatalf("deleting again: %d, %v", n, err)
	}
	if fmt.Sprint(usageDump(t, db)) != fmt.Sprint(got) {
		t.Fatal("deleting again changed the store")
	}
}

// TestDeleteUsageBeforeEmpty: a store without usage events, and a limit
// of zero, delete nothing.
func TestDeleteUsageBeforeEmpty(t *testing.T) {
	db := openTemp(t)
	if n, err := db.DeleteUsageBefore(context.Background(), time.Now(), 10); n != 0 || err != nil {
		t.Fatalf("empty store: %d, %v", n, err)
	}
	db, all := usageFixture(t)
	if n, err := db.DeleteUsageBefore(context.Background(), all[len(all)-1].Timestamp.Add(time.Hour), 0); n != 0 || err != nil {
		t.Fatalf("limit 0: %d, %v", n, err)
	}
	if evs, err := db.Usage(context.Background(), store.UsageQuery{}); err != nil || len(evs) != len(all) {
		t.Fatalf("limit 0 left %d of %d events (%v)", len(evs), len(all), err)
	}
}
