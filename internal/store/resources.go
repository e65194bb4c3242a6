package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Resource buckets: management resources other than access keys, stored
// as JSON by id. They are few and change rarely; the gateway keeps them in
// memory and reloads them after every change.
const (
	Accounts        = "accounts"
	Configurations  = "access_key_configurations"
	CustomProviders = "custom_providers"
	ProviderKeys    = "provider_keys"
	APIKeys         = "api_keys"
	VirtualModels   = "virtual_models"
	Settings        = "settings" // singletons such as the gateway config
)

var resourceBuckets = []string{Accounts, Configurations, CustomProviders, ProviderKeys, APIKeys, VirtualModels, Settings}

func createResourceBuckets(tx *bolt.Tx) error {
	for _, name := range resourceBuckets {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	return nil
}

// Tx is a read-write transaction over the resource buckets (and access
// keys), so a change and the checks it depends on (a referenced resource
// exists, nothing refers to a deleted one) commit together.
type Tx struct{ tx *bolt.Tx }

// Update runs fn in one read-write transaction.
func (db *DB) Update(fn func(*Tx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx}) })
}

// View runs fn in a read-only transaction; Put and Delete fail in it.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(&Tx{tx}) })
}

// Get decodes the record id of bucket into v; ErrNotFound if absent.
func (t *Tx) Get(bucket, id string, v any) error {
	raw := t.tx.Bucket([]byte(bucket)).Get([]byte(id))
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding %s/%s: %w", bucket, id, err)
	}
	return nil
}

// Exists reports whether bucket has a record id.
func (t *Tx) Exists(bucket, id string) bool {
	return t.tx.Bucket([]byte(bucket)).Get([]byte(id)) != nil
}

// Put stores v as the record id of bucket.
func (t *Tx) Put(bucket, id string, v any) error {
	return putJSON(t.tx.Bucket([]byte(bucket)), []byte(id), v)
}

// Delete removes a record; ErrNotFound if absent.
func (t *Tx) Delete(bucket, id string) error {
	b := t.tx.Bucket([]byte(bucket))
	if b.Get([]byte(id)) == nil {
		return ErrNotFound
	}
	return b.Delete([]byte(id))
}

// ForEach calls fn for every record of bucket in id order.
func (t *Tx) ForEach(bucket string, fn func(id string, raw []byte) error) error {
	return t.tx.Bucket([]byte(bucket)).ForEach(func(k, v []byte) error { return fn(string(k), v) })
}

// All decodes every record of a bucket, in id order, with newT making an
// empty record.
func All[T any](t *Tx, bucket string) ([]*T, error) {
	var out []*T
	err := t.ForEach(bucket, func(id string, raw []byte) error {
		v := new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("decoding %s/%s: %w", bucket, id, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// AccessKeysTx lists access keys inside a transaction (for reference
// checks).
func (t *Tx) AccessKeys() ([]*AccessKey, error) { return All[AccessKey](t, string(bucketAccessKeys)) }

// PutAccessKey stores an access key and its hash index inside a
// transaction.
func (t *Tx) PutAccessKey(k *AccessKey) error { return putAccessKey(t.tx, k) }

// AccessKeysBucket is the bucket of access keys (for Tx.Get).
const AccessKeysBucket = "access_keys"

// DeleteAccessKey removes an access key and its hash index inside a
// transaction.
func (t *Tx) DeleteAccessKey(id string) error { return deleteAccessKey(t.tx, id) }

// Batch runs fn in a transaction shared with other concurrent Batch
// calls (bbolt group commit): callers wait for the commit that includes
// their change, but share its fsync. fn may run more than once if a
// batch fails, so it must only depend on the transaction.
func (db *DB) Batch(fn func(*Tx) error) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error { return fn(&Tx{tx}) })
}

// PutRaw stores raw bytes.
func (t *Tx) PutRaw(bucket, key string, val []byte) error {
	return t.tx.Bucket([]byte(bucket)).Put([]byte(key), val)
}

// GetRaw returns the raw bytes of a record (nil if absent); valid only in
// the transaction.
func (t *Tx) GetRaw(bucket, key string) []byte {
	return t.tx.Bucket([]byte(bucket)).Get([]byte(key))
}

// Scan visits the records of bucket whose key starts with prefix, in key
// order or reversed, starting after `after` (exclusive; "" for the
// start). fn returns false to stop.
func (t *Tx) Scan(bucket, prefix string, reverse bool, after string, fn func(key string, raw []byte) bool) error {
	c := t.tx.Bucket([]byte(bucket)).Cursor()
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
				return nil
			}
			if !reverse && string(k) > prefix {
				return nil
			}
			continue
		}
		if !fn(string(k), v) {
			return nil
		}
	}
	return nil
}

func next(c *bolt.Cursor, reverse bool) ([]byte, []byte) {
	if reverse {
		return c.Prev()
	}
	return c.Next()
}

// EnsureBuckets creates buckets a package outside the store owns (the
// credit ledger).
func (db *DB) EnsureBuckets(names ...string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists([]byte(n)); err != nil {
				return fmt.Errorf("creating bucket %s: %w", n, err)
			}
		}
		return nil
	})
}
