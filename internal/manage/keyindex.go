package manage

import (
	"context"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// reloadKeys rebuilds the in-memory access key index from the store.
func (s *State) reloadKeys() error {
	// keysMu across the read: a local change that commits meanwhile is
	// applied to the index after this one is published, never lost under it
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	keys, err := s.accessKeys()
	if err != nil {
		return fmt.Errorf("loading access keys: %w", err)
	}
	m := make(map[secrets.Hash]*store.AccessKey, len(keys))
	for _, k := range keys {
		if err := indexKey(m, k); err != nil {
			return err
		}
	}
	s.keys.Store(&m)
	return nil
}

// indexKey adds k to an index under its token hash and, during a
// rotation's grace period, its previous token's hash.
func indexKey(m map[secrets.Hash]*store.AccessKey, k *store.AccessKey) error {
	h, err := k.Hash()
	if err != nil {
		return err
	}
	m[h] = k
	if ph, ok := k.PreviousHash(); ok {
		m[ph] = k
	}
	return nil
}

// unindexKey removes every hash of k from an index.
func unindexKey(m map[secrets.Hash]*store.AccessKey, k *store.AccessKey) {
	if h, err := k.Hash(); err == nil {
		delete(m, h)
	}
	if ph, ok := k.PreviousHash(); ok {
		delete(m, ph)
	}
}

// LookupKey finds the access key for a token hash. A previous token
// (replaced by a rotation) is valid until its grace period ends.
func (s *State) LookupKey(h secrets.Hash, now time.Time) *store.AccessKey {
	k := (*s.keys.Load())[h]
	if k == nil {
		return nil
	}
	if ph, ok := k.PreviousHash(); ok && ph == h {
		if k.PreviousValidUntil == nil || !now.Before(*k.PreviousValidUntil) {
			return nil
		}
	}
	return k
}

// updateKeys applies change to a copy of the index and publishes it. It
// runs after the store committed, so memory never runs ahead of disk.
func (s *State) updateKeys(change func(m map[secrets.Hash]*store.AccessKey)) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	old := *s.keys.Load()
	m := make(map[secrets.Hash]*store.AccessKey, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	change(m)
	s.keys.Store(&m)
}

// accessKeys reads every access key from the store, in id order.
func (s *State) accessKeys() (keys []*store.AccessKey, err error) {
	err = s.db.ViewResources(context.Background(), func(tx ResourceTx) error {
		keys, err = all[store.AccessKey](tx, store.AccessKeys)
		return err
	})
	return keys, err
}
