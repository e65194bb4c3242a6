package pgstore

import (
	"context"
	"errors"
	"sync"
)

// groupCommit runs concurrent BatchLedger functions in one transaction,
// without a fixed delay: one goroutine takes everything queued, runs it in
// one transaction and commit, answers every caller, and starts the next
// with what queued meanwhile. Many settlements of one busy account then
// share a commit instead of queueing on its row lock one commit each.
// When the shared transaction fails (a function's error, a conflict),
// each function runs again in a transaction of its own, so one failing
// function fails only its own caller.
type groupCommit struct {
	db       *DB
	maxBatch int

	mu     sync.Mutex
	wake   *sync.Cond
	queue  []groupCall
	closed bool
	done   chan struct{}
}

type groupCall struct {
	ctx context.Context
	fn  func(*txn) error
	err chan error
}

// errClosed answers a write that arrives after Close.
var errClosed = errors.New("the database is closed")

func newGroupCommit(db *DB, maxBatch int) *groupCommit {
	g := &groupCommit{db: db, maxBatch: maxBatch, done: make(chan struct{})}
	g.wake = sync.NewCond(&g.mu)
	go g.run()
	return g
}

// do runs fn in a transaction shared with other concurrent calls and
// returns once that transaction committed (or with fn's own error).
func (g *groupCommit) do(ctx context.Context, fn func(*txn) error) error {
	c := groupCall{ctx: ctx, fn: fn, err: make(chan error, 1)}
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
			g.queue = nil
		}
		g.mu.Unlock()
		g.commit(batch)
	}
}

func (g *groupCommit) commit(batch []groupCall) {
	if len(batch) == 1 {
		c := batch[0]
		c.err <- g.db.inTx(c.ctx, readWrite, c.fn)
		return
	}
	// The batch's context: a settlement commits even when its client went
	// away, so the callers' contexts (normally Background) are not mixed.
	err := g.db.inTx(context.Background(), readWrite, func(t *txn) error {
		for _, c := range batch {
			if err := c.fn(t); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, c := range batch {
			c.err <- nil
		}
		return
	}
	for _, c := range batch {
		c.err <- g.db.inTx(c.ctx, readWrite, c.fn)
	}
}
