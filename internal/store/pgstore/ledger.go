package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// ViewLedger runs fn in a read-only snapshot (credits.Store).
func (db *DB) ViewLedger(ctx context.Context, fn func(credits.Tx) error) error {
	return db.inTx(ctx, readOnly, func(t *txn) error { return fn(t) })
}

// UpdateLedger runs fn in one READ COMMITTED transaction (credits.Store);
// the first use of an account locks its row (lockAccount).
func (db *DB) UpdateLedger(ctx context.Context, fn func(credits.Tx) error) error {
	return db.inTx(ctx, readWrite, func(t *txn) error { return fn(t) })
}

// BatchLedger runs fn in a transaction shared with concurrent BatchLedger
// calls of this DB (store.GroupCommit): one commit for all of them. A batch
// that fails is run again one function at a time, so fn may run twice.
func (db *DB) BatchLedger(ctx context.Context, fn func(credits.Tx) error) error {
	return db.batch.Do(ctx, func(t *txn) error { return fn(t) })
}

// Ledger writes are deferred (later): they queue in the transaction and
// go to the server in one round trip with its next read, or before its
// commit, so a settlement's entries, lots, balance, events and settled
// mark cost one round trip together. An error of a deferred write is
// returned by the read or the commit that sent it.

// later queues a write for the next flush.
func (t *txn) later(sql string, args ...any) {
	if t.pending == nil {
		t.pending = &pgx.Batch{}
	}
	t.pending.Queue(sql, args...)
}

// flush sends the deferred writes.
func (t *txn) flush() error {
	if t.pending == nil {
		return nil
	}
	b := t.pending
	t.pending = nil
	if err := t.tx.SendBatch(t.ctx, b).Close(); err != nil {
		return fmt.Errorf("storing the transaction's writes: %w", err)
	}
	return nil
}

// exec, queryRow and query send the deferred writes, then the statement.
func (t *txn) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	if err := t.flush(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.tx.Exec(t.ctx, sql, args...)
}

func (t *txn) queryRow(sql string, args ...any) pgx.Row {
	if err := t.flush(); err != nil {
		return errRow{err}
	}
	return t.tx.QueryRow(t.ctx, sql, args...)
}

