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
