// Package boltstore is the gateway's embedded storage engine: the whole
// state in one bbolt file. It implements the interfaces the rest of the
// gateway declares — manage.Store (resources, usage queries),
// credits.Store (the credit ledger) and the request path's usage recorder
// (Writer) — and is the only package that imports bbolt. It has no Caddy
// types; the ai app holds one open DB per file through a caddy.UsagePool
// so reloads share it.
package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Bucket names.
var (
	bucketMeta       = []byte("meta")
	bucketAccessKeys = []byte("access_keys")
	bucketKeyHashes  = []byte("access_key_hashes")
	bucketUsage      = []byte("usage_events")
)

// DB is an open gateway database.
type DB struct {
	bolt  *bolt.DB
	path  string
	batch *store.GroupCommit[*bolt.Tx] // settlements (BatchLedger)
}

// Open opens (creating if needed) the database at path. It waits at most
// a second for the file lock: a second process holding the file is an
// error to report, not a reason to hang.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating directory for %s: %w", path, err)
	}
	// NoFreelistSync: a commit writes its pages and meta, not the whole
	// freelist (which grows with the file); after a crash bbolt rebuilds
	// the freelist by scanning at open. Durability is unchanged (etcd's
	// default). The map freelist keeps allocation O(1) as the file grows.
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: the file is locked by another process", path)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketAccessKeys, bucketKeyHashes, bucketUsage} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("creating bucket %s: %w", name, err)
			}
		}
		if err := createResourceBuckets(tx); err != nil {
			return err
		}
		if err := createLedgerBuckets(tx); err != nil {
			return err
		}
		// events of an older layout are converted before anything else
		// writes, so the bucket never holds two formats
		if err := migrateUsage(tx); err != nil {
			return fmt.Errorf("converting stored usage events: %w", err)
		}
		// usage events journaled with settlements that a crash kept from
		// the usage writer
		return replayPending(tx)
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	return &DB{bolt: b, path: path, batch: store.NewGroupCommit(1024, func(_ context.Context, fn func(*bolt.Tx) error) error { return b.Update(fn) })}, nil
}

// Path is the file the DB lives in.
func (db *DB) Path() string { return db.path }

// Close closes the file.
// Close commits the settlements queued and closes the file.
func (db *DB) Close() error {
	db.batch.Close()
	return db.bolt.Close()
}

// Ping reports whether the file is open and readable.
func (db *DB) Ping(context.Context) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("the database has no meta bucket")
		}
		return nil
	})
}

// Meta reads a metadata value; ok is false when absent.
func (db *DB) Meta(key string) (val []byte, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get([]byte(key))
		if v != nil {
			val, ok = append([]byte(nil), v...), true
		}
		return nil
	})
	return val, ok, err
}

// SetMetaIfAbsent stores val under key unless a value exists, and returns
// the value now stored. Two processes racing to initialise agree on one.
func (db *DB) SetMetaIfAbsent(key string, val []byte) ([]byte, error) {
	var out []byte
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get([]byte(key)); v != nil {
			out = append([]byte(nil), v...)
			return nil
		}
		out = val
		return b.Put([]byte(key), val)
	})
	return out, err
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, buf)
}
