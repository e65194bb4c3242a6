package boltstore

import (
	"context"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"encoding/hex"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "sub", "gw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSecondOpenTimesOut(t *testing.T) {
	db := openTemp(t)
	start := time.Now()
	if _, err := Open(db.Path()); err == nil {
		t.Fatal("second open of a locked file succeeded")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("second open hung")
	}
}

// TestAccessKeyHashIndex: the token hash index follows an access key
// through a rotation (the replaced token's hash leaves it) and a delete.
func TestAccessKeyHashIndex(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	hexOf := func(tok string) string { h := secrets.HashToken(tok); return hex.EncodeToString(h[:]) }
	indexed := func() (ids []string) {
		_ = db.bolt.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketKeyHashes).ForEach(func(k, v []byte) error {
				ids = append(ids, hex.EncodeToString(k)+"="+string(v))
				return nil
			})
		})
		sort.Strings(ids)
		return ids
	}
	put := func(k *store.AccessKey) {
		t.Helper()
		if err := db.UpdateResources(ctx, func(tx manage.ResourceTx) error { return tx.PutAccessKey(k) }); err != nil {
			t.Fatal(err)
		}
	}
	k := &store.AccessKey{ID: ids.New("ak"), Name: "a", TokenHash: hexOf("cag_1"), CreatedAt: time.Now()}
	put(k)
	if got := indexed(); !slices.Equal(got, []string{hexOf("cag_1") + "=" + k.ID}) {
		t.Fatalf("after create: %v", got)
	}
	// rotated with a grace period: both tokens resolve
	k.PreviousTokenHash, k.TokenHash = k.TokenHash, hexOf("cag_2")
	put(k)
	want := []string{hexOf("cag_1") + "=" + k.ID, hexOf("cag_2") + "=" + k.ID}
	sort.Strings(want)
	if got := indexed(); !slices.Equal(got, want) {
		t.Fatalf("after rotation: %v", got)
	}
	// rotated again: the first token is gone
	k.PreviousTokenHash, k.TokenHash = k.TokenHash, hexOf("cag_3")
	put(k)
	want = []string{hexOf("cag_2") + "=" + k.ID, hexOf("cag_3") + "=" + k.ID}
	sort.Strings(want)
	if got := indexed(); !slices.Equal(got, want) {
		t.Fatalf("after second rotation: %v", got)
	}
	err := db.UpdateResources(ctx, func(tx manage.ResourceTx) error {
		if err := tx.Put(store.AccessKeys, k.ID, k); err == nil {
			t.Error("Put of an access key bypassed the hash index")
		}
		return tx.DeleteAccessKey(k.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := indexed(); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}
	err = db.UpdateResources(ctx, func(tx manage.ResourceTx) error { return tx.DeleteAccessKey(k.ID) })
	if err != store.ErrNotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func TestMetaIfAbsent(t *testing.T) {
	db := openTemp(t)
	v, _ := db.SetMetaIfAbsent("k", []byte("a"))
	w, _ := db.SetMetaIfAbsent("k", []byte("b"))
	if string(v) != "a" || string(w) != "a" {
		t.Fatalf("%s %s", v, w)
	}
}

func TestWriterGroupCommitsAndCloseFlushes(t *testing.T) {
	db := openTemp(t)
	var commits, records atomic.Int64
	w := store.NewWriter(db, store.WriterOptions{FlushInterval: 50 * time.Millisecond, OnCommit: func(n int) {
		commits.Add(1)
		records.Add(int64(n))
	}})
	const n = 2000
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/20; i++ {
				w.RecordUsage(&store.UsageEvent{ID: ids.New("ue"), RequestID: "r", Timestamp: time.Now()})
			}
		}()
	}
	wg.Wait()
	w.Close()
	if records.Load() != n {
		t.Fatalf("committed %d of %d", records.Load(), n)
	}
	if commits.Load() >= n/10 {
		t.Fatalf("%d commits for %d records: not grouped", commits.Load(), n)
	}
	evs, err := db.Usage(context.Background(), store.UsageQuery{From: time.Now().Add(-time.Minute)})
	if err != nil || len(evs) != n {
		t.Fatalf("read %d events: %v", len(evs), err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatal("events not in id order")
		}
	}
}

func TestUsageTimeRange(t *testing.T) {
	db := openTemp(t)
	w := store.NewWriter(db, store.WriterOptions{})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		ts := base.Add(time.Duration(i) * time.Hour)
		w.RecordUsage(&store.UsageEvent{ID: ids.At("ue", ts), RequestID: "r", Timestamp: ts})
	}
	w.Close()
	evs, err := db.Usage(context.Background(), store.UsageQuery{From: base.Add(3 * time.Hour), To: base.Add(6 * time.Hour)})
	if err != nil || len(evs) != 3 {
		t.Fatalf("got %d: %v", len(evs), err)
	}
}
