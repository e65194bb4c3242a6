package caddyaigateway

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
)

// errShutdown cancels the requests still in flight when the store closes
// (the last configuration using it stopped: Caddy is exiting, after its
// grace_period).
var errShutdown = errors.New("the gateway is shutting down")

// inflight tracks the metered requests in progress, so that the store is
// closed only after each of them settled and recorded what it delivered.
// Caddy's http app does not close connections still open when a finite
// grace_period ends; the process exits under them. Closing the store
// therefore first cuts those requests (their context ends with
// errShutdown), lets them settle, and only then closes.
type inflight struct {
	mu      sync.Mutex
	closing bool
	cancels map[*context.CancelCauseFunc]struct{}
	wg      sync.WaitGroup
}

// enter registers a request. It returns the context the request must use
// (cancelled with errShutdown by drain) and leave (idempotent), to call
// once it has settled; ok is false when the store is already closing.
func (f *inflight) enter(parent context.Context) (ctx context.Context, leave func(), ok bool) {
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

// drain refuses new requests, cuts those in flight and waits up to
// timeout for them to leave. It returns how many were still in flight
// when it gave up.
func (f *inflight) drain(timeout time.Duration) int {
	f.mu.Lock()
	f.closing = true
	for c := range f.cancels {
		(*c)(errShutdown)
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

// shuttingDown reports whether ctx was cut by drain.
func shuttingDown(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errShutdown) }

// ready makes sure the app's shared state (the store) is open: Caddy may
// start the http app, and so route requests, before the ai app. It
// answers 503 when the store cannot be opened.
func (a *App) ready() *apierr.Error {
	if _, err := a.sharedState(); err != nil {
		return apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the gateway's store is not available: "+err.Error())
	}
	return nil
}
