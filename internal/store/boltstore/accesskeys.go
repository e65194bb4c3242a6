package boltstore

import (
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// putAccessKey inserts or replaces an access key and its hash index.
func putAccessKey(tx *bolt.Tx, k *store.AccessKey) error {
	h, err := k.Hash()
	if err != nil {
		return err
	}
	keys, hashes := tx.Bucket(bucketAccessKeys), tx.Bucket(bucketKeyHashes)
	if old := keys.Get([]byte(k.ID)); old != nil {
		var prev store.AccessKey
		if err := json.Unmarshal(old, &prev); err == nil {
			for _, ph := range []string{prev.TokenHash, prev.PreviousTokenHash} {
				if ph != "" && ph != k.TokenHash && ph != k.PreviousTokenHash {
					if hh, err := store.DecodeHash(k.ID, ph); err == nil {
						_ = hashes.Delete(hh[:])
					}
				}
			}
		}
	}
	if err := hashes.Put(h[:], []byte(k.ID)); err != nil {
		return err
	}
	if ph, ok := k.PreviousHash(); ok {
		if err := hashes.Put(ph[:], []byte(k.ID)); err != nil {
			return err
		}
	}
	return putJSON(keys, []byte(k.ID), k)
}

// deleteAccessKey removes an access key and its hash index.
func deleteAccessKey(tx *bolt.Tx, id string) error {
	{
		keys := tx.Bucket(bucketAccessKeys)
		v := keys.Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		var k store.AccessKey
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("decoding access key %s: %w", id, err)
		}
		if h, err := k.Hash(); err == nil {
			if err := tx.Bucket(bucketKeyHashes).Delete(h[:]); err != nil {
				return err
			}
		}
		if h, ok := k.PreviousHash(); ok {
			if err := tx.Bucket(bucketKeyHashes).Delete(h[:]); err != nil {
				return err
			}
		}
		return keys.Delete([]byte(id))
	}
}
