package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/migrate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// The exports of `caddy ai migrate` (migrate.Source): every record of a
// bucket in key order, decoded, in pages of migrate.PageSize. Each export
// is one read transaction; the database is not written meanwhile (the
// gateway is stopped: Open holds the file lock).

// exportBucket visits the records of bucket, decoded by decode, page by
// page.
func exportBucket[T any](ctx context.Context, db *DB, bucket []byte, decode func(k, v []byte) (T, error), fn func([]T) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		return exportRecords(ctx, tx.Bucket(bucket), decode, fn)
	})
}

// exportRecords visits the records of b (nil: none), page by page.
func exportRecords[T any](ctx context.Context, b *bolt.Bucket, decode func(k, v []byte) (T, error), fn func([]T) error) error {
	if b == nil {
		return nil
	}
	page := make([]T, 0, migrate.PageSize)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil { // a nested bucket
			continue
		}
		rec, err := decode(k, v)
		if err != nil {
			return err
		}
		page = append(page, rec)
		if len(page) == migrate.PageSize {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(page); err != nil {
				return err
			}
			page = make([]T, 0, migrate.PageSize)
		}
	}
	if len(page) == 0 {
		return nil
	}
	return fn(page)
}

func decodeJSON[T any](what string) func(k, v []byte) (*T, error) {
	return func(k, v []byte) (*T, error) {
		rec := new(T)
		if err := json.Unmarshal(v, rec); err != nil {
			return nil, fmt.Errorf("decoding the %s %s: %w", what, k, err)
		}
		return rec, nil
	}
}

// ExportResources visits every resource document, kind by kind
// (store.Kinds) in id order (migrate.Source).
func (db *DB) ExportResources(ctx context.Context, fn func([]migrate.Resource) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		for _, kind := range store.Kinds {
			err := exportRecords(ctx, tx.Bucket([]byte(kind)), func(k, v []byte) (migrate.Resource, error) {
				return migrate.Resource{Kind: kind, ID: string(k), Doc: append([]byte(nil), v...)}, nil
			}, fn)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// ExportCreditAccounts visits every account's balance record
// (migrate.Source).
func (db *DB) ExportCreditAccounts(ctx context.Context, fn func([]migrate.CreditAccount) error) error {
	return exportBucket(ctx, db, bucketCreditAccounts, func(k, v []byte) (migrate.CreditAccount, error) {
		a := migrate.CreditAccount{ID: string(k)}
		if err := json.Unmarshal(v, &a.AccountRecord); err != nil {
			return a, fmt.Errorf("decoding the credit account %s: %w", k, err)
		}
		return a, nil
	}, fn)
}

// ExportLots visits every lot, open and exhausted (migrate.Source).
func (db *DB) ExportLots(ctx context.Context, fn func([]*credits.Lot) error) error {
	return exportBucket(ctx, db, bucketLots, decodeJSON[credits.Lot]("credit lot"), fn)
}

// ExportEntries visits every ledger entry, account by account
// (migrate.Source).
func (db *DB) ExportEntries(ctx context.Context, fn func([]*credits.Entry) error) error {
	return exportBucket(ctx, db, bucketLedger, decodeJSON[credits.Entry]("ledger entry"), fn)
}

// ExportIdempotentPurchases visits every purchase made with an idempotency
// key (migrate.Source). The record's key is accountID/key; the account is
// the one the purchase's entry credits, so a key may contain a slash.
func (db *DB) ExportIdempotentPurchases(ctx context.Context, fn func([]migrate.IdempotentPurchase) error) error {
	decode := decodeJSON[credits.IdempotentPurchase]("idempotent purchase")
	return exportBucket(ctx, db, bucketIdem, func(k, v []byte) (migrate.IdempotentPurchase, error) {
		p, err := decode(k, v)
		if err != nil {
			return migrate.IdempotentPurchase{}, err
		}
		account := p.Entry.AccountID
		key, ok := strings.CutPrefix(string(k), account+"/")
		if account == "" || !ok {
			account, key, _ = strings.Cut(string(k), "/")
		}
		return migrate.IdempotentPurchase{AccountID: account, Key: key, Purchase: p}, nil
	}, fn)
}

// ExportSettledMarks visits every request charged, with the entries that
// charged it (migrate.Source).
func (db *DB) ExportSettledMarks(ctx context.Context, fn func([]migrate.SettledMark) error) error {
	return exportBucket(ctx, db, bucketSettled, func(k, v []byte) (migrate.SettledMark, error) {
		m := migrate.SettledMark{RequestID: string(k)}
		if len(v) > 0 {
			m.EntryIDs = strings.Split(string(v), ",")
		}
		return m, nil
	}, fn)
}

// ExportUsage visits every usage event in time order, the order of their
// keys (migrate.Source). Events a crash left in the journal were stored
// by Open.
func (db *DB) ExportUsage(ctx context.Context, fn func([]*store.UsageEvent) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		ub := openUsage(tx)
		if ub == nil {
			return nil
		}
		return exportRecords(ctx, ub.events, func(k, v []byte) (*store.UsageEvent, error) {
			if len(k) != 8 {
				return nil, fmt.Errorf("usage event key %x: not a time key", k)
			}
			e, err := decodeEvent(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return nil, fmt.Errorf("decoding usage event %x: %w", k, err)
			}
			return e, nil
		}, fn)
	})
}

// Count counts the records of every table (migrate.Counter).
func (db *DB) Count(ctx context.Context) (migrate.Counts, error) {
	c := migrate.Counts{Resources: map[string]int64{}}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for _, kind := range store.Kinds {
			if n := keys(tx.Bucket([]byte(kind))); n > 0 {
				c.Resources[kind] = n
			}
		}
		c.AccessKeyHashes = keys(tx.Bucket(bucketKeyHashes))
		c.IdempotentPurchases = keys(tx.Bucket(bucketIdem))
		c.SettledMarks = keys(tx.Bucket(bucketSettled))
		c.Entries = keys(tx.Bucket(bucketLedger))
		err := tx.Bucket(bucketCreditAccounts).ForEach(func(k, v []byte) error {
			var rec credits.AccountRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decoding the credit account %s: %w", k, err)
			}
			c.CreditAccounts++
			c.Balances += rec.Balance
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketLots).ForEach(func(k, v []byte) error {
			var lot credits.Lot
			if err := json.Unmarshal(v, &lot); err != nil {
				return fmt.Errorf("decoding the credit lot %s: %w", k, err)
			}
			c.Lots++
			if lot.Remaining > 0 {
				c.OpenLots++
				c.LotsRemaining += lot.Remaining
			}
			return nil
		})
		if err != nil {
			return err
		}
		ub := openUsage(tx)
		if ub == nil {
			return nil
		}
		return ub.events.ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			_, t, err := eventTotals(v)
			if err != nil {
				return fmt.Errorf("decoding usage event %x: %w", k, err)
			}
			c.UsageEvents++
			c.UsageCost += t.Cost
			c.UsageFees += t.Fees
			return nil
		})
	})
	return c, err
}

// keys counts the records of b (nil: none).
func keys(b *bolt.Bucket) int64 {
	if b == nil {
		return 0
	}
	var n int64
	_ = b.ForEach(func(_, v []byte) error {
		if v != nil {
			n++
		}
		return nil
	})
	return n
}

var _ migrate.Source = (*DB)(nil)
