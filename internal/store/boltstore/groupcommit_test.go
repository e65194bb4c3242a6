package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommit: concurrent calls all commit, each exactly once in the
// result; a failing call fails alone and writes nothing; a call after
// close is refused.
func TestGroupCommit(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "g.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	g := newGroupCommit(db, 7) // batches smaller than the load
	boom := errors.New("boom")
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.do(func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("b"))
				if err := b.Put([]byte(fmt.Sprintf("k%03d", i)), []byte{1}); err != nil {
					return err
				}
				// a counter every call adds to: a function committed twice
				// would count twice
				var c uint64
				if v := b.Get([]byte("count")); v != nil {
					c = binary.BigEndian.Uint64(v)
				}
				if err := b.Put([]byte("count"), binary.BigEndian.AppendUint64(nil, c+1)); err != nil {
					return err
				}
				if i%10 == 3 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	g.close()
	want := 0
	for i, err := range errs {
		if i%10 == 3 {
			if !errors.Is(err, boom) {
				t.Errorf("call %d: %v, want its own error", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
		want++
	}
	_ = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range n {
			if got := b.Get([]byte(fmt.Sprintf("k%03d", i))) != nil; got != (i%10 != 3) {
				t.Errorf("key %d stored: %v", i, got)
			}
		}
		if c := binary.BigEndian.Uint64(b.Get([]byte("count"))); c != uint64(want) {
			t.Errorf("count %d, want %d", c, want)
		}
		return nil
	})
	if err := g.do(func(*bolt.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("after close: %v", err)
	}
}