// query's error, if any, is the rows' (pgx.CollectRows returns it).
func (t *txn) query(sql string, args ...any) pgx.Rows {
	if err := t.flush(); err != nil {
		return errRows{err: err}
	}
	rows, _ := t.tx.Query(t.ctx, sql, args...) // an error is rows.Err()
	return rows
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// errRows is rows that failed before the query was sent: no rows, and
// err. Only what reading rows calls is implemented.
type errRows struct {
	pgx.Rows
	err error
}

func (r errRows) Next() bool { return false }
func (r errRows) Err() error { return r.err }
func (r errRows) Close()     {}

// pageSize is how many rows a visit reads at a time: visits read a page,
// then call fn for its rows (fn may stop early, or use the transaction).
const pageSize = 256

// lockAccount locks the row of an account for the rest of a write
// transaction, creating a placeholder row (updated_at NULL) when the
// ledger never wrote the account, and returns the record. Every statement
// after it sees what the account's previous writers committed, so two
// nodes never draw the same lot.
func (t *txn) lockAccount(accountID string) (credits.AccountRecord, error) {
	var rec credits.AccountRecord
	var balance, leased int64
	var updated *time.Time
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO credit_accounts (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING`, accountID)
	b.Queue(`SELECT balance, updated_at, leased FROM credit_accounts WHERE account_id = $1 FOR UPDATE`, accountID).
		QueryRow(func(r pgx.Row) error { return r.Scan(&balance, &updated, &leased) })
	if err := t.flush(); err != nil {
		return rec, err
	}
	if err := t.tx.SendBatch(t.ctx, b).Close(); err != nil {
		return rec, fmt.Errorf("locking the credit account %s: %w", accountID, err)
	}
	if t.locked == nil {
		t.locked = make(map[string]bool)
	}
	t.locked[accountID] = true
	if updated != nil {
		rec.Balance, rec.UpdatedAt, rec.Leased = moneyOf(balance), updated.UTC(), moneyOf(leased)
	}
	return rec, nil
}

// lock locks an account's row once per write transaction.
func (t *txn) lock(accountID string) error {
	if !t.write || t.locked[accountID] {
		return nil
	}
	_, err := t.lockAccount(accountID)
	return err
}

func (t *txn) Account(accountID string) (credits.AccountRecord, error) {
	if t.write && !t.locked[accountID] {
		return t.lockAccount(accountID)
	}
	var rec credits.AccountRecord
	var balance, leased int64
	var updated *time.Time
	err := t.queryRow(`SELECT balance, updated_at, leased FROM credit_accounts WHERE account_id = $1`, accountID).Scan(&balance, &updated, &leased)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && updated == nil) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("reading the credit account %s: %w", accountID, err)
	}
	rec.Balance, rec.UpdatedAt, rec.Leased = moneyOf(balance), updated.UTC(), moneyOf(leased)
	return rec, nil
}

func (t *txn) PutAccount(accountID string, rec credits.AccountRecord) error {
	if err := t.lock(accountID); err != nil {
		return err
	}
	t.later(`UPDATE credit_accounts SET balance = $2, updated_at = $3 WHERE account_id = $1`,
		accountID, int64(rec.Balance), rec.UpdatedAt)
	return nil
}

func (t *txn) Accounts(fn func(string, credits.AccountRecord) bool) error {
	after := ""
	for {
		rows := t.query(`SELECT account_id, balance, updated_at, leased FROM credit_accounts
			WHERE account_id > $1 AND updated_at IS NOT NULL ORDER BY account_id LIMIT $2`, after, pageSize)
		type row struct {
			id  string
			rec credits.AccountRecord
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			var balance, leased int64
			err := r.Scan(&x.id, &balance, &x.rec.UpdatedAt, &leased)
			x.rec.Balance, x.rec.UpdatedAt, x.rec.Leased = moneyOf(balance), x.rec.UpdatedAt.UTC(), moneyOf(leased)
			return x, err
		})
		if err != nil {
			return fmt.Errorf("listing the credit accounts: %w", err)
		}
		for _, r := range page {
			if !fn(r.id, r.rec) {
				return nil
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].id
	}
}

func (t *txn) AccountExists(accountID string) (bool, error) {
	return t.Exists(store.Accounts, accountID)
}

func (t *txn) OpenLots(accountID string) ([]*credits.Lot, error) {
	// lots read before the lock could be stale by the time they are drawn
	if err := t.lock(accountID); err != nil {
		return nil, err
	}
	rows := t.query(`SELECT doc FROM credit_lots WHERE account_id = $1 AND remaining > 0 ORDER BY lot_id`, accountID)
	lots, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*credits.Lot, error) {
		var doc []byte
		if err := r.Scan(&doc); err != nil {
			return nil, err
		}
		lot := new(credits.Lot)
		if err := json.Unmarshal(doc, lot); err != nil {
			return nil, fmt.Errorf("decoding a credit lot: %w", err)
		}
		return lot, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the credit lots of %s: %w", accountID, err)
	}
	return lots, nil
}

func (t *txn) PutLot(lot *credits.Lot) error {
	if err := t.lock(lot.AccountID); err != nil {
		return err
	}
	doc, err := json.Marshal(lot)
	if err != nil {
		return err
	}
	t.later(`INSERT INTO credit_lots (account_id, lot_id, remaining, doc) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, lot_id) DO UPDATE SET remaining = excluded.remaining, doc = excluded.doc`,
		lot.AccountID, lot.ID, int64(lot.Remaining), doc)
	return nil
}

func (t *txn) PutEntry(e *credits.Entry) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	t.later(`INSERT INTO credit_entries (account_id, entry_id, doc) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, entry_id) DO UPDATE SET doc = excluded.doc`, e.AccountID, e.ID, doc)
	return nil
}

// Entries visits an account's entries newest first, after beforeID.
func (t *txn) Entries(accountID, beforeID string, fn func(*credits.Entry) bool) error {
	for {
		var rows pgx.Rows
		if beforeID == "" {
			rows = t.query(`SELECT entry_id, doc FROM credit_entries WHERE account_id = $1
				ORDER BY entry_id DESC LIMIT $2`, accountID, pageSize)
		} else {
			rows = t.query(`SELECT entry_id, doc FROM credit_entries WHERE account_id = $1 AND entry_id < $2
				ORDER BY entry_id DESC LIMIT $3`, accountID, beforeID, pageSize)
		}
		page, err := collectEntries(rows)
		if err != nil {
			return fmt.Errorf("reading the ledger entries of %s: %w", accountID, err)
		}
		for _, e := range page {
			if !fn(e) {
				return nil
			}
		}
		if len(page) < pageSize {
			return nil
		}
		beforeID = page[len(page)-1].ID
	}
}

// AllEntries visits every entry, account by account, oldest first.
func (t *txn) AllEntries(fn func(*credits.Entry) bool) error {
	var account, after string
	for {
		rows := t.query(`SELECT entry_id, doc FROM credit_entries WHERE (account_id, entry_id) > ($1, $2)
			ORDER BY account_id, entry_id LIMIT $3`, account, after, pageSize)
		page, err := collectEntries(rows)
		if err != nil {
			return fmt.Errorf("reading the ledger entries: %w", err)
		}
		for _, e := range page {
			if !fn(e) {
				return nil
			}
		}
		if len(page) < pageSize {
			return nil
		}
		last := page[len(page)-1]
		account, after = last.AccountID, last.ID
	}
}

// collectEntries decodes rows of (entry_id, doc). The entry's key is the
// row's, not what its document says.
func collectEntries(rows pgx.Rows) ([]*credits.Entry, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*credits.Entry, error) {
		var id string
		var doc []byte
		if err := r.Scan(&id, &doc); err != nil {
			return nil, err
		}
		e := new(credits.Entry)
		if err := json.Unmarshal(doc, e); err != nil {
			return nil, fmt.Errorf("decoding the ledger entry %s: %w", id, err)
		}
		e.ID = id
		return e, nil
	})
}

func (t *txn) IdempotentPurchase(accountID, key string) (*credits.IdempotentPurchase, error) {
	var doc []byte
	err := t.queryRow(`SELECT doc FROM credit_idempotency WHERE account_id = $1 AND key = $2`, accountID, key).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the purchase of idempotency key %s/%s: %w", accountID, key, err)
	}
	p := new(credits.IdempotentPurchase)
	if err := json.Unmarshal(doc, p); err != nil {
		return nil, fmt.Errorf("decoding the purchase of idempotency key %s/%s: %w", accountID, key, err)
	}
	return p, nil
}

func (t *txn) PutIdempotentPurchase(accountID, key string, p *credits.IdempotentPurchase) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	t.later(`INSERT INTO credit_idempotency (account_id, key, doc) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, key) DO UPDATE SET doc = excluded.doc`, accountID, key, doc)
	return nil
}

func (t *txn) Settled(requestID string) (bool, error) {
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM credit_settled WHERE request_id = $1)`, requestID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("reading the settled mark of %s: %w", requestID, err)
	}
	return ok, nil
}

// MarkSettled records a request as charged. Two nodes settling the same
// request both pass Settled before either commits; the second's insert
// then fails on the key, and inTx runs its transaction again (retryable),
// where Settled sees the first's mark.
func (t *txn) MarkSettled(requestID string, entryIDs []string) error {
	t.later(`INSERT INTO credit_settled (request_id, entry_ids) VALUES ($1, $2)`, requestID, strings.Join(entryIDs, ","))
	return nil
}

// JournalUsage stores the events in full in the settlement's transaction:
// StoreUsage later skips them.
func (t *txn) JournalUsage(events []*store.UsageEvent) (stored bool, err error) {
	if len(events) > 0 {
		t.later(insertUsageSQL, usageArgs(events)...)
	}
	return true, nil
}

var _ credits.Store = (*DB)(nil)
