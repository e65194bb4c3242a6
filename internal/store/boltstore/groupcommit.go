package boltstore

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit commits concurrent write functions together, without a
// fixed delay: one goroutine takes everything queued, commits it in one
// transaction (one fsync), answers every caller, and starts the next
// commit at once with what queued meanwhile. A lone caller waits for one
// commit, the fsync floor; under load a commit carries every settlement
// that arrived during the previous one. (bbolt's own Batch waits up to
// MaxBatchDelay for a batch to fill, which is the whole wait at low
// concurrency.)
type groupCommit struct {
	db       *bolt.DB
	maxBatch int

	mu     sync.Mutex
	wake   *sync.Cond
	queue  []groupCall
	closed bool
	done   chan struct{}
}

type groupCall struct {
	fn  func(*bolt.Tx) error
	err chan error
}

// errClosed answers a write that arrives after Close.
var errClosed = errors.New("the database is closed")

func newGroupCommit(db *bolt.DB, maxBatch int) *groupCommit {
	g := &groupCommit{db: db, maxBatch: maxBatch, done: make(chan struct{})}
	g.wake = sync.NewCond(&g.mu)
	go g.run()
	return g
}

// do runs fn in a transaction shared with other concurrent calls and
// returns once that transaction committed (or fn's own error). fn may run
// more than once: when a shared commit fails, each of its functions is
// run again alone, so one failing function fails only its own caller.
func (g *groupCommit) do(fn func(*bolt.Tx) error) error {
	c := groupCall{fn: fn, err: make(chan error, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.queue = append(g.queue, c)
	if len(g.queue) == 1 {
		g.wake.Signal()
	}
	g.mu.Unlock()
	return <-c.err
}

// close commits what is queued and stops the committer.
func (g *groupCommit) close() {
	g.mu.Lock()
	g.closed = true
	g.wake.Signal()
	g.mu.Unlock()
	<-g.done
}

func (g *groupCommit) run() {
	defer close(g.done)
	for {
		g.mu.Lock()
		for len(g.queue) == 0 && !g.closed {
			g.wake.Wait()
		}
		if len(g.queue) == 0 {
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), g.maxBatch)
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		if len(g.queue) == 0 {
			g.queue = nil // let the batch's array go
		}
		g.mu.Unlock()
		g.commit(batch)
	}
}

// commit runs a batch in one transaction. When a function fails, the
// transaction is rolled back and every function of the batch runs again
// in a transaction of its own, so each caller gets its own outcome.
func (g *groupCommit) commit(batch []groupCall) {
	err := g.db.Update(func(tx *bolt.Tx) error {
		for _, c := range batch {
			if err := c.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, c := range batch {
			c.err <- err
		}
		return
	}
	for _, c := range batch {
		c.err <- g.db.Update(c.fn)
	}
}
