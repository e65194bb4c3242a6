package store

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
)

// memTx is a transaction over a map: writes go to a copy that replaces
// the state only when the transaction commits.
type memTx struct{ data map[int]int }

// memDB is the smallest engine for GroupCommit: one writer at a time.
type memDB struct {
	mu      sync.Mutex
	data    map[int]int
	commits int
}

func (db *memDB) inTx(_ context.Context, fn func(*memTx) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	tx := &memTx{data: maps.Clone(db.data)}
	if err := fn(tx); err != nil {
		return err
	}
	db.data = tx.data
	db.commits++
	return nil
}

// TestGroupCommit: concurrent calls all commit, each exactly once in the
// result; a failing call fails alone and writes nothing; a call after
// Close is refused.
func TestGroupCommit(t *testing.T) {
	db := &memDB{data: map[int]int{}}
	g := NewGroupCommit(7, db.inTx) // batches smaller than the load
	boom := errors.New("boom")
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = g.Do(context.Background(), func(tx *memTx) error {
				tx.data[i] = 1
				tx.data[-1]++ // a function committed twice would count twice
				if i%10 == 3 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	g.Close()
	want := 0
	for i, err := range errs {
		if i%10 == 3 {
			if !errors.Is(err, boom) {
				t.Errorf("call %d: %v, want its own error", i, err)
			}
			if db.data[i] != 0 {
				t.Errorf("failed call %d wrote", i)
			}
			continue
		}
		if err != nil || db.data[i] != 1 {
			t.Errorf("call %d: %v, stored %d", i, err, db.data[i])
		}
		want++
	}
	if db.data[-1] != want {
		t.Errorf("count %d, want %d", db.data[-1], want)
	}
	if err := g.Do(context.Background(), func(*memTx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
