package manage

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Touch records a use of an access or provider key, written by
// FlushLastUsed.
func (s *State) Touch(id string, t time.Time) { s.lastUsed.Store(id, t.UnixNano()) }

// FlushLastUsed writes the last use of access keys (and forgets it: the
// store has it) and of provider keys (kept in memory too: the snapshot
// is not reloaded for it).
func (s *State) FlushLastUsed() {
	keys, providerKeys := map[string]time.Time{}, map[string]time.Time{}
	s.lastUsed.Range(func(k, v any) bool {
		id, t := k.(string), time.Unix(0, v.(int64))
		if strings.HasPrefix(id, "pk_") {
			providerKeys[id] = t
		} else {
			keys[id] = t
			s.lastUsed.CompareAndDelete(k, v)
		}
		return true
	})
	if err := touchAccessKeys(context.Background(), s.db, keys); err != nil {
		s.logger.Error("recording access key last use", zap.Error(err))
	}
	if len(providerKeys) == 0 {
		return
	}
	err := s.db.UpdateResources(context.Background(), func(tx ResourceTx) error {
		for id, t := range providerKeys {
			var pk ProviderKey
			if err := tx.Get(store.ProviderKeys, id, &pk); err != nil {
				continue // deleted meanwhile
			}
			if pk.LastUsed != nil && !t.After(*pk.LastUsed) {
				continue
			}
			t := t.UTC()
			pk.LastUsed = &t
			if err := tx.Put(store.ProviderKeys, id, &pk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.logger.Error("recording provider key last use", zap.Error(err))
	}
}
