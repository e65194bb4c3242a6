package caddyaigateway

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// state is an immutable snapshot of the management resources (everything
// but access keys, which have their own index). Every committed change
// publishes a new snapshot, so the next request sees it without a reload.
type state struct {
	version       uint64
	accounts      map[string]*Account
	configs       map[string]*AccessKeyConfiguration
	providers     []*CustomProvider // by id
	providerKeys  map[string]*ProviderKey
	apiKeys       map[secrets.Hash]*APIKey
	gateway       GatewayConfig
	virtualModels map[string]*VirtualModel // by lower-case name
}

const gatewayConfigKey = "gateway"

// loadState reads every resource bucket into a new snapshot.
func (s *shared) loadState() (*state, error) {
	st := &state{
		accounts: map[string]*Account{}, configs: map[string]*AccessKeyConfiguration{},
		providerKeys: map[string]*ProviderKey{}, apiKeys: map[secrets.Hash]*APIKey{},
		virtualModels: map[string]*VirtualModel{},
	}
	err := s.db.View(func(tx *store.Tx) error {
		accounts, err := store.All[Account](tx, store.Accounts)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			st.accounts[a.ID] = a
		}
		configs, err := store.All[AccessKeyConfiguration](tx, store.Configurations)
		if err != nil {
			return err
		}
		for _, c := range configs {
			st.configs[c.ID] = c
		}
		if st.providers, err = store.All[CustomProvider](tx, store.CustomProviders); err != nil {
			return err
		}
		pks, err := store.All[ProviderKey](tx, store.ProviderKeys)
		if err != nil {
			return err
		}
		for _, pk := range pks {
			v, err := s.key.Open(pk.Sealed, []byte(pk.ID))
			if err != nil {
				return fmt.Errorf("provider key %s: %w", pk.ID, err)
			}
			pk.value = string(v)
			st.providerKeys[pk.ID] = pk
		}
		apiKeys, err := store.All[APIKey](tx, store.APIKeys)
		if err != nil {
			return err
		}
		for _, k := range apiKeys {
			h, err := decodeTokenHash(k.ID, k.TokenHash)
			if err != nil {
				return err
			}
			st.apiKeys[h] = k
		}
		vms, err := store.All[VirtualModel](tx, store.VirtualModels)
		if err != nil {
			return err
		}
		for _, vm := range vms {
			st.virtualModels[strings.ToLower(vm.Name)] = vm
		}
		if err := tx.Get(store.Settings, gatewayConfigKey, &st.gateway); err != nil && err != store.ErrNotFound {
			return err
		}
		return nil
	})
	return st, err
}

// reloadState publishes a fresh snapshot; callers hold s.mu.
func (s *shared) reloadState() error {
	st, err := s.loadState()
	if err != nil {
		return fmt.Errorf("loading management resources: %w", err)
	}
	if old := s.state.Load(); old != nil {
		st.version = old.version + 1
	}
	s.state.Store(st)
	return nil
}

// snapshot returns the current resources.
func (s *shared) snapshot() *state { return s.state.Load() }

// mutate runs change in one bbolt transaction with the current snapshot
// for reference, then publishes the new snapshot. Changes are serialised.
func (s *shared) mutate(change func(tx *store.Tx, st *state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state.Load()
	if err := s.db.Update(func(tx *store.Tx) error { return change(tx, st) }); err != nil {
		return err
	}
	return s.reloadState()
}

// ensureDefaultAccount creates the `default` account on first start.
func (s *shared) ensureDefaultAccount() error {
	return s.db.Update(func(tx *store.Tx) error {
		if tx.Exists(store.Accounts, DefaultAccountID) {
			return nil
		}
		now := time.Now().UTC()
		return tx.Put(store.Accounts, DefaultAccountID, &Account{ID: DefaultAccountID, Name: "Default account", CreatedAt: now, UpdatedAt: now})
	})
}

func decodeTokenHash(id, hexHash string) (secrets.Hash, error) {
	k := store.AccessKey{ID: id, TokenHash: hexHash}
	return k.Hash()
}

// sortedByID returns the values of m ordered by id.
func sortedByID[T any](m map[string]*T, id func(*T) string) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out
}
