package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backoff between LISTEN reconnections.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
)

// WatchChanges calls fn for each resource change committed by any node
// (UpdateResources notifies changesChannel), and once after every
// (re)connection, since changes made while it was not listening were
// missed. It holds a connection of its own, outside the pool, reconnects
// with backoff when it drops, and returns when ctx is done or the DB
// closes. fn runs on WatchChanges' goroutine: a slow fn delays the next
// call, and notifications that arrive meanwhile are each delivered.
func (db *DB) WatchChanges(ctx context.Context, fn func()) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(db.done, cancel)
	defer stop()
	backoff := watchMinBackoff
	for ctx.Err() == nil {
		listened := db.listen(ctx, fn)
		if listened {
			backoff = watchMinBackoff
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

// listen connects, LISTENs and delivers until the connection fails or
// ctx ends; it reports whether it got as far as listening.
func (db *DB) listen(ctx context.Context, fn func()) bool {
	conn, err := pgx.ConnectConfig(ctx, db.conn.Copy())
	if err != nil {
		return false
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return false
	}
	fn()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		fn()
	}
}
