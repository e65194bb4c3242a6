package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// The credit ledger's buckets; records are JSON.
var (
	bucketCreditAccounts = []byte("credit_accounts")    // accountID → credits.AccountRecord
	bucketLots           = []byte("credit_lots")        // accountID/lotID → credits.Lot
	bucketLedger         = []byte("credit_ledger")      // accountID/entryID → credits.Entry
	bucketIdem           = []byte("credit_idempotency") // accountID/key → credits.IdempotentPurchase
	bucketSettled        = []byte("credit_settled")     // requestID → entry ids, comma-separated
)

var ledgerBuckets = [][]byte{bucketCreditAccounts, bucketLots, bucketLedger, bucketIdem, bucketSettled}

var _ credits.Store = (*DB)(nil)

// ViewLedger runs fn in a read-only transaction (credits.Store).
func (db *DB) ViewLedger(_ context.Context, fn func(credits.Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(ledgerTx{tx}) })
}

// UpdateLedger runs fn in one read-write transaction (credits.Store).
func (db *DB) UpdateLedger(_ context.Context, fn func(credits.Tx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(ledgerTx{tx}) })
}

// BatchLedger runs fn in a transaction shared with concurrent BatchLedger
// calls (store.GroupCommit): they share one commit and its fsync, and a lone
// call does not wait for company. A failed batch is retried one function
// at a time, so fn may run twice.
func (db *DB) BatchLedger(ctx context.Context, fn func(credits.Tx) error) error {
	return db.batch.Do(ctx, func(tx *bolt.Tx) error { return fn(ledgerTx{tx}) })
}

// ledgerTx is a transaction over the ledger's buckets.
type ledgerTx struct{ tx *bolt.Tx }

func (t ledgerTx) Account(accountID string) (credits.AccountRecord, error) {
	var rec credits.AccountRecord
	raw := t.tx.Bucket(bucketCreditAccounts).Get([]byte(accountID))
	if raw == nil {
		return rec, nil
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, fmt.Errorf("decoding the credit account %s: %w", accountID, err)
	}
	return rec, nil
}

func (t ledgerTx) PutAccount(accountID string, rec credits.AccountRecord) error {
	return putJSON(t.tx.Bucket(bucketCreditAccounts), []byte(accountID), rec)
}

func (t ledgerTx) Accounts(fn func(string, credits.AccountRecord) bool) error {
	c := t.tx.Bucket(bucketCreditAccounts).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var rec credits.AccountRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decoding the credit account %s: %w", k, err)
		}
		if !fn(string(k), rec) {
			return nil
		}
	}
	return nil
}

func (t ledgerTx) AccountExists(accountID string) (bool, error) {
	return t.tx.Bucket([]byte(store.Accounts)).Get([]byte(accountID)) != nil, nil
}

func (t ledgerTx) OpenLots(accountID string) ([]*credits.Lot, error) {
	var out []*credits.Lot
	var err error
	scan(t.tx.Bucket(bucketLots), accountID+"/", false, "", func(k, raw []byte) bool {
		lot := new(credits.Lot)
		if err = json.Unmarshal(raw, lot); err != nil {
			err = fmt.Errorf("decoding the credit lot %s: %w", k, err)
			return false
		}
		if lot.Remaining > 0 {
			out = append(out, lot)
		}
		return true
	})
	return out, err
}

func (t ledgerTx) PutLot(lot *credits.Lot) error {
	return putJSON(t.tx.Bucket(bucketLots), []byte(lot.AccountID+"/"+lot.ID), lot)
}

func (t ledgerTx) PutEntry(e *credits.Entry) error {
	return putJSON(t.tx.Bucket(bucketLedger), []byte(e.AccountID+"/"+e.ID), e)
}

func (t ledgerTx) Entries(accountID, beforeID string, fn func(*credits.Entry) bool) error {
	after := ""
	if beforeID != "" {
		after = accountID + "/" + beforeID
	}
	return t.entries(accountID+"/", true, after, fn)
}

func (t ledgerTx) AllEntries(fn func(*credits.Entry) bool) error {
	return t.entries("", false, "", fn)
}

func (t ledgerTx) entries(prefix string, reverse bool, after string, fn func(*credits.Entry) bool) error {
	var err error
	scan(t.tx.Bucket(bucketLedger), prefix, reverse, after, func(k, raw []byte) bool {
		e := new(credits.Entry)
		if err = json.Unmarshal(raw, e); err != nil {
			err = fmt.Errorf("decoding the ledger entry %s: %w", k, err)
			return false
		}
		return fn(e)
	})
	return err
}

func (t ledgerTx) IdempotentPurchase(accountID, key string) (*credits.IdempotentPurchase, error) {
	raw := t.tx.Bucket(bucketIdem).Get([]byte(accountID + "/" + key))
	if raw == nil {
		return nil, nil
	}
	p := new(credits.IdempotentPurchase)
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("decoding the purchase of idempotency key %s/%s: %w", accountID, key, err)
	}
	return p, nil
}

func (t ledgerTx) PutIdempotentPurchase(accountID, key string, p *credits.IdempotentPurchase) error {
	return putJSON(t.tx.Bucket(bucketIdem), []byte(accountID+"/"+key), p)
}

func (t ledgerTx) Settled(requestID string) (bool, error) {
	return t.tx.Bucket(bucketSettled).Get([]byte(requestID)) != nil, nil
}

func (t ledgerTx) MarkSettled(requestID string, entryIDs []string) error {
	return t.tx.Bucket(bucketSettled).Put([]byte(requestID), []byte(strings.Join(entryIDs, ",")))
}

// JournalUsage journals the events for the usage writer (stored=false):
// storing them in full here (indexes, rollups) would lengthen every
// settlement's commit.
func (t ledgerTx) JournalUsage(events []*store.UsageEvent) (stored bool, err error) {
	return false, putPending(t.tx, events)
}

func createLedgerBuckets(tx *bolt.Tx) error {
	for _, name := range ledgerBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	return nil
}
