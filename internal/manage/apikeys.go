package manage

import (
	"encoding/hex"
	"errors"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func applyAPIKeyPatch(p Patch, k *APIKey) error {
	err := errors.Join(Field(p, "name", &k.Name), Field(p, "description", &k.Description), Field(p, "metadata", &k.Metadata), p.Done())
	if err == nil {
		err = validateText(k.Name, k.Description, k.Metadata)
	}
	return err
}

// CreateAPIKey adds a management API key and returns its token (shown
// once; only its hash is stored).
func (s *Service) CreateAPIKey(p Patch) (*APIKey, string, error) {
	k := &APIKey{}
	if err := applyAPIKeyPatch(p, k); err != nil {
		return nil, "", err
	}
	token := secrets.NewToken(secrets.ManagementKeyPrefix)
	h := secrets.HashToken(token)
	now := time.Now().UTC()
	k.ID, k.TokenHash, k.KeyRedacted, k.CreatedAt, k.UpdatedAt = ids.New("apik"), hex.EncodeToString(h[:]), secrets.Redact(token), now, now
	if err := s.mutate(func(tx ResourceTx, _ *Snapshot) error { return tx.Put(store.APIKeys, k.ID, k) }); err != nil {
		return nil, "", err
	}
	return k, token, nil
}

// UpdateAPIKey applies a PATCH body.
func (s *Service) UpdateAPIKey(id string, p Patch) (*APIKey, error) {
	var out APIKey
	return &out, s.mutate(func(tx ResourceTx, _ *Snapshot) error {
		if err := tx.Get(store.APIKeys, id, &out); err != nil {
			return err
		}
		if err := applyAPIKeyPatch(p, &out); err != nil {
			return err
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.APIKeys, id, &out)
	})
}

// APIKeys lists management API keys by id.
func (s *Service) APIKeys() []*APIKey {
	m := map[string]*APIKey{}
	for _, k := range s.Snapshot().APIKeys {
		m[k.ID] = k
	}
	return sortedByID(m, func(x *APIKey) string { return x.ID })
}

// APIKey returns one management API key.
func (s *Service) APIKey(id string) (*APIKey, error) {
	for _, k := range s.Snapshot().APIKeys {
		if k.ID == id {
			return k, nil
		}
	}
	return nil, ErrNotFound
}

// DeleteAPIKey revokes a management API key at once.
func (s *Service) DeleteAPIKey(id string) error {
	return s.mutate(func(tx ResourceTx, _ *Snapshot) error { return tx.Delete(store.APIKeys, id) })
}
