package caddyaigateway

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/node"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
)

// Provision (what `caddy validate` runs) creates no file, no key and no
// store, also with demo_upstream; Cleanup after it is safe.
func TestProvisionHasNoSideEffects(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("HOME", filepath.Join(dir, "home"))
	before := testkit.Files(t, dir)
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	a := &App{Storage: filepath.Join(dir, "store", "gw.db"), DemoUpstream: true}
	if err := a.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := a.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if after := testkit.Files(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("provision created files: %v (before: %v)", after, before)
	}
	if _, err := a.sharedState(); err == nil {
		t.Fatal("a cleaned-up app opened its store")
	}
}

// A bad config still fails at provision, i.e. in `caddy validate`.
func TestProvisionRejectsBadConfig(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	for name, a := range map[string]*App{
		"short admin_key":  {Storage: filepath.Join(t.TempDir(), "gw.db"), AdminKey: "short"},
		"bad min_purchase": {Storage: filepath.Join(t.TempDir(), "gw.db"), CreditConfig: CreditConfig{MinPurchase: "lots"}},
		"bad provider":     {Storage: filepath.Join(t.TempDir(), "gw.db"), Providers: []*ProviderConfig{{ID: "x y"}}},
	} {
		if err := a.Provision(ctx); err == nil {
			t.Errorf("%s: provisioned", name)
		}
		_ = a.Cleanup()
	}
}

// {env.*} placeholders of admin_key and secret_key resolve at provision
// (the config keeps the placeholder); an unset variable means "not
// configured": the key comes from its file in the data dir at start.
func TestKeyPlaceholders(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("AI_GW_TEST_ADMIN_KEY", "admin-key-from-env-0123456789")
	t.Setenv("AI_GW_TEST_SECRET_KEY", secrets.NewKey().String())
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()

	a := &App{Storage: filepath.Join(dir, "a.db"), AdminKey: "{env.AI_GW_TEST_ADMIN_KEY}", SecretKey: "{env.AI_GW_TEST_SECRET_KEY}"}
	if err := a.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if !a.CheckManagementKey("admin-key-from-env-0123456789") {
		t.Fatal("admin key from the environment refused")
	}
	_ = a.Stop()
	_ = a.Cleanup()
	if _, err := os.Stat(filepath.Join(dir, "a.db.admin.key")); !os.IsNotExist(err) {
		t.Fatalf("an admin key file written although admin_key is set: %v", err)
	}

	b := &App{Storage: filepath.Join(dir, "b.db"), AdminKey: "{env.AI_GW_TEST_UNSET_ADMIN_KEY}"}
	if err := b.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Stop(); _ = b.Cleanup() }()
	k, err := os.ReadFile(filepath.Join(dir, "b.db.admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !b.CheckManagementKey(strings.TrimSpace(string(k))) || b.CheckManagementKey("{env.AI_GW_TEST_UNSET_ADMIN_KEY}") {
		t.Fatal("generated admin key not in force")
	}
}

// Without secret_key, a bbolt database's key is kept beside it
// (<database>.key). A database created with a key whose file is missing:
// the start fails naming the file it expected, and leaves no new key file
// behind (it would be a wrong key). An empty key file is an error; a key
// file that does not match names the file; a key an earlier version kept
// in Caddy's data dir is still found.
func TestSecretKeyFileBesideDatabase(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "gw.db")
	keyFile := dbPath + ".key"
	orig := secrets.NewKey()
	s, err := node.Open(node.Storage{Engine: node.BBolt, Where: dbPath}, orig, node.Options{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	newApp := func() *App {
		return &App{logger: zap.NewNop(), life: new(lifecycle), dataDir: data, storage: node.Storage{Engine: node.BBolt, Where: dbPath}, haveAdmin: true,
			eff: new(atomic.Pointer[effectiveRegistry])}
	}
	_, err = newApp().sharedState()
	if err == nil || !strings.Contains(err.Error(), keyFile) || !strings.Contains(err.Error(), "did not exist") {
		t.Fatalf("missing key file: %v", err)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a new key file was left behind: %v", err)
	}

	if err := os.WriteFile(keyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = newApp().sharedState(); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("empty key file: %v", err)
	}

	if err := os.WriteFile(keyFile, []byte(secrets.NewKey().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = newApp().sharedState(); err == nil || !strings.Contains(err.Error(), "read from "+keyFile) {
		t.Fatalf("wrong key file: %v", err)
	}

	// the key of an earlier version, in Caddy's data dir
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "secret.key"), []byte(orig.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newApp()
	if _, err := a.sharedState(); err != nil {
		t.Fatalf("legacy key file: %v", err)
	}
	_ = a.Cleanup()

	// the right key beside the database wins over the data dir's
	if err := os.WriteFile(keyFile, []byte(orig.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "secret.key"), []byte(secrets.NewKey().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a = newApp()
	if _, err := a.sharedState(); err != nil {
		t.Fatalf("key beside the database: %v", err)
	}
	_ = a.Cleanup()
}

// A fresh database gets its generated key beside it.
func TestSecretKeyGeneratedBesideDatabase(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "fresh.db")
	a := &App{logger: zap.NewNop(), life: new(lifecycle), dataDir: filepath.Join(dir, "data"), storage: node.Storage{Engine: node.BBolt, Where: dbPath}, haveAdmin: true,
		eff: new(atomic.Pointer[effectiveRegistry])}
	if _, err := a.sharedState(); err != nil {
		t.Fatal(err)
	}
	defer a.Cleanup()
	fi, err := os.Stat(dbPath + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
}

// The retention in force is the latest started config's; a config that
// fails to start (Stop without a newer one) gives it back to the one it
// replaced. usage_retention must be positive.
func TestUsageRetentionFollowsConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	path := filepath.Join(dir, "gw.db")
	start := func(retention time.Duration) *App {
		a := &App{Storage: path, UsageRetention: caddy.Duration(retention)}
		if err := a.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := start(90 * 24 * time.Hour)
	defer a.Cleanup()
	defer a.Stop()
	if got := a.shared.UsageRetention(); got != 90*24*time.Hour {
		t.Fatalf("retention %v after the first start", got)
	}
	b := start(0)
	if got := a.shared.UsageRetention(); got != 0 {
		t.Fatalf("retention %v after a reload without one", got)
	}
	_ = b.Stop() // rolled back: a is in force again
	_ = b.Cleanup()
	if got := a.shared.UsageRetention(); got != 90*24*time.Hour {
		t.Fatalf("retention %v after the rollback", got)
	}

	bad := &App{Storage: path, UsageRetention: caddy.Duration(-time.Hour)}
	if err := bad.Provision(ctx); err == nil {
		t.Fatal("a negative usage_retention provisioned")
	}
	_ = bad.Cleanup()
}
