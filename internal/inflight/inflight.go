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
	cancels map[*context.CancelCauseFunc]struct{}
	wg      sync.WaitGroup
}

// Enter registers a request. It returns the context the request must use
// (cancelled with ErrShutdown by Drain) and leave (idempotent), to call
// once it has settled; ok is false when the store is already closing.
func (f *Tracker) Enter(parent context.Context) (ctx context.Context, leave func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return parent, func() {}, false
	}
	if f.cancels == nil {
		f.cancels = map[*context.CancelCauseFunc]struct{}{}
	}
	ctx, cancel := context.WithCancelCause(parent)
	key := &cancel
	f.cancels[key] = struct{}{}
	f.wg.Add(1)
	var left atomic.Bool
	return ctx, func() { // idempotent
		if left.Swap(true) {
			return
		}
		f.mu.Lock()
		delete(f.cancels, key)
		f.mu.Unlock()
		cancel(nil)
		f.wg.Done()
	}, true
}

// Drain refuses new requests, cuts those in flight and waits up to
// timeout for them to leave. It returns how many were still in flight
// when it gave up.
func (f *Tracker) Drain(timeout time.Duration) int {
	f.mu.Lock()
	f.closing = true
	for c := range f.cancels {
		(*c)(ErrShutdown)
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
		return len(f.cancels)
	}
}

// ShuttingDown reports whether ctx was cut by Drain.
func ShuttingDown(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrShutdown) }
