package boltstore

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Resources live in one bucket per kind (store.Kinds), as JSON by id;
// access keys also have an index of their token hashes
// (access_key_hashes: hash → id).

var _ manage.Store = (*DB)(nil)

// UpdateResources runs fn in one read-write transaction (manage.Store).
func (db *DB) UpdateResources(_ context.Context, fn func(manage.ResourceTx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(resourceTx{tx}) })
}

// ViewResources runs fn in a read-only transaction (manage.Store).
func (db *DB) ViewResources(_ context.Context, fn func(manage.ResourceTx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(resourceTx{tx}) })
}

// resourceTx is a transaction over the resource buckets.
type resourceTx struct{ tx *bolt.Tx }

func (t resourceTx) bucket(kind string) (*bolt.Bucket, error) {
	b := t.tx.Bucket([]byte(kind))
	if b == nil {
		return nil, fmt.Errorf("unknown resource kind %q", kind)
	}
	return b, nil
}

func (t resourceTx) Get(kind, id string, v any) error {
	b, err := t.bucket(kind)
	if err != nil {
		return err
	}
	raw := b.Get([]byte(id))
	if raw == nil {
		return store.ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding %s/%s: %w", kind, id, err)
	}
	return nil
}

func (t resourceTx) Exists(kind, id string) (bool, error) {
	b, err := t.bucket(kind)
	if err != nil {
		return false, err
	}
	return b.Get([]byte(id)) != nil, nil
}

func (t resourceTx) Put(kind, id string, v any) error {
	if kind == store.AccessKeys {
		return fmt.Errorf("access keys are written with PutAccessKey")
	}
	b, err := t.bucket(kind)
	if err != nil {
		return err
	}
	return putJSON(b, []byte(id), v)
}

func (t resourceTx) Delete(kind, id string) error {
	if kind == store.AccessKeys {
		return fmt.Errorf("access keys are deleted with DeleteAccessKey")
	}
	b, err := t.bucket(kind)
	if err != nil {
		return err
	}
	if b.Get([]byte(id)) == nil {
		return store.ErrNotFound
	}
	return b.Delete([]byte(id))
}

func (t resourceTx) List(kind string, fn func(id string, doc []byte) error) error {
	b, err := t.bucket(kind)
	if err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
}

func (t resourceTx) PutAccessKey(k *store.AccessKey) error { return putAccessKey(t.tx, k) }

func (t resourceTx) DeleteAccessKey(id string) error { return deleteAccessKey(t.tx, id) }

func (t resourceTx) Ledger() credits.Tx { return ledgerTx(t) }

func createResourceBuckets(tx *bolt.Tx) error {
	for _, name := range store.Kinds {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	return nil
}

// scan visits the records of bucket whose key starts with prefix, in key
// order or reversed, starting after `after` (exclusive; "" for the
// start). fn returns false to stop.
func scan(b *bolt.Bucket, prefix string, reverse bool, after string, fn func(key, raw []byte) bool) {
	c := b.Cursor()
	p := []byte(prefix)
	var k, v []byte
	switch {
	case !reverse && after != "":
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	case !reverse:
		k, v = c.Seek(p)
	case after != "":
		k, v = c.Seek([]byte(after))
		if k == nil {
			k, v = c.Last()
		}
		for k != nil && string(k) >= after {
			k, v = c.Prev()
		}
	default:
		// position at the last key with the prefix
		k, _ = c.Seek(append(append([]byte{}, p...), 0xff))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil; k, v = next(c, reverse) {
		if len(k) < len(p) || string(k[:len(p)]) != prefix {
			if reverse && string(k) < prefix {
				return
			}
			if !reverse && string(k) > prefix {
				return
			}
			continue
		}
		if !fn(k, v) {
			return
		}
	}
}

func next(c *bolt.Cursor, reverse bool) ([]byte, []byte) {
	if reverse {
		return c.Prev()
	}
	return c.Next()
}
