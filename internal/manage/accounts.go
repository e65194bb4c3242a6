package manage

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// DefaultAccountID is the account access keys belong to unless told
// otherwise.
const DefaultAccountID = "default"

func applyAccountPatch(p Patch, a *Account) error {
	err := errors.Join(Field(p, "name", &a.Name), Field(p, "description", &a.Description), Field(p, "metadata", &a.Metadata), p.Done())
	if err == nil {
		err = validateText(a.Name, a.Description, a.Metadata)
	}
	return err
}

// validateText checks the common name/description/metadata limits.
func validateText(name, description, metadata string) error {
	switch {
	case len(name) > 255:
		return &InvalidError{"name", "at most 255 characters"}
	case len(description) > 4096:
		return &InvalidError{"description", "at most 4096 characters"}
	case len(metadata) > 4096:
		return &InvalidError{"metadata", "at most 4096 characters"}
	}
	return nil
}

// CreateAccount adds an account.
func (s *Service) CreateAccount(p Patch) (*Account, error) {
	acct := &Account{}
	if err := applyAccountPatch(p, acct); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	acct.ID, acct.CreatedAt, acct.UpdatedAt = ids.New("acct"), now, now
	return acct, s.mutate(func(tx ResourceTx, _ *Snapshot) error { return tx.Put(store.Accounts, acct.ID, acct) })
}

// UpdateAccount applies a PATCH body.
func (s *Service) UpdateAccount(id string, p Patch) (*Account, error) {
	var out Account
	return &out, s.mutate(func(tx ResourceTx, _ *Snapshot) error {
		if err := tx.Get(store.Accounts, id, &out); err != nil {
			return err
		}
		if err := applyAccountPatch(p, &out); err != nil {
			return err
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.Accounts, id, &out)
	})
}

// Accounts lists accounts by id.
func (s *Service) Accounts() []*Account {
	return sortedByID(s.Snapshot().Accounts, func(x *Account) string { return x.ID })
}

// Account returns one account.
func (s *Service) Account(id string) (*Account, error) {
	if acct := s.Snapshot().Accounts[id]; acct != nil {
		return acct, nil
	}
	return nil, ErrNotFound
}

// DeleteAccount deletes an account nothing refers to and that holds no
// credits.
func (s *Service) DeleteAccount(id string) error {
	if id == DefaultAccountID {
		return &ConflictError{"the default account cannot be deleted"}
	}
	// Expiry writes in its own transaction, so it runs first: nothing
	// inside mutate's callback may open another (bbolt would deadlock,
	// and with it every metered request).
	ledger := s.ledger
	if s.Snapshot().Accounts[id] != nil {
		if err := ledger.ExpireIfDue(id); err != nil {
			return err
		}
	}
	return s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if ok, err := tx.Exists(store.Accounts, id); err != nil || !ok {
			return cmp.Or(err, ErrNotFound)
		}
		keys, err := all[store.AccessKey](tx, store.AccessKeys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.AccountID == id {
				return &ConflictError{fmt.Sprintf("account %s is used by access key %s", id, k.ID)}
			}
		}
		for _, pk := range sortedByID(st.ProviderKeys, func(x *ProviderKey) string { return x.ID }) {
			if pk.AccountID == id {
				return &ConflictError{fmt.Sprintf("account %s is used by provider key %s", id, pk.ID)}
			}
		}
		b, err := ledger.BalanceTx(tx.Ledger(), id)
		if err != nil {
			return err
		}
		if b.Balance != 0 || b.Held != 0 {
			return &ConflictError{fmt.Sprintf("account %s holds %s USD of credits (%s held); refund or adjust them to zero first", id, b.Balance, b.Held)}
		}
		return tx.Delete(store.Accounts, id)
	})
}
