// Package inflight tracks the metered requests in progress, so that the
// store they settle in is closed only after each of them settled and
// recorded what it delivered. Caddy's http app does not close connections
// still open when a finite grace_period ends; the process exits under
// them. Closing the store therefore first cuts those requests (their
// context ends with ErrShutdown), lets them settle, and only then closes.
package inflight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrShutdown cancels the requests still in flight when the store closes
// (the last configuration using it stopped: Caddy is exiting, after its
// grace_period).
var ErrShutdown = errors.New("the gateway is shutting down")

// Tracker counts the requests that entered and have not left. The zero
// value is ready to use.
type Tracker struct {
	mu      sync.Mutex
	closing bool
	entries map[*Entry]struct{}
	wg      sync.WaitGroup
}

// Entry is a request in flight: one allocation per request.
type Entry struct {
	f      *Tracker
	cancel context.CancelCauseFunc
	left   atomic.Bool
}

// Enter registers a request. It returns the context the request must use
// (cancelled with ErrShutdown by Drain) and its entry, whose Leave to call
// once it has settled; ok is false when the store is already closing (the
// entry is then nil, and Leave on it does nothing).
func (f *Tracker) Enter(parent context.Context) (ctx context.Context, e *Entry, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return parent, nil, false
	}
	if f.entries == nil {
		f.entries = map[*Entry]struct{}{}
	}
	e = &Entry{f: f}
	ctx, e.cancel = context.WithCancelCause(parent)
	f.entries[e] = struct{}{}
	f.wg.Add(1)
	return ctx, e, true
}

// Leave ends the request's registration (idempotent; nil-safe).
func (e *Entry) Leave() {
	if e == nil || e.left.Swap(true) {
		return
	}
	f := e.f
	f.mu.Lock()
	delete(f.entries, e)
	f.mu.Unlock()
	e.cancel(nil)
	f.wg.Done()
}

// Drain refuses new requests, cuts those in flight and waits up to
// timeout for them to leave. It returns how many were still in flight
// when it gave up.
func (f *Tracker) Drain(timeout time.Duration) int {
	f.mu.Lock()
	f.closing = true
	for e := range f.entries {
		e.cancel(ErrShutdown)
	}
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return 0
	case <-time.After(timeout):
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.entries)
	}
}

// ShuttingDown reports whether ctx was cut by Drain.
func ShuttingDown(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrShutdown) }
