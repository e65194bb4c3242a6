package pgstore

import (
	"context"
	"fmt"
	"time"
)

// retentionLock is the pg_advisory_xact_lock key DeleteUsageBefore tries:
// the nodes on one database delete old usage events one at a time.
const retentionLock int64 = 0x61695f7265746e74 // "ai_retnt"

// DeleteUsageBefore deletes, in one transaction, the oldest usage events
// (at most limit) timestamped before t rounded down to the UTC hour (the
// cutoff the bbolt engine needs for its hourly rollups; the same here, so
// both keep the same events), and returns how many it deleted. Fewer than
// limit means none is left before the cutoff, or another node is deleting
// them now (it holds retentionLock, and goes on until none is left).
//
// The ai app calls it in a loop (usage_retention): a batch bounds how
// long one transaction holds its row locks. The subquery walks the index
// on (ts, seq).
func (db *DB) DeleteUsageBefore(ctx context.Context, t time.Time, limit int) (deleted int, err error) {
	if limit <= 0 {
		return 0, nil
	}
	err = db.inTx(ctx, readWrite, func(tx *txn) error {
		var locked bool
		if err := tx.queryRow(`SELECT pg_try_advisory_xact_lock($1)`, retentionLock).Scan(&locked); err != nil {
			return fmt.Errorf("locking usage retention: %w", err)
		}
		if !locked {
			deleted = 0
			return nil
		}
		tag, err := tx.exec(`DELETE FROM usage_events WHERE id IN
			(SELECT id FROM usage_events WHERE ts < $1 ORDER BY ts, seq LIMIT $2)`, t.Truncate(time.Hour), limit)
		if err != nil {
			return err
		}
		deleted = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("deleting usage events: %w", err)
	}
	return deleted, nil
}
