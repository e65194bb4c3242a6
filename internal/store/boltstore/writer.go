package boltstore

import (
	"context"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StoreUsage stores events in full — the events, their index entries
// and the hourly rollups they add to — in one transaction, and clears
// their journal entries (JournalUsage). An event whose id is stored
// already is skipped. It is what store.Writer commits its batches with.
func (db *DB) StoreUsage(_ context.Context, events []*store.UsageEvent) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		ub, err := createUsage(tx)
		if err != nil {
			return err
		}
		if err := ub.put(events); err != nil {
			return err
		}
		return deletePending(tx, events)
	})
}

// createUsage returns the usage buckets of a write transaction, creating
// them (and marking the format) the first time.
func createUsage(tx *bolt.Tx) (*usageBuckets, error) {
	root, err := tx.CreateBucketIfNotExists(bucketUsage)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root.Get(usageFormatKey), usageFormat) {
		if err := root.Put(usageFormatKey, usageFormat); err != nil {
			return nil, err
		}
	}
	var ub usageBuckets
	for _, b := range []struct {
		name []byte
		dst  **bolt.Bucket
	}{{usageEventsB, &ub.events}, {usageIDsB, &ub.ids}, {usageRequestsB, &ub.requests},
		{usageAccessKeysB, &ub.accessKeys}, {usageAccountsB, &ub.accounts}, {usageHourlyB, &ub.hourly},
		{usageHourlyModB, &ub.hourlyModels}, {usageHourlyKeyB, &ub.hourlyKeys}} {
		if *b.dst, err = root.CreateBucketIfNotExists(b.name); err != nil {
			return nil, fmt.Errorf("creating bucket %s/%s: %w", bucketUsage, b.name, err)
		}
	}
	// Keys arrive (nearly) in order, at the end of their range: full pages
	// instead of bbolt's half-full split pages.
	for _, b := range []*bolt.Bucket{ub.events, ub.ids, ub.requests, ub.accessKeys, ub.accounts, ub.hourly, ub.hourlyModels, ub.hourlyKeys} {
		b.FillPercent = 0.9
	}
	return &ub, nil
}

// migrateUsage converts events stored by an older layout (JSON values at
// the top of usage_events) into the current one, in one transaction.
func migrateUsage(tx *bolt.Tx) error {
	root := tx.Bucket(bucketUsage)
	if root == nil || bytes.Equal(root.Get(usageFormatKey), usageFormat) {
		return nil
	}
	var old []*store.UsageEvent
	var keys [][]byte
	c := root.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil || bytes.Equal(k, usageFormatKey) { // a nested bucket, or the marker
			continue
		}
		keys = append(keys, append([]byte(nil), k...))
		var e store.UsageEvent
		if json.Unmarshal(v, &e) == nil && e.ID != "" {
			old = append(old, &e)
		}
	}
	for _, k := range keys {
		if err := root.Delete(k); err != nil {
			return err
		}
	}
	ub, err := createUsage(tx)
	if err != nil {
		return err
	}
	return ub.put(old)
}

// put adds events with their index entries and rollups. An event whose id
// is already stored is skipped, so a replayed batch is not counted twice.
func (ub *usageBuckets) put(batch []*store.UsageEvent) error {
	type rollupKey struct {
		b                                   *bolt.Bucket
		hour                                uint32
		provider, model, accessKey, account string
	}
	rollups := make(map[rollupKey]*store.UsageTotals)
	var pkb [8]byte
	for _, e := range batch {
		if ub.ids.Get([]byte(e.ID)) != nil {
			continue
		}
		ts := e.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		pk := pkOf(ts)
		for {
			binary.BigEndian.PutUint64(pkb[:], pk)
			if ub.events.Get(pkb[:]) == nil {
				break
			}
			pk++
		}
		flags := eventFlags(e)
		if err := ub.events.Put(be64(pk), appendEvent(nil, e, ts, pk, flags)); err != nil {
			return err
		}
		if err := ub.ids.Put([]byte(e.ID), be64(pk)); err != nil {
			return err
		}
		if err := ub.requests.Put(indexKey(e.RequestID, pk), nil); err != nil {
			return err
		}
		if e.AccessKeyID != "" {
			if err := ub.accessKeys.Put(indexKey(e.AccessKeyID, pk), []byte{flags}); err != nil {
				return err
			}
		}
		if e.AccountID != "" {
			if err := ub.accounts.Put(indexKey(e.AccountID, pk), []byte{flags}); err != nil {
				return err
			}
		}
		hour := uint32(pk / uint64(time.Hour))
		for _, rk := range [...]rollupKey{
			{ub.hourly, hour, e.ProviderID, e.Model, e.AccessKeyID, e.AccountID},
			{ub.hourlyModels, hour, e.ProviderID, e.Model, "", ""},
			{ub.hourlyKeys, hour, "", "", e.AccessKeyID, e.AccountID},
		} {
			t := rollups[rk]
			if t == nil {
				t = new(store.UsageTotals)
				rollups[rk] = t
			}
			t.AddEvent(e)
		}
	}
	for rk, t := range rollups {
		k := rollupKeyBytes(rk.hour, rk.provider, rk.model, rk.accessKey, rk.account)
		if old := rk.b.Get(k); old != nil {
			prev, err := decodeTotals(old)
			if err != nil {
				return fmt.Errorf("decoding usage rollup: %w", err)
			}
			t.Add(prev)
		}
		if err := rk.b.Put(k, appendTotals(nil, t)); err != nil {
			return err
		}
	}
	return nil
}

func rollupKeyBytes(hour uint32, provider, model, accessKey, account string) []byte {
	k := binary.BigEndian.AppendUint32(make([]byte, 0, 4+4+len(provider)+len(model)+len(accessKey)+len(account)), hour)
	k = appendLP(k, provider)
	k = appendLP(k, model)
	k = appendLP(k, accessKey)
	return appendLP(k, account)
}
