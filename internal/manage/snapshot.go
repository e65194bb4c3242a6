package manage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Snapshot is an immutable snapshot of the management resources
// (everything but access keys, which have their own index). Every
// committed change publishes a new snapshot, so the next request sees it
// without a reload. Readers must not modify it.
type Snapshot struct {
	Version       uint64
	Accounts      map[string]*Account
	Configs       map[string]*AccessKeyConfiguration
	Providers     []*CustomProvider // by id
	ProviderKeys  map[string]*ProviderKey
	APIKeys       map[secrets.Hash]*APIKey
	Gateway       GatewayConfig
	VirtualModels map[string]*VirtualModel // by lower-case name
	// FirewallPolicies are the API's firewall policies by id, each
	// compiled once per stored version (FirewallPolicy.Compiled).
	FirewallPolicies map[string]*FirewallPolicy
}

const gatewayConfigKey = "gateway"

// loadState reads every resource bucket into a new snapshot.
func (s *State) loadState() (*Snapshot, error) {
	st := &Snapshot{
		Accounts: map[string]*Account{}, Configs: map[string]*AccessKeyConfiguration{},
		ProviderKeys: map[string]*ProviderKey{}, APIKeys: map[secrets.Hash]*APIKey{},
		VirtualModels: map[string]*VirtualModel{}, FirewallPolicies: map[string]*FirewallPolicy{},
	}
	err := s.db.ViewResources(context.Background(), func(tx ResourceTx) error {
		accounts, err := all[Account](tx, store.Accounts)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			st.Accounts[a.ID] = a
		}
		configs, err := all[AccessKeyConfiguration](tx, store.Configurations)
		if err != nil {
			return err
		}
		for _, c := range configs {
			st.Configs[c.ID] = c
		}
		if st.Providers, err = all[CustomProvider](tx, store.CustomProviders); err != nil {
			return err
		}
		pks, err := all[ProviderKey](tx, store.ProviderKeys)
		if err != nil {
			return err
		}
		for _, pk := range pks {
			v, err := s.key.Open(pk.Sealed, []byte(pk.ID))
			if err != nil {
				return fmt.Errorf("provider key %s: %w", pk.ID, err)
			}
			pk.value = string(v)
			st.ProviderKeys[pk.ID] = pk
		}
		apiKeys, err := all[APIKey](tx, store.APIKeys)
		if err != nil {
			return err
		}
		for _, k := range apiKeys {
			h, err := decodeTokenHash(k.ID, k.TokenHash)
			if err != nil {
				return err
			}
			st.APIKeys[h] = k
		}
		vms, err := all[VirtualModel](tx, store.VirtualModels)
		if err != nil {
			return err
		}
		for _, vm := range vms {
			st.VirtualModels[strings.ToLower(vm.Name)] = vm
		}
		fps, err := all[FirewallPolicy](tx, store.FirewallPolicies)
		if err != nil {
			return err
		}
		for _, fp := range fps {
			st.FirewallPolicies[fp.ID] = fp
		}
		if err := tx.Get(store.Settings, gatewayConfigKey, &st.Gateway); err != nil && err != store.ErrNotFound {
			return err
		}
		return nil
	})
	return st, err
}

// reloadState publishes a fresh snapshot; callers hold s.mu.
func (s *State) reloadState() error {
	st, err := s.loadState()
	if err != nil {
		return fmt.Errorf("loading management resources: %w", err)
	}
	old := s.snap.Load()
	if old != nil {
		st.Version = old.Version + 1
	}
	s.compileFirewallPolicies(st, old)
	s.snap.Store(st)
	return nil
}

// Snapshot returns the current resources.
func (s *State) Snapshot() *Snapshot { return s.snap.Load() }

// mutate runs change in one bbolt transaction with the current snapshot
// for reference, then publishes the new snapshot. Changes are serialised.
func (s *State) mutate(change func(tx ResourceTx, st *Snapshot) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.snap.Load()
	if err := s.db.UpdateResources(context.Background(), func(tx ResourceTx) error { return change(tx, st) }); err != nil {
		return err
	}
	return s.reloadState()
}

// ensureDefaultAccount creates the `default` account on first start.
func (s *State) ensureDefaultAccount() error {
	return s.db.UpdateResources(context.Background(), func(tx ResourceTx) error {
		if ok, err := tx.Exists(store.Accounts, DefaultAccountID); err != nil || ok {
			return err
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

// Reload reads every resource and access key from the store again and
// publishes them: another node changed the shared store (a change
// notification, or the periodic resync that heals a missed one).
func (s *State) Reload() error {
	s.mu.Lock()
	err := s.reloadState()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.reloadKeys()
}
