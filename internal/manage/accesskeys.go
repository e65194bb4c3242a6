package manage

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// applyAccessKeyPatch applies the client-settable fields.
func applyAccessKeyPatch(p Patch, k *store.AccessKey) error {
	return errors.Join(
		Field(p, "name", &k.Name),
		Field(p, "description", &k.Description),
		Field(p, "metadata", &k.Metadata),
		Field(p, "accountId", &k.AccountID),
		Field(p, "accessKeyConfigurationId", &k.AccessKeyConfigurationID),
		Field(p, "disabled", &k.Disabled),
		Field(p, "expiresAt", &k.ExpiresAt),
		p.Done(),
	)
}

// validateAccessKey checks an access key against limits and references.
func validateAccessKey(tx ResourceTx, k *store.AccessKey, expiresChanged bool) error {
	if err := validateText(k.Name, k.Description, k.Metadata); err != nil {
		return err
	}
	if ok, err := tx.Exists(store.Accounts, k.AccountID); err != nil || !ok {
		return cmp.Or(err, error(&InvalidError{"accountId", fmt.Sprintf("no account %q", k.AccountID)}))
	}
	if k.AccessKeyConfigurationID != "" {
		if ok, err := tx.Exists(store.Configurations, k.AccessKeyConfigurationID); err != nil || !ok {
			return cmp.Or(err, error(&InvalidError{"accessKeyConfigurationId", fmt.Sprintf("no access key configuration %q", k.AccessKeyConfigurationID)}))
		}
	}
	switch {
	case expiresChanged && k.ExpiresAt != nil && !k.ExpiresAt.After(time.Now()):
		return &InvalidError{"expiresAt", "must be in the future"}
	}
	return nil
}

// CreateAccessKey stores a new access key from a create body and returns
// it with its token. The token is not kept anywhere: this is the only time
// it exists.
func (s *Service) CreateAccessKey(p Patch) (*store.AccessKey, string, error) {
	k := &store.AccessKey{AccountID: DefaultAccountID}
	if err := applyAccessKeyPatch(p, k); err != nil {
		return nil, "", err
	}
	if k.AccountID == "" {
		k.AccountID = DefaultAccountID
	}
	token := secrets.NewToken(secrets.AccessKeyPrefix)
	h := secrets.HashToken(token)
	now := time.Now().UTC()
	k.ID = ids.New("ak")
	k.TokenHash = hex.EncodeToString(h[:])
	k.KeyRedacted = secrets.Redact(token)
	k.CreatedAt, k.UpdatedAt = now, now
	err := s.writeAccessKey(func(tx ResourceTx) (*store.AccessKey, *store.AccessKey, error) {
		if err := validateAccessKey(tx, k, true); err != nil {
			return nil, nil, err
		}
		return nil, k, tx.PutAccessKey(k)
	})
	if err != nil {
		return nil, "", err
	}
	return k, token, nil
}

// UpdateAccessKey applies a PATCH body.
func (s *Service) UpdateAccessKey(id string, p Patch) (*store.AccessKey, error) {
	var out *store.AccessKey
	err := s.writeAccessKey(func(tx ResourceTx) (*store.AccessKey, *store.AccessKey, error) {
		var old store.AccessKey
		if err := tx.Get(store.AccessKeys, id, &old); err != nil {
			return nil, nil, err
		}
		k := old
		if err := applyAccessKeyPatch(p, &k); err != nil {
			return nil, nil, err
		}
		if k.AccountID == "" {
			k.AccountID = DefaultAccountID
		}
		if err := validateAccessKey(tx, &k, !timeEqual(k.ExpiresAt, old.ExpiresAt)); err != nil {
			return nil, nil, err
		}
		k.UpdatedAt = time.Now().UTC()
		out = &k
		return &old, &k, tx.PutAccessKey(&k)
	})
	if err != nil {
		return nil, err
	}
	s.withPendingLastUsed(out)
	return out, nil
}

// RotateAccessKey issues a new token for the key. The old token keeps
// working for grace (0: it stops at once).
func (s *Service) RotateAccessKey(id string, grace time.Duration) (*store.AccessKey, string, error) {
	if grace < 0 || grace > 30*24*time.Hour {
		return nil, "", &InvalidError{"gracePeriod", "must be between 0 and 720h"}
	}
	token := secrets.NewToken(secrets.AccessKeyPrefix)
	h := secrets.HashToken(token)
	var out *store.AccessKey
	err := s.writeAccessKey(func(tx ResourceTx) (*store.AccessKey, *store.AccessKey, error) {
		var old store.AccessKey
		if err := tx.Get(store.AccessKeys, id, &old); err != nil {
			return nil, nil, err
		}
		k := old
		now := time.Now().UTC()
		k.PreviousTokenHash, k.PreviousValidUntil = "", nil
		if grace > 0 {
			until := now.Add(grace)
			k.PreviousTokenHash, k.PreviousValidUntil = old.TokenHash, &until
		}
		k.TokenHash = hex.EncodeToString(h[:])
		k.KeyRedacted = secrets.Redact(token)
		k.UpdatedAt = now
		out = &k
		return &old, &k, tx.PutAccessKey(&k)
	})
	if err != nil {
		return nil, "", err
	}
	return out, token, nil
}

// AccessKey returns one access key, with its latest use.
func (s *Service) AccessKey(id string) (*store.AccessKey, error) {
	k := new(store.AccessKey)
	err := s.db.ViewResources(context.Background(), func(tx ResourceTx) error { return tx.Get(store.AccessKeys, id, k) })
	if err != nil {
		return nil, err
	}
	s.withPendingLastUsed(k)
	return k, nil
}

// AccessKeys lists access keys in creation order.
func (s *Service) AccessKeys() ([]*store.AccessKey, error) {
	keys, err := s.accessKeys()
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		s.withPendingLastUsed(k)
	}
	return keys, nil
}

// DeleteAccessKey deletes an access key; its token stops working at once.
func (s *Service) DeleteAccessKey(id string) error {
	err := s.writeAccessKey(func(tx ResourceTx) (*store.AccessKey, *store.AccessKey, error) {
		var old store.AccessKey
		if err := tx.Get(store.AccessKeys, id, &old); err != nil {
			return nil, nil, err
		}
		return &old, nil, tx.DeleteAccessKey(id)
	})
	if err != nil {
		return err
	}
	s.lastUsed.Delete(id)
	return nil
}

// writeAccessKey runs change in a transaction and then moves the key in
// the in-memory index from its old hashes to its new ones (nil: none).
func (s *State) writeAccessKey(change func(tx ResourceTx) (old, updated *store.AccessKey, err error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var old, updated *store.AccessKey
	err := s.db.UpdateResources(context.Background(), func(tx ResourceTx) error {
		var err error
		old, updated, err = change(tx)
		return err
	})
	if err != nil {
		return err
	}
	var indexErr error
	s.updateKeys(func(m map[secrets.Hash]*store.AccessKey) {
		if old != nil {
			unindexKey(m, old)
		}
		if updated != nil {
			indexErr = indexKey(m, updated)
		}
	})
	return indexErr
}

// withPendingLastUsed folds in a use not yet flushed to the store.
func (s *Service) withPendingLastUsed(k *store.AccessKey) {
	if v, ok := s.lastUsed.Load(k.ID); ok {
		t := time.Unix(0, v.(int64)).UTC()
		if k.LastUsed == nil || t.After(*k.LastUsed) {
			k.LastUsed = &t
		}
	}
}

func timeEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
