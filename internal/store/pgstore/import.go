package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	datamigrate "github.com/caddy-ai-gateway/caddy-ai-gateway/internal/migrate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// The imports of `caddy ai migrate` (migrate.Target): each call is one
// transaction and, for the ledger's tables, one INSERT … SELECT FROM
// unnest(…) ON CONFLICT DO UPDATE, so a page costs one round trip and a
// copy run again replaces what it finds. Usage events go through
// StoreUsage (ON CONFLICT DO NOTHING), in the order given, so seq keeps
// the source's order of events with the same timestamp.

// ImportResources stores resource documents, access keys with the index
// of their token hashes (PutAccessKey), and notifies the nodes listening
// of the kinds written (migrate.Target).
func (db *DB) ImportResources(ctx context.Context, rs []datamigrate.Resource) error {
	return db.inTx(ctx, readWrite, func(t *txn) error {
		if _, err := t.exec(`SELECT pg_advisory_xact_lock($1)`, resourceLock); err != nil {
			return fmt.Errorf("locking the resources: %w", err)
		}
		for _, r := range rs {
			if err := checkKind(r.Kind); err != nil {
				return err
			}
			if r.Kind != store.AccessKeys {
				if err := t.putDoc(r.Kind, r.ID, r.Doc); err != nil {
					return err
				}
				continue
			}
			var k store.AccessKey
			if err := json.Unmarshal(r.Doc, &k); err != nil {
				return fmt.Errorf("decoding access key %s: %w", r.ID, err)
			}
			if k.ID != r.ID {
				return fmt.Errorf("access key %s: the document names %q", r.ID, k.ID)
			}
			if err := t.PutAccessKey(&k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ImportCreditAccounts stores balance records; the part leased by nodes
// of the target, if any, is kept (migrate.Target).
func (db *DB) ImportCreditAccounts(ctx context.Context, as []datamigrate.CreditAccount) error {
	id, balance, updated := make([]string, len(as)), make([]int64, len(as)), make([]time.Time, len(as))
	for i, a := range as {
		id[i], balance[i], updated[i] = a.ID, int64(a.Balance), a.UpdatedAt
	}
	return db.importRows(ctx, "credit accounts", `INSERT INTO credit_accounts (account_id, balance, updated_at)
		SELECT * FROM unnest($1::text[], $2::int8[], $3::timestamptz[])
		ON CONFLICT (account_id) DO UPDATE SET balance = excluded.balance, updated_at = excluded.updated_at`,
		id, balance, updated)
}

// ImportLots stores lots, open and exhausted (migrate.Target).
func (db *DB) ImportLots(ctx context.Context, lots []*credits.Lot) error {
	acct, id, remaining, doc := make([]string, len(lots)), make([]string, len(lots)), make([]int64, len(lots)), make([]string, len(lots))
	for i, lot := range lots {
		b, err := json.Marshal(lot)
		if err != nil {
			return err
		}
		acct[i], id[i], remaining[i], doc[i] = lot.AccountID, lot.ID, int64(lot.Remaining), string(b)
	}
	return db.importRows(ctx, "credit lots", `INSERT INTO credit_lots (account_id, lot_id, remaining, doc)
		SELECT a, l, r, d::jsonb FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[]) AS u(a, l, r, d)
		ON CONFLICT (account_id, lot_id) DO UPDATE SET remaining = excluded.remaining, doc = excluded.doc`,
		acct, id, remaining, doc)
}

// ImportEntries stores ledger entries (migrate.Target).
func (db *DB) ImportEntries(ctx context.Context, es []*credits.Entry) error {
	acct, id, doc := make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
	for i, e := range es {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		acct[i], id[i], doc[i] = e.AccountID, e.ID, string(b)
	}
	return db.importRows(ctx, "ledger entries", `INSERT INTO credit_entries (account_id, entry_id, doc)
		SELECT a, e, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(a, e, d)
		ON CONFLICT (account_id, entry_id) DO UPDATE SET doc = excluded.doc`,
		acct, id, doc)
}

// ImportIdempotentPurchases stores purchases made with idempotency keys
// (migrate.Target).
func (db *DB) ImportIdempotentPurchases(ctx context.Context, ps []datamigrate.IdempotentPurchase) error {
	acct, key, doc := make([]string, len(ps)), make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		b, err := json.Marshal(p.Purchase)
		if err != nil {
			return err
		}
		acct[i], key[i], doc[i] = p.AccountID, p.Key, string(b)
	}
	return db.importRows(ctx, "idempotent purchases", `INSERT INTO credit_idempotency (account_id, key, doc)
		SELECT a, k, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(a, k, d)
		ON CONFLICT (account_id, key) DO UPDATE SET doc = excluded.doc`,
		acct, key, doc)
}

// ImportSettledMarks stores the marks of requests charged
// (migrate.Target).
func (db *DB) ImportSettledMarks(ctx context.Context, ms []datamigrate.SettledMark) error {
	req, entries := make([]string, len(ms)), make([]string, len(ms))
	for i, m := range ms {
		req[i], entries[i] = m.RequestID, strings.Join(m.EntryIDs, ",")
	}
	return db.importRows(ctx, "settled marks", `INSERT INTO credit_settled (request_id, entry_ids)
		SELECT * FROM unnest($1::text[], $2::text[])
		ON CONFLICT (request_id) DO UPDATE SET entry_ids = excluded.entry_ids`,
		req, entries)
}

// importRows runs one bulk statement in a transaction of its own.
func (db *DB) importRows(ctx context.Context, what, sql string, args ...any) error {
	return db.inTx(ctx, readWrite, func(t *txn) error {
		if _, err := t.exec(sql, args...); err != nil {
			return fmt.Errorf("storing %s: %w", what, err)
		}
		return nil
	})
}

var _ datamigrate.Target = (*DB)(nil)
