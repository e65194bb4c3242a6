package conformance

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// TestResources checks the management resources through manage.Service,
// as the admin API drives it.
func TestResources(t *testing.T, f Factory) {
	t.Run("CreateGetList", func(t *testing.T) { testCreateGetList(t, f) })
	t.Run("PatchRules", func(t *testing.T) { testPatchRules(t, f) })
	t.Run("DeleteRefusedWhileReferenced", func(t *testing.T) { testDeleteConflicts(t, f) })
	t.Run("SnapshotPublished", func(t *testing.T) { testSnapshotPublished(t, f) })
	t.Run("AccessKeyLookup", func(t *testing.T) { testAccessKeyLookup(t, f) })
	t.Run("RotationGrace", func(t *testing.T) { testRotationGrace(t, f) })
	t.Run("SurviveReopen", func(t *testing.T) { testResourcesReopen(t, f) })
	t.Run("FailedTransactionLeavesNothing", func(t *testing.T) { testRollback(t, f) })
}

// testRollback: a transaction whose function fails writes nothing — no
// resource, no access key hash, no ledger record — and Get reports a
// missing document as store.ErrNotFound.
func testRollback(t *testing.T, f Factory) {
	db, _ := f(t)
	boom := errors.New("boom")
	k := &store.AccessKey{ID: "ak_rollback", TokenHash: strings.Repeat("ab", 32)}
	err := db.UpdateResources(ctx, func(tx manage.ResourceTx) error {
		if err := tx.Put(store.Accounts, "acct_rollback", &manage.Account{ID: "acct_rollback"}); err != nil {
			return err
		}
		if err := tx.PutAccessKey(k); err != nil {
			return err
		}
		if err := tx.Ledger().PutAccount("acct_rollback", credits.AccountRecord{Balance: money.USD}); err != nil {
			return err
		}
		if ok, err := tx.Exists(store.Accounts, "acct_rollback"); !ok || err != nil {
			t.Errorf("a transaction does not see its own write: %v %v", ok, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateResources returned %v, want the function's error", err)
	}
	err = db.ViewResources(ctx, func(tx manage.ResourceTx) error {
		var a manage.Account
		if err := tx.Get(store.Accounts, "acct_rollback", &a); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("account after rollback: %v", err)
		}
		if err := tx.Get(store.AccessKeys, k.ID, new(store.AccessKey)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("access key after rollback: %v", err)
		}
		rec, err := tx.Ledger().Account("acct_rollback")
		if err != nil || rec.Balance != 0 {
			t.Errorf("ledger account after rollback: %+v %v", rec, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// the same access key commits when nothing fails
	if err := db.UpdateResources(ctx, func(tx manage.ResourceTx) error { return tx.PutAccessKey(k) }); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateResources(ctx, func(tx manage.ResourceTx) error { return tx.Delete(store.Accounts, "acct_missing") }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a missing document: %v", err)
	}
}

// testCreateGetList: what is created can be read back, and lists hold
// every resource in id order, which is creation order. The admin API
// pages these lists newest first by id (?limit, ?beforeId), so the order
// and completeness are what paging relies on.
func testCreateGetList(t *testing.T, f Factory) {
	db, _ := f(t)
	s := openService(t, db, secrets.NewKey())
	var made []string
	for i := range 5 {
		a := must(s.CreateAccount(patch(t, `{"name":"acct `+string(rune('a'+i))+`"}`)))(t)
		made = append(made, a.ID)
	}
	got := must(s.Account(made[2]))(t)
	if got.Name != "acct c" || got.CreatedAt.IsZero() {
		t.Fatalf("Account: %+v", got)
	}
	if _, err := s.Account("acct_missing"); !errors.Is(err, manage.ErrNotFound) {
		t.Fatalf("missing account: %v", err)
	}
	var listed []string
	for _, a := range s.Accounts() {
		if a.ID != manage.DefaultAccountID {
			listed = append(listed, a.ID)
		}
	}
	if strings.Join(listed, ",") != strings.Join(made, ",") {
		t.Fatalf("accounts listed %v, created %v", listed, made)
	}
	newestFirst := page(listed, 2, "")
	if len(newestFirst) != 2 || newestFirst[0] != made[4] || newestFirst[1] != made[3] {
		t.Fatalf("first page %v", newestFirst)
	}
	if p := page(listed, 2, newestFirst[1]); len(p) != 2 || p[0] != made[2] || p[1] != made[1] {
		t.Fatalf("second page %v", p)
	}

	var keys []string
	for range 3 {
		k, tok := must2(s.CreateAccessKey(patch(t, `{"name":"k"}`)))(t)
		if tok == "" || k.AccountID != manage.DefaultAccountID || k.TokenHash == "" {
			t.Fatalf("CreateAccessKey: %+v %q", k, tok)
		}
		keys = append(keys, k.ID)
	}
	all := must(s.AccessKeys())(t)
	if len(all) != 3 {
		t.Fatalf("%d access keys listed", len(all))
	}
	for i, k := range all {
		if k.ID != keys[i] {
			t.Fatalf("access keys listed out of creation order: %v, created %v", all, keys)
		}
	}
	if k := must(s.AccessKey(keys[1]))(t); k.Name != "k" {
		t.Fatalf("AccessKey: %+v", k)
	}

	c := must(s.CreateConfiguration(patch(t, `{"name":"c1","access":{"providers":{"allow":["openai"]}}}`)))(t)
	if got := must(s.Configuration(c.ID))(t); got.Access.Providers == nil || len(*got.Access.Providers.Allow) != 1 {
		t.Fatalf("Configuration: %+v", got)
	}
	if l := s.Configurations(); len(l) != 1 || l[0].ID != c.ID {
		t.Fatalf("Configurations: %v", l)
	}
}

// page is the admin API's paging (admin.listPage): newest first by id,
// after beforeID, at most limit.
func page(ids []string, limit int, beforeID string) []string {
	sorted := append([]string(nil), ids...)
	sort.Sort(sort.Reverse(sort.StringSlice(sorted)))
	var out []string
	for _, id := range sorted {
		if (beforeID == "" || id < beforeID) && len(out) < limit {
			out = append(out, id)
		}
	}
	return out
}

// testPatchRules: an omitted field keeps its value, null clears it, an
// unknown field is an InvalidError naming it and changes nothing.
func testPatchRules(t *testing.T, f Factory) {
	db, _ := f(t)
	s := openService(t, db, secrets.NewKey())
	a := must(s.CreateAccount(patch(t, `{"name":"n","description":"d","metadata":"m"}`)))(t)
	u := must(s.UpdateAccount(a.ID, patch(t, `{"description":"d2"}`)))(t)
	if u.Name != "n" || u.Description != "d2" || u.Metadata != "m" {
		t.Fatalf("omitted fields changed: %+v", u)
	}
	u = must(s.UpdateAccount(a.ID, patch(t, `{"metadata":null}`)))(t)
	if u.Name != "n" || u.Description != "d2" || u.Metadata != "" {
		t.Fatalf("null did not clear: %+v", u)
	}
	_, err := s.UpdateAccount(a.ID, patch(t, `{"name":"x","nmae":"y"}`))
	wantInvalid(t, err, "nmae")
	if got := must(s.Account(a.ID))(t); got.Name != "n" || got.Description != "d2" || got.Metadata != "" {
		t.Fatalf("a refused PATCH changed the account: %+v", got)
	}
	_, err = s.CreateAccount(patch(t, `{"colour":"red"}`))
	wantInvalid(t, err, "colour")
	if _, err := s.UpdateAccount("acct_missing", patch(t, `{"name":"x"}`)); !errors.Is(err, manage.ErrNotFound) {
		t.Fatalf("PATCH of a missing account: %v", err)
	}

	k, _ := must2(s.CreateAccessKey(patch(t, `{"name":"k","description":"d"}`)))(t)
	k2 := must(s.UpdateAccessKey(k.ID, patch(t, `{"disabled":true}`)))(t)
	if k2.Name != "k" || k2.Description != "d" || !k2.Disabled || k2.TokenHash != k.TokenHash {
		t.Fatalf("access key PATCH: %+v", k2)
	}
	_, err = s.UpdateAccessKey(k.ID, patch(t, `{"accountID":"default"}`))
	wantInvalid(t, err, "accountID")
	_, err = s.UpdateAccessKey(k.ID, patch(t, `{"accountId":"acct_missing"}`))
	wantInvalid(t, err, "accountId")

	c := must(s.CreateConfiguration(patch(t, `{"name":"c","description":"d","limits":{"requestsPerMinute":5}}`)))(t)
	c2 := must(s.UpdateConfiguration(c.ID, patch(t, `{"limits":null}`)))(t)
	if c2.Name != "c" || c2.Description != "d" || c2.Limits != nil {
		t.Fatalf("configuration PATCH: %+v", c2)
	}
	_, err = s.UpdateConfiguration(c.ID, patch(t, `{"limit":{}}`))
	wantInvalid(t, err, "limit")
}

// testDeleteConflicts: a resource something refers to is not deleted, and
// the ConflictError names the referrer.
func testDeleteConflicts(t *testing.T, f Factory) {
	db, _ := f(t)
	s := openService(t, db, secrets.NewKey())
	a := must(s.CreateAccount(patch(t, `{"name":"a"}`)))(t)
	c := must(s.CreateConfiguration(patch(t, `{"name":"c"}`)))(t)
	k, _ := must2(s.CreateAccessKey(patch(t, `{"accountId":"`+a.ID+`","accessKeyConfigurationId":"`+c.ID+`"}`)))(t)

	wantConflict := func(err error, names ...string) {
		t.Helper()
		var ce *manage.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v (%T), want a ConflictError", err, err)
		}
		for _, n := range names {
			if !strings.Contains(ce.Reason, n) {
				t.Fatalf("conflict %q does not name %s", ce.Reason, n)
			}
		}
	}
	wantConflict(s.DeleteAccount(a.ID), a.ID, k.ID)
	wantConflict(s.DeleteConfiguration(c.ID), c.ID, k.ID)
	wantConflict(s.DeleteAccount(manage.DefaultAccountID))
	if _, err := s.Account(a.ID); err != nil {
		t.Fatalf("refused delete removed the account: %v", err)
	}
	if _, err := s.Configuration(c.ID); err != nil {
		t.Fatalf("refused delete removed the configuration: %v", err)
	}

	// an account that holds credits is not deleted either
	if err := s.DeleteAccessKey(k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ledger().Purchase(a.ID, 5*money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	wantConflict(s.DeleteAccount(a.ID), a.ID)

	// a customer's provider key holds its account too
	b := must(s.CreateAccount(patch(t, `{"name":"b"}`)))(t)
	pk := must(s.CreateProviderKey(patch(t, `{"providerId":"openai","value":"sk-test-1","accountId":"`+b.ID+`"}`)))(t)
	wantConflict(s.DeleteAccount(b.ID), b.ID, pk.ID)
	if err := s.DeleteProviderKey(pk.ID); err != nil {
		t.Fatal(err)
	}
	for _, del := range []struct {
		name string
		fn   func() error
		get  func() error
	}{
		{"configuration", func() error { return s.DeleteConfiguration(c.ID) }, func() error { _, err := s.Configuration(c.ID); return err }},
		{"account", func() error { return s.DeleteAccount(b.ID) }, func() error { _, err := s.Account(b.ID); return err }},
		{"access key", func() error { return s.DeleteAccessKey(k.ID) }, func() error { _, err := s.AccessKey(k.ID); return err }},
	} {
		if del.name != "access key" {
			if err := del.fn(); err != nil {
				t.Fatalf("deleting the unused %s: %v", del.name, err)
			}
		} else if err := del.fn(); !errors.Is(err, manage.ErrNotFound) {
			t.Fatalf("deleting a deleted access key: %v", err)
		}
		if err := del.get(); !errors.Is(err, manage.ErrNotFound) {
			t.Fatalf("deleted %s still found: %v", del.name, err)
		}
	}
}

// testSnapshotPublished: every committed change publishes a new snapshot
// the request path reads; a refused one does not.
func testSnapshotPublished(t *testing.T, f Factory) {
	db, _ := f(t)
	s := openService(t, db, secrets.NewKey())
	v := s.Snapshot().Version
	step := func(what string, check func(*manage.Snapshot) bool) {
		t.Helper()
		snap := s.Snapshot()
		if snap.Version <= v || !check(snap) {
			t.Fatalf("after %s: snapshot version %d (was %d) or contents not published", what, snap.Version, v)
		}
		v = snap.Version
	}
	a := must(s.CreateAccount(patch(t, `{"name":"a"}`)))(t)
	step("creating an account", func(sn *manage.Snapshot) bool { return sn.Accounts[a.ID] != nil })
	must(s.UpdateAccount(a.ID, patch(t, `{"name":"a2"}`)))(t)
	step("updating it", func(sn *manage.Snapshot) bool { return sn.Accounts[a.ID].Name == "a2" })
	c := must(s.CreateConfiguration(patch(t, `{"name":"c"}`)))(t)
	step("creating a configuration", func(sn *manage.Snapshot) bool { return sn.Configs[c.ID] != nil })
	must(s.UpdateConfiguration(c.ID, patch(t, `{"modelSelection":["cheapest"]}`)))(t)
	step("updating it", func(sn *manage.Snapshot) bool { return len(sn.Configs[c.ID].ModelSelection) == 1 })
	if err := s.DeleteConfiguration(c.ID); err != nil {
		t.Fatal(err)
	}
	step("deleting it", func(sn *manage.Snapshot) bool { return sn.Configs[c.ID] == nil })
	if err := s.DeleteAccount(a.ID); err != nil {
		t.Fatal(err)
	}
	step("deleting the account", func(sn *manage.Snapshot) bool { return sn.Accounts[a.ID] == nil })

	before := s.Snapshot()
	if _, err := s.UpdateAccount(manage.DefaultAccountID, patch(t, `{"bogus":1}`)); err == nil {
		t.Fatal("a bogus field was accepted")
	}
	if s.Snapshot() != before {
		t.Fatal("a refused change published a snapshot")
	}
}

// testAccessKeyLookup: the request path finds a key by its token's hash;
// a disabled key is found with Disabled set (ai_auth refuses it), a
// deleted (revoked) one is not found, and an unknown token never is.
func testAccessKeyLookup(t *testing.T, f Factory) {
	db, _ := f(t)
	s := openService(t, db, secrets.NewKey())
	now := time.Now()
	k, tok := must2(s.CreateAccessKey(patch(t, `{"name":"k"}`)))(t)
	other, otherTok := must2(s.CreateAccessKey(patch(t, `{"name":"other"}`)))(t)
	if got := s.LookupKey(secrets.HashToken(tok), now); got == nil || got.ID != k.ID {
		t.Fatalf("lookup by token hash: %+v", got)
	}
	if got := s.LookupKey(secrets.HashToken(tok+"x"), now); got != nil {
		t.Fatalf("an unknown token found %s", got.ID)
	}
	must(s.UpdateAccessKey(k.ID, patch(t, `{"disabled":true}`)))(t)
	if got := s.LookupKey(secrets.HashToken(tok), now); got == nil || !got.Disabled {
		t.Fatalf("disabled key: %+v", got)
	}
	must(s.UpdateAccessKey(k.ID, patch(t, `{"disabled":false}`)))(t)
	if got := s.LookupKey(secrets.HashToken(tok), now); got == nil || got.Disabled {
		t.Fatalf("re-enabled key: %+v", got)
	}
	if err := s.DeleteAccessKey(k.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.LookupKey(secrets.HashToken(tok), now); got != nil {
		t.Fatalf("a deleted key still admits: %+v", got)
	}
	if got := s.LookupKey(secrets.HashToken(otherTok), now); got == nil || got.ID != other.ID {
		t.Fatalf("deleting one key lost another: %+v", got)
	}
}

// testRotationGrace: after a rotation the new token works, the old one
// until its grace period ends (and not at all with none), before and
// after a restart.
func testRotationGrace(t *testing.T, f Factory) {
	db, reopen := f(t)
	key := secrets.NewKey()
	s := openService(t, db, key)
	k, oldTok := must2(s.CreateAccessKey(patch(t, `{"name":"k"}`)))(t)
	_, newTok := must2(s.RotateAccessKey(k.ID, time.Hour))(t)
	check := func(s *manage.Service, when string) {
		t.Helper()
		now := time.Now()
		if got := s.LookupKey(secrets.HashToken(newTok), now); got == nil || got.ID != k.ID {
			t.Fatalf("%s: the new token does not admit", when)
		}
		if got := s.LookupKey(secrets.HashToken(oldTok), now); got == nil || got.ID != k.ID {
			t.Fatalf("%s: the old token stopped within its grace period", when)
		}
		if got := s.LookupKey(secrets.HashToken(oldTok), now.Add(2*time.Hour)); got != nil {
			t.Fatalf("%s: the old token admits after its grace period", when)
		}
		if got := s.LookupKey(secrets.HashToken(newTok), now.Add(2*time.Hour)); got == nil {
			t.Fatalf("%s: the new token stops with the grace period", when)
		}
	}
	check(s, "after rotating")
	s = openService(t, reopen(), key)
	check(s, "after a restart")

	// without a grace period the old token stops at once
	_, newest := must2(s.RotateAccessKey(k.ID, 0))(t)
	now := time.Now()
	if s.LookupKey(secrets.HashToken(newTok), now) != nil || s.LookupKey(secrets.HashToken(oldTok), now) != nil {
		t.Fatal("a token replaced without grace still admits")
	}
	if got := s.LookupKey(secrets.HashToken(newest), now); got == nil || got.ID != k.ID {
		t.Fatal("the newest token does not admit")
	}
}

// testResourcesReopen: resources and access keys survive a restart.
func testResourcesReopen(t *testing.T, f Factory) {
	db, reopen := f(t)
	key := secrets.NewKey()
	s := openService(t, db, key)
	a := must(s.CreateAccount(patch(t, `{"name":"a","metadata":"m"}`)))(t)
	c := must(s.CreateConfiguration(patch(t, `{"name":"c","limits":{"tokensPerMinute":1000}}`)))(t)
	k, tok := must2(s.CreateAccessKey(patch(t, `{"accountId":"`+a.ID+`","accessKeyConfigurationId":"`+c.ID+`","disabled":true}`)))(t)
	pk := must(s.CreateProviderKey(patch(t, `{"providerId":"anthropic","value":"sk-ant-secret","accountId":"`+a.ID+`"}`)))(t)

	s = openService(t, reopen(), key)
	// the provider key's secret is stored sealed and unsealed at start
	if got := s.Snapshot().ProviderKeys[pk.ID]; got == nil || got.Value() != "sk-ant-secret" || got.AccountID != a.ID {
		t.Fatalf("provider key after reopen: %+v", got)
	}
	if got := must(s.Account(a.ID))(t); got.Name != "a" || got.Metadata != "m" {
		t.Fatalf("account after reopen: %+v", got)
	}
	if got := must(s.Configuration(c.ID))(t); got.Limits == nil || got.Limits.TokensPerMinute == nil || *got.Limits.TokensPerMinute != 1000 {
		t.Fatalf("configuration after reopen: %+v", got)
	}
	got := s.LookupKey(secrets.HashToken(tok), time.Now())
	if got == nil || got.ID != k.ID || !got.Disabled || got.AccountID != a.ID || got.AccessKeyConfigurationID != c.ID {
		t.Fatalf("access key after reopen: %+v", got)
	}
	if _, err := s.Account(manage.DefaultAccountID); err != nil {
		t.Fatalf("default account after reopen: %v", err)
	}
}
