package store

import (
	"context"
	"errors"
	"sync"
)

// GroupCommit runs concurrent write functions of an engine in shared
// transactions, without a fixed delay: one goroutine takes everything
// queued, runs it in one transaction and commit (one fsync), answers every
// caller, and starts the next commit at once with what queued meanwhile.
// A lone caller waits for one commit, the floor; under load a commit
// carries every write that arrived during the previous one. (bbolt's own
// Batch waits up to MaxBatchDelay for company, which at low concurrency
// is the whole wait.) T is the engine's transaction.
type GroupCommit[T any] struct {
	inTx     func(ctx context.Context, fn func(T) error) error
	maxBatch int

	mu     sync.Mutex
	wake   *sync.Cond
	queue  []groupCall[T]
	closed bool
	done   chan struct{}
}

type groupCall[T any] struct {
	ctx context.Context
	fn  func(T) error
	err chan error
}

// ErrClosed answers a write that arrives after Close.
var ErrClosed = errors.New("the store is closed")

// NewGroupCommit starts a committer; inTx runs fn in one read-write
// transaction of the engine, committing when it returns nil.
func NewGroupCommit[T any](maxBatch int, inTx func(ctx context.Context, fn func(T) error) error) *GroupCommit[T] {
	g := &GroupCommit[T]{inTx: inTx, maxBatch: maxBatch, done: make(chan struct{})}
	g.wake = sync.NewCond(&g.mu)
	go g.run()
	return g
}

// Do runs fn in a transaction shared with other concurrent calls and
// returns once that transaction committed (or with fn's own error). fn may
// run more than once: when a shared transaction fails, each of its
// functions runs again alone, so one failing function fails only its own
// caller. A shared transaction runs on its own context: a settlement
// commits even when its client went away.
func (g *GroupCommit[T]) Do(ctx context.Context, fn func(T) error) error {
	c := groupCall[T]{ctx: ctx, fn: fn, err: make(chan error, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	g.queue = append(g.queue, c)
	if len(g.queue) == 1 {
		g.wake.Signal()
	}
	g.mu.Unlock()
	return <-c.err
}

// Close commits what is queued and stops the committer.
func (g *GroupCommit[T]) Close() {
	g.mu.Lock()
	g.closed = true
	g.wake.Signal()
	g.mu.Unlock()
	<-g.done
}

func (g *GroupCommit[T]) run() {
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

func (g *GroupCommit[T]) commit(batch []groupCall[T]) {
	if len(batch) == 1 {
		c := batch[0]
		c.err <- g.inTx(c.ctx, c.fn)
		return
	}
	err := g.inTx(context.Background(), func(t T) error {
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
		c.err <- g.inTx(c.ctx, c.fn)
	}
}
