package store

import (
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

func TestAccessKeyRoundTrip(t *testing.T) {
	db := openTemp(t)
	h := secrets.HashToken("cag_x")
	k := &AccessKey{ID: ids.New("ak"), Name: "a", TokenHash: hex.EncodeToString(h[:]), CreatedAt: time.Now()}
	if err := db.PutAccessKey(k); err != nil {
		t.Fatal(err)
	}
	got, err := db.AccessKey(k.ID)
	if err != nil || got.Name != "a" {
		t.Fatalf("%+v %v", got, err)
	}
	if err := db.TouchAccessKeys(map[string]time.Time{k.ID: time.Unix(1000, 0)}); err != nil {
		t.Fatal(err)
	}
	got, _ = db.AccessKey(k.ID)
	if got.LastUsed == nil || got.LastUsed.Unix() != 1000 {
		t.Fatalf("last used %v", got.LastUsed)
	}
	all, _ := db.AccessKeys()
	if len(all) != 1 {
		t.Fatalf("%d keys", len(all))
	}
	if err := db.DeleteAccessKey(k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AccessKey(k.ID); err != ErrNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := db.DeleteAccessKey(k.ID); err != ErrNotFound {
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
	w := NewWriter(db, WriterOptions{FlushInterval: 50 * time.Millisecond, OnCommit: func(n int) {
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
				w.RecordUsage(&UsageEvent{ID: ids.New("ue"), RequestID: "r", Timestamp: time.Now()})
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
	evs, err := db.Usage(UsageQuery{From: time.Now().Add(-time.Minute)})
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
	w := NewWriter(db, WriterOptions{})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		ts := base.Add(time.Duration(i) * time.Hour)
		w.RecordUsage(&UsageEvent{ID: ids.At("ue", ts), RequestID: "r", Timestamp: ts})
	}
	w.Close()
	evs, err := db.Usage(UsageQuery{From: base.Add(3 * time.Hour), To: base.Add(6 * time.Hour)})
	if err != nil || len(evs) != 3 {
		t.Fatalf("got %d: %v", len(evs), err)
	}
}
