package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// An open store is ready; a closed one is not once the cached answer is
// stale.
func TestReady(t *testing.T) {
	s := openTest(t, zap.NewNop())
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("within pingFresh the cached answer stands: %v", err)
	}
	s.ping.mu.Lock()
	s.ping.at = time.Now().Add(-pingFresh)
	s.ping.mu.Unlock()
	if err := s.Ready(context.Background()); err == nil {
		t.Fatal("a closed store is ready")
	}
}

// One check runs at a time: callers during it share its result, and later
// callers the cached one while it is fresh; a caller that gives up does
// not wait for it.
func TestPingCache(t *testing.T) {
	var c pingCache
	var checks atomic.Int32
	release := make(chan struct{})
	failing := errors.New("store down")
	check := func() error {
		checks.Add(1)
		<-release
		return failing
	}

	var wg sync.WaitGroup
	errs := make([]error, 5)
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = c.ping(context.Background(), check) }()
	for !c.isBusy() {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < len(errs); i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); errs[i] = c.ping(context.Background(), check) }(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.ping(ctx, check); !errors.Is(err, context.Canceled) {
		t.Fatalf("a caller that gave up: %v", err)
	}
	time.Sleep(10 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != failing {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if err := c.ping(context.Background(), check); err != failing {
		t.Fatalf("cached: %v", err)
	}
	if n := checks.Load(); n != 1 {
		t.Fatalf("%d checks, want 1", n)
	}
}

func (c *pingCache) isBusy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy != nil
}
