package store

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

// AccessKey is a gateway access key as stored. The token itself is never
// stored: only its SHA-256 hash.
type AccessKey struct {
	ID                       string     `json:"id"`
	Name                     string     `json:"name"`
	Description              string     `json:"description"`
	Metadata                 string     `json:"metadata"`
	AccountID                string     `json:"accountId"`
	AccessKeyConfigurationID string     `json:"accessKeyConfigurationId,omitempty"`
	Disabled                 bool       `json:"disabled"`
	ExpiresAt                *time.Time `json:"expiresAt,omitempty"`
	TokenHash                string     `json:"tokenHash"` // hex SHA-256
	// After a rotation the previous token keeps working until
	// PreviousValidUntil (the grace period).
	PreviousTokenHash  string     `json:"previousTokenHash,omitempty"`
	PreviousValidUntil *time.Time `json:"previousValidUntil,omitempty"`
	KeyRedacted        string     `json:"keyRedacted"`
	LastUsed           *time.Time `json:"lastUsed,omitempty"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
}

// Hash returns the decoded token hash.
func (k *AccessKey) Hash() (secrets.Hash, error) { return decodeHash(k.ID, k.TokenHash) }

// PreviousHash returns the hash of the token replaced by the last
// rotation, if any.
func (k *AccessKey) PreviousHash() (secrets.Hash, bool) {
	if k.PreviousTokenHash == "" {
		return secrets.Hash{}, false
	}
	h, err := decodeHash(k.ID, k.PreviousTokenHash)
	return h, err == nil
}

func decodeHash(id, hexHash string) (secrets.Hash, error) {
	var h secrets.Hash
	b, err := hex.DecodeString(hexHash)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%s: malformed token hash", id)
	}
	copy(h[:], b)
	return h, nil
}

// PutAccessKey inserts or replaces an access key and its hash index in one
// transaction.
func (db *DB) PutAccessKey(k *AccessKey) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return putAccessKey(tx, k) })
}

func putAccessKey(tx *bolt.Tx, k *AccessKey) error {
	h, err := k.Hash()
	if err != nil {
		return err
	}
	keys, hashes := tx.Bucket(bucketAccessKeys), tx.Bucket(bucketKeyHashes)
	if old := keys.Get([]byte(k.ID)); old != nil {
		var prev AccessKey
		if err := json.Unmarshal(old, &prev); err == nil {
			for _, ph := range []string{prev.TokenHash, prev.PreviousTokenHash} {
				if ph != "" && ph != k.TokenHash && ph != k.PreviousTokenHash {
					if hh, err := decodeHash(k.ID, ph); err == nil {
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

// AccessKey returns one access key.
func (db *DB) AccessKey(id string) (*AccessKey, error) {
	var k *AccessKey
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAccessKeys).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		k = new(AccessKey)
		return json.Unmarshal(v, k)
	})
	return k, err
}

// DeleteAccessKey removes an access key and its hash index.
func (db *DB) DeleteAccessKey(id string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return deleteAccessKey(tx, id) })
}

func deleteAccessKey(tx *bolt.Tx, id string) error {
	{
		keys := tx.Bucket(bucketAccessKeys)
		v := keys.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var k AccessKey
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

// AccessKeys returns every access key in id (creation) order.
func (db *DB) AccessKeys() ([]*AccessKey, error) {
	var out []*AccessKey
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccessKeys).ForEach(func(_, v []byte) error {
			k := new(AccessKey)
			if err := json.Unmarshal(v, k); err != nil {
				return fmt.Errorf("decoding access key: %w", err)
			}
			out = append(out, k)
			return nil
		})
	})
	return out, err
}

// TouchAccessKeys records last-used times for several keys in one
// transaction (the gateway batches them instead of writing per request).
func (db *DB) TouchAccessKeys(lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		keys := tx.Bucket(bucketAccessKeys)
		for id, t := range lastUsed {
			v := keys.Get([]byte(id))
			if v == nil {
				continue // deleted meanwhile
			}
			var k AccessKey
			if err := json.Unmarshal(v, &k); err != nil {
				return err
			}
			if k.LastUsed != nil && !t.After(*k.LastUsed) {
				continue
			}
			t := t.UTC()
			k.LastUsed = &t
			if err := putJSON(keys, []byte(id), &k); err != nil {
				return err
			}
		}
		return nil
	})
}
