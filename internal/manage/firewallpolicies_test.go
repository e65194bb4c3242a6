package manage_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
)

type testEnv struct{}

func (testEnv) ConfiguredProvider(id string) bool                     { return id == "openai" }
func (testEnv) Provider(_ *manage.Snapshot, id string) bool           { return id == "openai" }
func (testEnv) CatalogModel(string) bool                              { return false }
func (testEnv) PurchaseLimits(*manage.Snapshot) (min, max money.Nano) { return money.USD, 0 }
func (testEnv) GatewayConfigChanged()                                 {}

// newService opens a management service over a new bbolt file.
func newService(t *testing.T) (*manage.Service, *boltstore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.db")
	db, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := manage.Open(db, secrets.NewKey(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := credits.Open(db, credits.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return manage.NewService(st, ledger, testEnv{}), db, path
}

func body(t *testing.T, s string) manage.Patch {
	t.Helper()
	p, err := manage.ParsePatch([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var ie *manage.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v, want a 400 naming %s", err, field)
	}
	if ie.Field != field {
		t.Fatalf("error names %q (%v), want %q", ie.Field, err, field)
	}
}

func wantConflict(t *testing.T, err error, substr string) {
	t.Helper()
	var ce *manage.ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %v, want a 409 mentioning %q", err, substr)
	}
}

const noDeletes = `{"name":"agents","description":"no deletes","rules":[{"phase":"response","toolName":"delete_*","message":"no"}]}`

func TestFirewallPolicyCRUD(t *testing.T) {
	s, _, _ := newService(t)
	fp, err := s.CreateFirewallPolicy(body(t, noDeletes))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fp.ID, "fwp_") || fp.CreatedAt.IsZero() || fp.UpdatedAt.IsZero() {
		t.Fatalf("created %+v", fp)
	}
	// the defaults are written out
	if fp.Mode != firewall.Enforce || fp.OnError != firewall.OnErrorBlock {
		t.Errorf("mode %q onError %q, want the defaults", fp.Mode, fp.OnError)
	}
	got, err := s.FirewallPolicy(fp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "agents" || got.Description != "no deletes" || len(got.Rules) != 1 || got.Compiled() == nil {
		t.Fatalf("stored %+v (compiled %v)", got, got.Compiled())
	}
	if got.Compiled().Name != "agents" || !got.Compiled().HasResponseRules() {
		t.Errorf("compiled policy %+v", got.Compiled())
	}
	if l := s.FirewallPolicies(); len(l) != 1 || l[0].ID != fp.ID {
		t.Fatalf("list %+v", l)
	}
	// names are unique, case-insensitively
	_, err = s.CreateFirewallPolicy(body(t, `{"name":"AGENTS"}`))
	wantConflict(t, err, "exists")
	other, err := s.CreateFirewallPolicy(body(t, `{"name":"other"}`))
	if err != nil {
		t.Fatal(err)
	}
	if other.Rules == nil || len(other.Rules) != 0 {
		t.Errorf("rules %v, want []", other.Rules)
	}
	_, err = s.UpdateFirewallPolicy(other.ID, body(t, `{"name":"Agents"}`))
	wantConflict(t, err, "exists")
	// renaming to its own name in another case is fine
	if _, err := s.UpdateFirewallPolicy(fp.ID, body(t, `{"name":"Agents"}`)); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteFirewallPolicy(other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FirewallPolicy(other.ID); err != manage.ErrNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.DeleteFirewallPolicy(other.ID); err != manage.ErrNotFound {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.UpdateFirewallPolicy(other.ID, body(t, `{}`)); err != manage.ErrNotFound {
		t.Fatalf("update of a deleted policy: %v", err)
	}
}

func TestFirewallPolicyValidation(t *testing.T) {
	s, _, _ := newService(t)
	tests := []struct{ body, field string }{
		{`{}`, "name"},
		{`{"name":"  "}`, "name"},
		{`{"name":"p","mode":"loud"}`, "mode"},
		{`{"name":"p","onError":"ignore"}`, "onError"},
		{`{"name":"p","colour":"red"}`, "colour"},
		{`{"name":"p","rules":[{"phase":"response","toolName":"a","colour":"red"}]}`, "rules"},
		{`{"name":"p","rules":[{"toolName":"a"}]}`, "rules[0].phase"},
		{`{"name":"p","rules":[{"phase":"request","toolName":"a"},{"phase":"request","toolName":"b"},{"phase":"request","regex":{"on":"text","pattern":"("}}]}`, "rules[2].regex.pattern"},
		{`{"name":"p","rules":[{"phase":"response","cel":"call.nope == 1"}]}`, "rules[0].cel"},
		{`{"name":"p","rules":"none"}`, "rules"},
		{`{"name":"p","description":"` + strings.Repeat("x", 4097) + `"}`, "description"},
	}
	for _, tt := range tests {
		_, err := s.CreateFirewallPolicy(body(t, tt.body))
		wantInvalid(t, err, tt.field)
	}
	if n := len(s.FirewallPolicies()); n != 0 {
		t.Fatalf("%d policies stored by refused creates", n)
	}
	// PATCH is validated the same way and changes nothing when refused
	fp, err := s.CreateFirewallPolicy(body(t, noDeletes))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateFirewallPolicy(fp.ID, body(t, `{"rules":[{"phase":"response","regex":{"on":"name","pattern":"[a-"}}]}`))
	wantInvalid(t, err, "rules[0].regex.pattern")
	_, err = s.UpdateFirewallPolicy(fp.ID, body(t, `{"name":null}`))
	wantInvalid(t, err, "name")
	got, _ := s.FirewallPolicy(fp.ID)
	if got.Rules[0].ToolName != "delete_*" || !got.UpdatedAt.Equal(fp.UpdatedAt) {
		t.Fatalf("a refused PATCH changed the policy: %+v", got)
	}
}

func TestFirewallPolicyPatch(t *testing.T) {
	s, _, _ := newService(t)
	fp, err := s.CreateFirewallPolicy(body(t, `{"name":"agents","description":"d","mode":"dryRun","onError":"continue","rules":[{"phase":"response","toolName":"delete_*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	before := fp.Compiled()
	// omitted fields are kept
	up, err := s.UpdateFirewallPolicy(fp.ID, body(t, `{"description":"e"}`))
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "agents" || up.Mode != firewall.DryRun || up.OnError != firewall.OnErrorContinue || len(up.Rules) != 1 || up.Description != "e" {
		t.Fatalf("after PATCH description: %+v", up)
	}
	// a new version is compiled once and published
	got, _ := s.FirewallPolicy(fp.ID)
	if got.Compiled() == nil || got.Compiled() == before || got.Compiled().Mode != firewall.DryRun {
		t.Fatalf("compiled after PATCH: %+v", got.Compiled())
	}
	// null clears: defaults for mode and onError, no rules, empty description
	up, err = s.UpdateFirewallPolicy(fp.ID, body(t, `{"mode":null,"onError":null,"rules":null,"description":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if up.Mode != firewall.Enforce || up.OnError != firewall.OnErrorBlock || len(up.Rules) != 0 || up.Rules == nil || up.Description != "" || up.Name != "agents" {
		t.Fatalf("after PATCH nulls: %+v", up)
	}
	got, _ = s.FirewallPolicy(fp.ID)
	if got.Compiled().Mode != firewall.Enforce || got.Compiled().HasResponseRules() {
		t.Fatalf("compiled after nulls: %+v", got.Compiled())
	}
	// an unrelated change keeps the compiled policy (compiled once per version)
	c := got.Compiled()
	if _, err := s.CreateVirtualModel(body(t, `{"name":"vm","models":["a"]}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FirewallPolicy(fp.ID); got.Compiled() != c {
		t.Fatal("an unrelated change compiled the policy again")
	}
}

func TestConfigurationFirewallPolicy(t *testing.T) {
	s, db, path := newService(t)
	fp, err := s.CreateFirewallPolicy(body(t, noDeletes))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateConfiguration(body(t, `{"name":"c","firewallPolicyId":"fwp_nope"}`))
	wantInvalid(t, err, "firewallPolicyId")
	c, err := s.CreateConfiguration(body(t, `{"name":"c","firewallPolicyId":"`+fp.ID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.FirewallPolicyID != fp.ID {
		t.Fatalf("configuration %+v", c)
	}
	// delete refused while attached, naming the configuration
	wantConflict(t, s.DeleteFirewallPolicy(fp.ID), c.ID)
	// PATCH keeps it when omitted
	c2, err := s.UpdateConfiguration(c.ID, body(t, `{"description":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c2.FirewallPolicyID != fp.ID {
		t.Fatalf("PATCH without firewallPolicyId dropped it: %+v", c2)
	}
	_, err = s.UpdateConfiguration(c.ID, body(t, `{"firewallPolicyId":"fwp_nope"}`))
	wantInvalid(t, err, "firewallPolicyId")

	// the policy survives a restart, compiled
	st2, err := manage.Open(db, secrets.NewKey(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if p := st2.Snapshot().FirewallPolicies[fp.ID]; p == nil || p.Compiled() == nil || p.Name != "agents" {
		t.Fatalf("reopened %s: %+v", path, p)
	}

	// null detaches; then the policy can be deleted
	c3, err := s.UpdateConfiguration(c.ID, body(t, `{"firewallPolicyId":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if c3.FirewallPolicyID != "" {
		t.Fatalf("null kept %q", c3.FirewallPolicyID)
	}
	if err := s.DeleteFirewallPolicy(fp.ID); err != nil {
		t.Fatal(err)
	}
}
