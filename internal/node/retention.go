package node

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// SetUsageRetention sets the usage_retention in force: usage events older
// than d are deleted in the background; d <= 0 keeps them forever. The
// latest configuration started sets it.
func (s *State) SetUsageRetention(d time.Duration) { s.usageRetention.Store(int64(d)) }

// UsageRetention is the usage_retention in force (SetUsageRetention).
func (s *State) UsageRetention() time.Duration { return time.Duration(s.usageRetention.Load()) }

// usageDeleter is a store that deletes old usage events (usage_retention):
// in one transaction, at most limit of the oldest events timestamped
// before t rounded down to the UTC hour; fewer than limit when none is
// left (or, on a store of many nodes, when another node is deleting them).
type usageDeleter interface {
	DeleteUsageBefore(ctx context.Context, t time.Time, limit int) (deleted int, err error)
}

// When the retention loop runs, and how many events one transaction
// deletes. On bbolt a batch of 5,000 holds the write lock for ~50-60 ms
// on a plain disk, most of it the fsync every commit pays (a batch of
// 1,000 took ~47 ms), so settlements and the usage writer wait at most
// one batch; on PostgreSQL it locks only the rows it deletes, which
// nobody writes.
var (
	retentionFirstRun = time.Minute
	retentionEvery    = 10 * time.Minute
	retentionBatch    = 5000
)

// retentionLoop deletes the usage events older than usageRetention, first
// after first, then every every, until ctx ends (Close).
func (s *State) retentionLoop(ctx context.Context, db usageDeleter, first, every time.Duration) {
	defer close(s.retentionDone)
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.deleteOldUsage(ctx, db, time.Now())
			t.Reset(every)
		}
	}
}

// deleteOldUsage deletes, batch after batch, the usage events older than
// the retention in force at now, and logs how many went. It stops early
// when ctx ends; what is left goes next time.
func (s *State) deleteOldUsage(ctx context.Context, db usageDeleter, now time.Time) {
	retention := s.UsageRetention()
	if retention <= 0 {
		return
	}
	before := now.Add(-retention).Truncate(time.Hour)
	started := time.Now()
	total, batches := 0, 0
	for ctx.Err() == nil {
		n, err := db.DeleteUsageBefore(ctx, before, retentionBatch)
		total += n
		batches++
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("deleting old usage events (usage_retention)", zap.Error(err),
					zap.Time("before", before), zap.Int("deleted", total))
			}
			return
		}
		if n < retentionBatch {
			break
		}
	}
	if total > 0 {
		s.logger.Info("deleted old usage events (usage_retention)", zap.Int("events", total),
			zap.Int("batches", batches), zap.Time("before", before), zap.Duration("took", time.Since(started)))
	}
}
