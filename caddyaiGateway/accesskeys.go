package caddyaigateway

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// ErrNotFound is returned for resources that do not exist.
var ErrNotFound = store.ErrNotFound

// InvalidError is a management request the caller must fix (HTTP 400).
type InvalidError struct{ Field, Reason string }

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// AccessKeyInput is what a management client may set on an access key.
type AccessKeyInput struct {
	Name                     string
	Description              string
	Metadata                 string
	AccountID                string
	AccessKeyConfigurationID string
	Disabled                 bool
	ExpiresAt                *time.Time
}

func (in *AccessKeyInput) validate() error {
	switch {
	case len(in.Name) > 255:
		return &InvalidError{"name", "at most 255 characters"}
	case len(in.Description) > 4096:
		return &InvalidError{"description", "at most 4096 characters"}
	case len(in.Metadata) > 4096:
		return &InvalidError{"metadata", "at most 4096 characters"}
	case in.AccountID != "" && in.AccountID != DefaultAccountID:
		return &InvalidError{"accountId", fmt.Sprintf("unknown account %q", in.AccountID)}
	case in.AccessKeyConfigurationID != "":
		return &InvalidError{"accessKeyConfigurationId", fmt.Sprintf("unknown access key configuration %q", in.AccessKeyConfigurationID)}
	}
	return nil
}

// CreateAccessKey stores a new access key and returns it with its token.
// The token is not kept anywhere: this is the only time it exists.
func (a *App) CreateAccessKey(in AccessKeyInput) (*store.AccessKey, string, error) {
	if err := in.validate(); err != nil {
		return nil, "", err
	}
	if in.AccountID == "" {
		in.AccountID = DefaultAccountID
	}
	token := secrets.NewToken(secrets.AccessKeyPrefix)
	h := secrets.HashToken(token)
	now := time.Now().UTC()
	k := &store.AccessKey{
		ID:                       ids.New("ak"),
		Name:                     in.Name,
		Description:              in.Description,
		Metadata:                 in.Metadata,
		AccountID:                in.AccountID,
		AccessKeyConfigurationID: in.AccessKeyConfigurationID,
		Disabled:                 in.Disabled,
		ExpiresAt:                in.ExpiresAt,
		TokenHash:                hex.EncodeToString(h[:]),
		KeyRedacted:              secrets.Redact(token),
		CreatedAt:                now,
		UpdatedAt:                now,
	}
	if err := a.shared.db.PutAccessKey(k); err != nil {
		return nil, "", fmt.Errorf("storing access key: %w", err)
	}
	a.shared.updateKeys(func(m map[secrets.Hash]*store.AccessKey) { m[h] = k })
	return k, token, nil
}

// AccessKey returns one access key, with its latest use.
func (a *App) AccessKey(id string) (*store.AccessKey, error) {
	k, err := a.shared.db.AccessKey(id)
	if err != nil {
		return nil, err
	}
	a.withPendingLastUsed(k)
	return k, nil
}

// AccessKeys lists access keys in creation order.
func (a *App) AccessKeys() ([]*store.AccessKey, error) {
	all, err := a.shared.db.AccessKeys()
	if err != nil {
		return nil, err
	}
	for _, k := range all {
		a.withPendingLastUsed(k)
	}
	return all, nil
}

// DeleteAccessKey deletes an access key; its token stops working at once.
func (a *App) DeleteAccessKey(id string) error {
	k, err := a.shared.db.AccessKey(id)
	if err != nil {
		return err
	}
	if err := a.shared.db.DeleteAccessKey(id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return fmt.Errorf("deleting access key: %w", err)
	}
	if h, err := k.Hash(); err == nil {
		a.shared.updateKeys(func(m map[secrets.Hash]*store.AccessKey) { delete(m, h) })
	}
	a.shared.lastUsed.Delete(id)
	return nil
}

// withPendingLastUsed folds in a use not yet flushed to the store.
func (a *App) withPendingLastUsed(k *store.AccessKey) {
	if v, ok := a.shared.lastUsed.Load(k.ID); ok {
		t := time.Unix(0, v.(int64)).UTC()
		if k.LastUsed == nil || t.After(*k.LastUsed) {
			k.LastUsed = &t
		}
	}
}
