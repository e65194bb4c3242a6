package node

import (
	"context"
	"sync"
	"time"
)

// pingTimeout bounds one store check; pingFresh is how long its result
// answers other checks.
const (
	pingTimeout = time.Second
	pingFresh   = 500 * time.Millisecond
)

// Ready reports whether the store answers within pingTimeout (a read of
// the bbolt file; a query to PostgreSQL). One check runs at a time and
// its result answers the others while it is fresh (pingFresh), so a fleet
// of health checkers costs the database at most two queries a second. The
// check is not tied to ctx: a caller that gives up (ctx ends) does not
// fail the one shared check.
func (s *State) Ready(ctx context.Context) error {
	return s.ping.ping(ctx, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		defer cancel()
		return s.db.Ping(ctx)
	})
}

// pingCache runs one check at a time and shares its result while it is
// fresh.
type pingCache struct {
	mu   sync.Mutex
	at   time.Time
	err  error
	busy chan struct{} // closed when the check under way ends
}

func (c *pingCache) ping(ctx context.Context, check func() error) error {
	c.mu.Lock()
	if !c.at.IsZero() && time.Since(c.at) < pingFresh {
		err := c.err
		c.mu.Unlock()
		return err
	}
	if busy := c.busy; busy != nil {
		c.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		return err
	}
	busy := make(chan struct{})
	c.busy = busy
	c.mu.Unlock()

	err := check()

	c.mu.Lock()
	c.at, c.err, c.busy = time.Now(), err, nil
	c.mu.Unlock()
	close(busy)
	return err
}
