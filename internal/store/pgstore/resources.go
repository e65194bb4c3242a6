package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// resourceLock is the pg_advisory_xact_lock key every UpdateResources
// takes first: resource writers run one at a time across all nodes, so a
// reference check and the change it guards commit together.
const resourceLock int64 = 0x61695f7265736f75 // "ai_resou"

// changesChannel is the NOTIFY channel of committed resource changes; the
// payload is the kind changed.
const changesChannel = "ai_gateway_changes"

// UpdateResources runs fn in one read-write transaction (manage.Store),
// serialised with every other UpdateResources on the database, and
// notifies changesChannel of each kind it wrote when it commits.
func (db *DB) UpdateResources(ctx context.Context, fn func(manage.ResourceTx) error) error {
	return db.inTx(ctx, readWrite, func(t *txn) error {
		if _, err := t.exec(`SELECT pg_advisory_xact_lock($1)`, resourceLock); err != nil {
			return fmt.Errorf("locking the resources: %w", err)
		}
		return fn(t)
	})
}

// ViewResources runs fn in a read-only snapshot (manage.Store).
func (db *DB) ViewResources(ctx context.Context, fn func(manage.ResourceTx) error) error {
	return db.inTx(ctx, readOnly, func(t *txn) error { return fn(t) })
}

// txn is one transaction; it is both the manage.ResourceTx and the
// credits.Tx of it (Ledger returns itself).
type txn struct {
	ctx   context.Context
	tx    pgx.Tx
	write bool
	// locked holds the credit accounts whose row this transaction locked.
	locked map[string]bool
	// changed holds the resource kinds written, notified at commit.
	changed map[string]bool
	// pending holds the deferred ledger writes (later).
	pending *pgx.Batch
}

func (t *txn) Ledger() credits.Tx { return t }

func checkKind(kind string) error {
	if !slices.Contains(store.Kinds, kind) {
		return fmt.Errorf("unknown resource kind %q", kind)
	}
	return nil
}

func (t *txn) Get(kind, id string, v any) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	var doc []byte
	err := t.queryRow(`SELECT doc FROM resources WHERE kind = $1 AND id = $2`, kind, id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", kind, id, err)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("decoding %s/%s: %w", kind, id, err)
	}
	return nil
}

func (t *txn) Exists(kind, id string) (bool, error) {
	if err := checkKind(kind); err != nil {
		return false, err
	}
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM resources WHERE kind = $1 AND id = $2)`, kind, id).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("reading %s/%s: %w", kind, id, err)
	}
	return ok, nil
}

func (t *txn) Put(kind, id string, v any) error {
	if kind == store.AccessKeys {
		return fmt.Errorf("access keys are written with PutAccessKey")
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s/%s: %w", kind, id, err)
	}
	return t.putDoc(kind, id, doc)
}

func (t *txn) putDoc(kind, id string, doc []byte) error {
	_, err := t.exec(`INSERT INTO resources (kind, id, doc) VALUES ($1, $2, $3)
		ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc`, kind, id, doc)
	if err != nil {
		return fmt.Errorf("storing %s/%s: %w", kind, id, err)
	}
	t.change(kind)
	return nil
}

func (t *txn) Delete(kind, id string) error {
	if kind == store.AccessKeys {
		return fmt.Errorf("access keys are deleted with DeleteAccessKey")
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	return t.deleteDoc(kind, id)
}

func (t *txn) deleteDoc(kind, id string) error {
	tag, err := t.exec(`DELETE FROM resources WHERE kind = $1 AND id = $2`, kind, id)
	if err != nil {
		return fmt.Errorf("deleting %s/%s: %w", kind, id, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	t.change(kind)
	return nil
}

func (t *txn) List(kind string, fn func(id string, doc []byte) error) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	// read everything before calling fn, which may use the transaction
	rows := t.query(`SELECT id, doc FROM resources WHERE kind = $1 ORDER BY id`, kind)
	type row struct {
		id  string
		doc []byte
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.doc)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("listing %s: %w", kind, err)
	}
	for _, r := range all {
		if err := fn(r.id, r.doc); err != nil {
			return err
		}
	}
	return nil
}

// PutAccessKey inserts or replaces an access key and the index of its
// token hashes: hashes the key no longer has are removed, and a hash that
// belongs to another key is refused (hashes are unique).
func (t *txn) PutAccessKey(k *store.AccessKey) error {
	h, err := k.Hash()
	if err != nil {
		return err
	}
	hashes := [][]byte{h[:]}
	if ph, ok := k.PreviousHash(); ok {
		hashes = append(hashes, ph[:])
	}
	if _, err := t.exec(`DELETE FROM access_key_hashes WHERE key_id = $1 AND NOT hash = ANY($2)`, k.ID, hashes); err != nil {
		return fmt.Errorf("updating the token hashes of %s: %w", k.ID, err)
	}
	for _, hash := range hashes {
		var owner string
		err := t.queryRow(`INSERT INTO access_key_hashes (hash, key_id) VALUES ($1, $2)
			ON CONFLICT (hash) DO UPDATE SET key_id = access_key_hashes.key_id
			RETURNING key_id`, hash, k.ID).Scan(&owner)
		if err != nil {
			return fmt.Errorf("indexing the token hash of %s: %w", k.ID, err)
		}
		if owner != k.ID {
			return fmt.Errorf("the token hash of access key %s belongs to access key %s", k.ID, owner)
		}
	}
	doc, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("encoding access key %s: %w", k.ID, err)
	}
	return t.putDoc(store.AccessKeys, k.ID, doc)
}

// DeleteAccessKey removes an access key and its token hashes.
func (t *txn) DeleteAccessKey(id string) error {
	if _, err := t.exec(`DELETE FROM access_key_hashes WHERE key_id = $1`, id); err != nil {
		return fmt.Errorf("deleting the token hashes of %s: %w", id, err)
	}
	return t.deleteDoc(store.AccessKeys, id)
}

func (t *txn) change(kind string) {
	if t.changed == nil {
		t.changed = make(map[string]bool)
	}
	t.changed[kind] = true
}

// finish queues a notification per kind changed (PostgreSQL delivers
// them when, and only if, the transaction commits) and sends the deferred
// writes.
func (t *txn) finish() error {
	if len(t.changed) > 0 {
		kinds := make([]string, 0, len(t.changed))
		for k := range t.changed {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		t.later(`SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k`, changesChannel, kinds)
	}
	return t.flush()
}

var _ manage.Store = (*DB)(nil)
