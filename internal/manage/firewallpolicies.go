package manage

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// applyFirewallPolicyPatch applies a body to fp and compiles the result
// (globs, RE2 patterns, CEL expressions): an error names the field as a
// JSON path ("rules[2].regex.pattern").
func applyFirewallPolicyPatch(p Patch, fp *FirewallPolicy) error {
	if err := errors.Join(
		Field(p, "name", &fp.Name), Field(p, "description", &fp.Description), Field(p, "mode", &fp.Mode),
		Field(p, "onError", &fp.OnError), Field(p, "rules", &fp.Rules), p.Done(),
	); err != nil {
		return err
	}
	fp.Name = strings.TrimSpace(fp.Name)
	if err := validateText(fp.Name, fp.Description, ""); err != nil {
		return err
	}
	if fp.Rules == nil {
		fp.Rules = []firewall.RuleConfig{}
	}
	compiled, err := firewall.Compile(&fp.PolicyConfig)
	if err != nil {
		var ve *firewall.ValidationError
		if errors.As(err, &ve) {
			return &InvalidError{ve.Field, ve.Err.Error()}
		}
		return &InvalidError{"rules", err.Error()}
	}
	// the defaults, written out so that the stored policy says what applies
	fp.Mode, fp.OnError = compiled.Mode, compiled.OnError
	fp.compiled = compiled
	return nil
}

// firewallPolicyNamed returns the policy of st named name (case-insensitive).
func firewallPolicyNamed(st *Snapshot, name string) *FirewallPolicy {
	for _, fp := range st.FirewallPolicies {
		if strings.EqualFold(fp.Name, name) {
			return fp
		}
	}
	return nil
}

// CreateFirewallPolicy adds a firewall policy; its name is unique.
func (s *Service) CreateFirewallPolicy(p Patch) (*FirewallPolicy, error) {
	fp := &FirewallPolicy{}
	if err := applyFirewallPolicyPatch(p, fp); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	fp.ID, fp.CreatedAt, fp.UpdatedAt = ids.New("fwp"), now, now
	return fp, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if firewallPolicyNamed(st, fp.Name) != nil {
			return &ConflictError{fmt.Sprintf("firewall policy %q exists", fp.Name)}
		}
		return tx.Put(store.FirewallPolicies, fp.ID, fp)
	})
}

// UpdateFirewallPolicy applies a PATCH body: omitted fields are kept,
// null clears (mode and onError back to their defaults, rules to none).
// The next request of a key whose configuration attaches it uses the new
// version.
func (s *Service) UpdateFirewallPolicy(id string, p Patch) (*FirewallPolicy, error) {
	var out FirewallPolicy
	return &out, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if err := tx.Get(store.FirewallPolicies, id, &out); err != nil {
			return err
		}
		if err := applyFirewallPolicyPatch(p, &out); err != nil {
			return err
		}
		if other := firewallPolicyNamed(st, out.Name); other != nil && other.ID != id {
			return &ConflictError{fmt.Sprintf("firewall policy %q exists", out.Name)}
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.FirewallPolicies, id, &out)
	})
}

// FirewallPolicies lists the firewall policies by id.
func (s *Service) FirewallPolicies() []*FirewallPolicy {
	return sortedByID(s.Snapshot().FirewallPolicies, func(x *FirewallPolicy) string { return x.ID })
}

// FirewallPolicy returns one by id.
func (s *Service) FirewallPolicy(id string) (*FirewallPolicy, error) {
	if fp := s.Snapshot().FirewallPolicies[id]; fp != nil {
		return fp, nil
	}
	return nil, ErrNotFound
}

// DeleteFirewallPolicy deletes a policy no access key configuration
// attaches (409 naming the configuration otherwise).
func (s *Service) DeleteFirewallPolicy(id string) error {
	return s.mutate(func(tx ResourceTx, _ *Snapshot) error {
		if ok, err := tx.Exists(store.FirewallPolicies, id); err != nil || !ok {
			return cmp.Or(err, ErrNotFound)
		}
		configs, err := all[AccessKeyConfiguration](tx, store.Configurations)
		if err != nil {
			return err
		}
		for _, c := range configs {
			if c.FirewallPolicyID == id {
				return &ConflictError{fmt.Sprintf("firewall policy %s is used by access key configuration %s", id, c.ID)}
			}
		}
		return tx.Delete(store.FirewallPolicies, id)
	})
}

// compileFirewallPolicies compiles the policies of st, reusing the
// compiled policy of old for every version already compiled (same id and
// updatedAt), so a policy is compiled once per stored version and never
// per request. A stored policy that does not compile (written by another
// version) is logged and has no compiled policy.
func (s *State) compileFirewallPolicies(st, old *Snapshot) {
	for id, fp := range st.FirewallPolicies {
		if fp.compiled != nil {
			continue
		}
		if old != nil {
			if prev := old.FirewallPolicies[id]; prev != nil && prev.compiled != nil && prev.UpdatedAt.Equal(fp.UpdatedAt) {
				fp.compiled = prev.compiled
				continue
			}
		}
		c, err := firewall.Compile(&fp.PolicyConfig)
		if err != nil {
			if s.logger != nil {
				s.logger.Error("stored firewall policy does not compile", zap.String("id", id), zap.Error(err))
			}
			continue
		}
		fp.compiled = c
	}
}
