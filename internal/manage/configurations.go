package manage

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func (s *Service) applyConfigurationPatch(p Patch, c *AccessKeyConfiguration, st *Snapshot) error {
	if err := errors.Join(
		Field(p, "name", &c.Name), Field(p, "description", &c.Description), Field(p, "metadata", &c.Metadata),
		Field(p, "access", &c.Access), Field(p, "router", &c.Router), Field(p, "modelSelection", &c.ModelSelection),
		Field(p, "limits", &c.Limits), Field(p, "firewallPolicyId", &c.FirewallPolicyID), p.Done(),
	); err != nil {
		return err
	}
	if err := validateText(c.Name, c.Description, c.Metadata); err != nil {
		return err
	}
	if c.Access.Providers != nil && c.Access.Providers.Allow != nil {
		for i, pid := range *c.Access.Providers.Allow {
			if !s.env.Provider(st, pid) {
				return &InvalidError{fmt.Sprintf("access.providers.allow[%d]", i), fmt.Sprintf("unknown provider %q", pid)}
			}
		}
	}
	if c.Access.Models != nil && c.Access.Models.Allow != nil {
		for i, m := range *c.Access.Models.Allow {
			if strings.TrimSpace(m) == "" {
				return &InvalidError{fmt.Sprintf("access.models.allow[%d]", i), "empty model name"}
			}
		}
	}
	for i, r := range c.Router.Rules {
		field := fmt.Sprintf("router.rules[%d]", i)
		if r.Provider == "" && r.Model == "" {
			return &InvalidError{field, "needs a provider, a model or both"}
		}
		if r.Provider != "" && !s.env.Provider(st, r.Provider) {
			return &InvalidError{field + ".provider", fmt.Sprintf("unknown provider %q", r.Provider)}
		}
		if len(r.Steps) == 0 {
			return &InvalidError{field + ".steps", "at least one step is required"}
		}
		ruleProvider := strings.ToLower(r.Provider)
		if ruleProvider == "" {
			if pid, _, ok := strings.Cut(r.Model, ":"); ok && s.env.Provider(st, pid) {
				ruleProvider = strings.ToLower(pid)
			}
		}
		for j, s := range r.Steps {
			sf := fmt.Sprintf("%s.steps[%d]", field, j)
			if s.KeySelectionStrategy != "" && s.KeySelectionStrategy != "ordered" {
				return &InvalidError{sf + ".keySelectionStrategy", "only \"ordered\" is supported"}
			}
			switch s.Type {
			case "managed":
				if len(s.Keys) > 0 {
					return &InvalidError{sf + ".keys", "a managed step uses the operator's keys; list keys only in user steps"}
				}
			case "user":
				if len(s.Keys) == 0 {
					return &InvalidError{sf + ".keys", "a user step needs at least one provider key"}
				}
				for k, sk := range s.Keys {
					pk := st.ProviderKeys[sk.ID]
					if pk == nil {
						return &InvalidError{fmt.Sprintf("%s.keys[%d]", sf, k), fmt.Sprintf("no provider key %q", sk.ID)}
					}
					if ruleProvider != "" && pk.ProviderID != ruleProvider {
						return &InvalidError{fmt.Sprintf("%s.keys[%d]", sf, k), fmt.Sprintf("provider key %s is for %s, not %s", sk.ID, pk.ProviderID, ruleProvider)}
					}
				}
			default:
				return &InvalidError{sf + ".type", "must be managed or user"}
			}
		}
	}
	for i, src := range c.ModelSelection {
		if err := selection.Validate(src); err != nil {
			return &InvalidError{fmt.Sprintf("modelSelection[%d]", i), err.Error()}
		}
	}
	if l := c.Limits; l != nil {
		if (l.RequestsPerMinute != nil && *l.RequestsPerMinute < 1) || (l.TokensPerMinute != nil && *l.TokensPerMinute < 1) || (l.SpendPerDay != nil && *l.SpendPerDay < 0) {
			return &InvalidError{"limits", "limits must be positive"}
		}
	}
	return nil
}

// CreateConfiguration adds an access key configuration.
func (s *Service) CreateConfiguration(p Patch) (*AccessKeyConfiguration, error) {
	c := &AccessKeyConfiguration{}
	err := s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if err := s.applyConfigurationPatch(p, c, st); err != nil {
			return err
		}
		if err := checkFirewallPolicyRef(tx, c); err != nil {
			return err
		}
		now := time.Now().UTC()
		c.ID, c.CreatedAt, c.UpdatedAt = ids.New("akc"), now, now
		return tx.Put(store.Configurations, c.ID, c)
	})
	return c, err
}

// UpdateConfiguration applies a PATCH body.
func (s *Service) UpdateConfiguration(id string, p Patch) (*AccessKeyConfiguration, error) {
	var out AccessKeyConfiguration
	return &out, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if err := tx.Get(store.Configurations, id, &out); err != nil {
			return err
		}
		if err := s.applyConfigurationPatch(p, &out, st); err != nil {
			return err
		}
		if err := checkFirewallPolicyRef(tx, &out); err != nil {
			return err
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.Configurations, id, &out)
	})
}

// Configurations lists access key configurations by id.
func (s *Service) Configurations() []*AccessKeyConfiguration {
	return sortedByID(s.Snapshot().Configs, func(x *AccessKeyConfiguration) string { return x.ID })
}

// Configuration returns one.
func (s *Service) Configuration(id string) (*AccessKeyConfiguration, error) {
	if c := s.Snapshot().Configs[id]; c != nil {
		return c, nil
	}
	return nil, ErrNotFound
}

// DeleteConfiguration deletes a configuration no access key uses.
func (s *Service) DeleteConfiguration(id string) error {
	return s.mutate(func(tx ResourceTx, _ *Snapshot) error {
		if ok, err := tx.Exists(store.Configurations, id); err != nil || !ok {
			return cmp.Or(err, ErrNotFound)
		}
		keys, err := all[store.AccessKey](tx, store.AccessKeys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.AccessKeyConfigurationID == id {
				return &ConflictError{fmt.Sprintf("access key configuration %s is used by access key %s", id, k.ID)}
			}
		}
		return tx.Delete(store.Configurations, id)
	})
}

// checkFirewallPolicyRef checks, in the transaction that stores c, that the
// firewall policy c attaches exists (a policy is not deleted while
// attached: DeleteFirewallPolicy checks in its own transaction).
func checkFirewallPolicyRef(tx ResourceTx, c *AccessKeyConfiguration) error {
	if c.FirewallPolicyID == "" {
		return nil
	}
	ok, err := tx.Exists(store.FirewallPolicies, c.FirewallPolicyID)
	if err != nil {
		return err
	}
	if !ok {
		return &InvalidError{"firewallPolicyId", fmt.Sprintf("no firewall policy %q", c.FirewallPolicyID)}
	}
	return nil
}
