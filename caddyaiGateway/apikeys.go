package caddyaigateway

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
func (a *App) CreateAPIKey(p Patch) (*APIKey, string, error) {
	k := &APIKey{}
	if err := applyAPIKeyPatch(p, k); err != nil {
		return nil, "", err
	}
	token := secrets.NewToken(secrets.ManagementKeyPrefix)
	h := secrets.HashToken(token)
	now := time.Now().UTC()
	k.ID, k.TokenHash, k.KeyRedacted, k.CreatedAt, k.UpdatedAt = ids.New("apik"), hex.EncodeToString(h[:]), secrets.Redact(token), now, now
	if err := a.shared.mutate(func(tx *store.Tx, _ *state) error { return tx.Put(store.APIKeys, k.ID, k) }); err != nil {
		return nil, "", err
	}
	return k, token, nil
}

// UpdateAPIKey applies a PATCH body.
func (a *App) UpdateAPIKey(id string, p Patch) (*APIKey, error) {
	var out APIKey
	return &out, a.shared.mutate(func(tx *store.Tx, _ *state) error {
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
func (a *App) APIKeys() []*APIKey {
	m := map[string]*APIKey{}
	for _, k := range a.shared.snapshot().apiKeys {
		m[k.ID] = k
	}
	return sortedByID(m, func(x *APIKey) string { return x.ID })
}

// APIKey returns one management API key.
func (a *App) APIKey(id string) (*APIKey, error) {
	for _, k := range a.shared.snapshot().apiKeys {
		if k.ID == id {
			return k, nil
		}
	}
	return nil, ErrNotFound
}

// DeleteAPIKey revokes a management API key at once.
func (a *App) DeleteAPIKey(id string) error {
	return a.shared.mutate(func(tx *store.Tx, _ *state) error { return tx.Delete(store.APIKeys, id) })
}
