package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DeleteUsageBefore deletes, in one transaction, the oldest usage events
// (at most limit) timestamped before t rounded down to the UTC hour, with
// their index entries and journal entries, and the hourly rollup rows of
// the hours it emptied, and returns how many events it deleted. Fewer
// than limit means none is left before the cutoff. The cutoff is a whole
// hour because a rollup row sums a whole hour: an hour is either kept
// with all its events or deleted with all of them, so overviews never
// count an event that is gone.
//
// The ai app calls it in a loop (usage_retention): a batch bounds how
// long one transaction holds bbolt's write lock. The file does not
// shrink; bbolt reuses the pages freed.
func (db *DB) DeleteUsageBefore(_ context.Context, t time.Time, limit int) (deleted int, err error) {
	if limit <= 0 {
		return 0, nil
	}
	cutoff := pkOf(t.Truncate(time.Hour))
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		if err := deletePendingBefore(tx, cutoff); err != nil {
			return err
		}
		ub := openUsage(tx)
		if ub == nil {
			return nil
		}
		type doomed struct {
			pk                              uint64
			id, request, accessKey, account string
		}
		var batch []doomed
		c := ub.events.Cursor()
		for k, v := c.First(); k != nil && len(batch) < limit; k, v = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("malformed usage event key %x", k)
			}
			pk := binary.BigEndian.Uint64(k)
			if pk >= cutoff {
				break
			}
			h, r, err := readHead(v)
			if err != nil {
				return fmt.Errorf("usage event at %d: %w", pk, err)
			}
			d := doomed{pk: pk, accessKey: string(h.accessKey), account: string(h.account)}
			d.id, d.request = r.str(), r.str()
			if r.bad {
				return fmt.Errorf("usage event at %d: truncated", pk)
			}
			batch = append(batch, d)
		}
		for _, d := range batch {
			if err := ub.events.Delete(be64(d.pk)); err != nil {
				return err
			}
			if v := ub.ids.Get([]byte(d.id)); len(v) == 8 && binary.BigEndian.Uint64(v) == d.pk {
				if err := ub.ids.Delete([]byte(d.id)); err != nil {
					return err
				}
			}
			if err := ub.requests.Delete(indexKey(d.request, d.pk)); err != nil {
				return err
			}
			if d.accessKey != "" {
				if err := ub.accessKeys.Delete(indexKey(d.accessKey, d.pk)); err != nil {
					return err
				}
			}
			if d.account != "" {
				if err := ub.accounts.Delete(indexKey(d.account, d.pk)); err != nil {
					return err
				}
			}
		}
		deleted = len(batch)

		// The rollups of the hours before the oldest event left go: every
		// event of those hours is deleted (in this batch, or before).
		endHour := cutoff / hourNs
		if k, _ := ub.events.Cursor().First(); len(k) == 8 {
			endHour = min(endHour, binary.BigEndian.Uint64(k)/hourNs)
		}
		for _, b := range []*bolt.Bucket{ub.hourly, ub.hourlyModels, ub.hourlyKeys} {
			if err := deleteRollupsBefore(b, endHour); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("deleting usage events: %w", err)
	}
	return deleted, nil
}

// deleteRollupsBefore deletes the rollup rows of b of the hours before
// endHour.
func deleteRollupsBefore(b *bolt.Bucket, endHour uint64) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < 4 || uint64(binary.BigEndian.Uint32(k)) >= endHour {
			break
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// deletePendingBefore deletes the journal entries (usage_pending) of
// events timestamped before cutoff: what a crash left there would
// otherwise bring them back at the next Open. The journal holds only the
// events of settlements the usage writer has not stored yet: a few.
func deletePendingBefore(tx *bolt.Tx, cutoff uint64) error {
	b := tx.Bucket(bucketUsagePending)
	if b == nil || isEmpty(b) {
		return nil
	}
	var keys [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if len(v) >= 8 && binary.BigEndian.Uint64(v) < cutoff {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
