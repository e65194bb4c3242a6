package manage

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// providerKeyInput is what a client may set; value is write-only.
type providerKeyInput struct {
	value    string
	hasValue bool
}

func (s *Service) applyProviderKeyPatch(p Patch, k *ProviderKey, creating bool) (providerKeyInput, error) {
	var in providerKeyInput
	in.hasValue = p.Has("value")
	errs := []error{Field(p, "name", &k.Name), Field(p, "description", &k.Description), Field(p, "value", &in.value)}
	if creating {
		errs = append(errs, Field(p, "providerId", &k.ProviderID), Field(p, "accountId", &k.AccountID))
	} else if p.Has("providerId") {
		errs = append(errs, &InvalidError{"providerId", "cannot be changed; create a new provider key"})
	} else if in.hasValue {
		errs = append(errs, &InvalidError{"value", "use POST /ai/provider-keys/{id}/rotate to replace the secret"})
	}
	errs = append(errs, p.Done())
	if err := errors.Join(errs...); err != nil {
		return in, err
	}
	k.ProviderID = strings.ToLower(k.ProviderID)
	if err := validateText(k.Name, k.Description, ""); err != nil {
		return in, err
	}
	if creating {
		if k.ProviderID == "" {
			return in, &InvalidError{"providerId", "required"}
		}
		if !s.env.ConfiguredProvider(k.ProviderID) && findCustomProvider(s.Snapshot(), k.ProviderID) == nil {
			return in, &InvalidError{"providerId", fmt.Sprintf("unknown provider %q", k.ProviderID)}
		}
		if strings.TrimSpace(in.value) == "" {
			return in, &InvalidError{"value", "required"}
		}
	}
	return in, nil
}

func (s *Service) seal(k *ProviderKey, value string) error {
	sealed, err := s.key.Seal([]byte(value), []byte(k.ID))
	if err != nil {
		return fmt.Errorf("encrypting provider key: %w", err)
	}
	k.Sealed = sealed
	k.KeyRedacted = secrets.Redact(value)
	return nil
}

// CreateProviderKey stores a provider key, encrypted under the secret key.
func (s *Service) CreateProviderKey(p Patch) (*ProviderKey, error) {
	k := &ProviderKey{AccountID: DefaultAccountID}
	in, err := s.applyProviderKeyPatch(p, k, true)
	if err != nil {
		return nil, err
	}
	if k.AccountID == "" {
		k.AccountID = DefaultAccountID
	}
	now := time.Now().UTC()
	k.ID, k.CreatedAt, k.UpdatedAt = ids.New("pk"), now, now
	if err := s.seal(k, strings.TrimSpace(in.value)); err != nil {
		return nil, err
	}
	return k, s.mutate(func(tx ResourceTx, _ *Snapshot) error {
		if ok, err := tx.Exists(store.Accounts, k.AccountID); err != nil || !ok {
			return cmp.Or(err, error(&InvalidError{"accountId", fmt.Sprintf("no account %q", k.AccountID)}))
		}
		return tx.Put(store.ProviderKeys, k.ID, k)
	})
}

// UpdateProviderKey applies a PATCH body (name, description).
func (s *Service) UpdateProviderKey(id string, p Patch) (*ProviderKey, error) {
	var out ProviderKey
	return &out, s.mutate(func(tx ResourceTx, _ *Snapshot) error {
		if err := tx.Get(store.ProviderKeys, id, &out); err != nil {
			return err
		}
		if _, err := s.applyProviderKeyPatch(p, &out, false); err != nil {
			return err
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.ProviderKeys, id, &out)
	})
}

// RotateProviderKey replaces the secret and keeps the id, so routing
// rules that name it keep working.
func (s *Service) RotateProviderKey(id string, p Patch) (*ProviderKey, error) {
	var value string
	if err := errors.Join(Field(p, "value", &value), p.Done()); err != nil {
		return nil, err
	}
	if strings.TrimSpace(value) == "" {
		return nil, &InvalidError{"value", "required"}
	}
	var out ProviderKey
	return &out, s.mutate(func(tx ResourceTx, _ *Snapshot) error {
		if err := tx.Get(store.ProviderKeys, id, &out); err != nil {
			return err
		}
		if err := s.seal(&out, strings.TrimSpace(value)); err != nil {
			return err
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.ProviderKeys, id, &out)
	})
}

// ProviderKeys lists provider keys by id.
func (s *Service) ProviderKeys() []*ProviderKey {
	keys := sortedByID(s.Snapshot().ProviderKeys, func(x *ProviderKey) string { return x.ID })
	for i, k := range keys {
		keys[i] = s.withProviderKeyLastUsed(k)
	}
	return keys
}

// ProviderKey returns one provider key.
func (s *Service) ProviderKey(id string) (*ProviderKey, error) {
	if k := s.Snapshot().ProviderKeys[id]; k != nil {
		return s.withProviderKeyLastUsed(k), nil
	}
	return nil, ErrNotFound
}

func (s *Service) withProviderKeyLastUsed(k *ProviderKey) *ProviderKey {
	if v, ok := s.lastUsed.Load(k.ID); ok {
		c := *k
		t := time.Unix(0, v.(int64)).UTC()
		c.LastUsed = &t
		return &c
	}
	return k
}

// DeleteProviderKey deletes a provider key no routing rule names.
func (s *Service) DeleteProviderKey(id string) error {
	return s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if ok, err := tx.Exists(store.ProviderKeys, id); err != nil || !ok {
			return cmp.Or(err, ErrNotFound)
		}
		for _, c := range sortedByID(st.Configs, func(x *AccessKeyConfiguration) string { return x.ID }) {
			for _, r := range c.Router.Rules {
				for _, s := range r.Steps {
					for _, sk := range s.Keys {
						if sk.ID == id {
							return &ConflictError{fmt.Sprintf("provider key %s is used by access key configuration %s", id, c.ID)}
						}
					}
				}
			}
		}
		return tx.Delete(store.ProviderKeys, id)
	})
}
