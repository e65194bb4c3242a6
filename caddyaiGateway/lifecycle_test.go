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
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
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
	s, err := openShared(storageRef{engine: engineBBolt, where: dbPath}, orig, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Destruct(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	newApp := func() *App {
		return &App{logger: zap.NewNop(), life: new(lifecycle), dataDir: data, storage: storageRef{engine: engineBBolt, where: dbPath}, haveAdmin: true,
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
	a := &App{logger: zap.NewNop(), life: new(lifecycle), dataDir: filepath.Join(dir, "data"), storage: storageRef{engine: engineBBolt, where: dbPath}, haveAdmin: true,
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

func lifecycleEvent(n int) *store.UsageEvent {
	ts := time.Now()
	return &store.UsageEvent{ID: ids.At("ue", ts), RequestID: "req_inflight_" + string(rune('a'+n)), Attempt: 1, Timestamp: ts,
		ProviderID: "openai", Model: "gpt-4o", Status: 200, RetryAction: store.RetrySucceeded}
}

// Destruct cuts the requests in flight and waits for them to settle
// before it closes the usage writer and the database: a stream cut at
// shutdown still settles and records its usage. New requests are refused
// meanwhile.
func TestDestructWaitsForRequestsInFlight(t *testing.T) {
	s, err := openShared(storageRef{engine: engineBBolt, where: filepath.Join(t.TempDir(), "gw.db")}, secrets.NewKey(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, entry, ok := s.enter(context.Background())
	if !ok {
		t.Fatal("enter refused before shutdown")
	}
	var writeErr error
	var wrote, cut atomic.Bool
	go func() {
		<-ctx.Done() // a stream runs until the shutdown cuts it
		cut.Store(shuttingDown(ctx))
		time.Sleep(200 * time.Millisecond)
		// what a settling handler does: a ledger write and a usage event
		_, writeErr = s.ledger.Adjust(manage.DefaultAccountID, credits.Adjustment, 1*money.USD, "late settle")
		s.usage.RecordUsage(lifecycleEvent(0))
		wrote.Store(true)
		entry.Leave()
		entry.Leave() // idempotent
	}()
	start := time.Now()
	destructed := make(chan error, 1)
	go func() { destructed <- s.Destruct() }()
	time.Sleep(50 * time.Millisecond)
	if _, _, ok := s.enter(context.Background()); ok {
		t.Fatal("enter admitted a request while the store closes")
	}
	if err := <-destructed; err != nil {
		t.Fatal(err)
	}
	if !wrote.Load() || writeErr != nil {
		t.Fatalf("Destruct returned before the request left (wrote %v, err %v)", wrote.Load(), writeErr)
	}
	if !cut.Load() {
		t.Fatal("the request in flight was not cut with errShutdown")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("Destruct took %s", d)
	}
	// the usage event reached the database before it closed
	db, err := boltstore.Open(s.ref.where)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if evs, err := db.RequestUsage(context.Background(), lifecycleEvent(0).RequestID); err != nil || len(evs) != 1 {
		t.Fatalf("usage of the request in flight: %v %v", evs, err)
	}
}

// The wait is bounded: a request that never leaves delays Destruct by
// inflightWait, and the log says how many were still in flight.
func TestDestructGivesUpOnStuckRequests(t *testing.T) {
	old := inflightWait
	inflightWait = 100 * time.Millisecond
	defer func() { inflightWait = old }()
	core, logs := observer.New(zapcore.InfoLevel)
	s, err := openShared(storageRef{engine: engineBBolt, where: filepath.Join(t.TempDir(), "gw.db")}, secrets.NewKey(), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	_, e1, _ := s.enter(context.Background())
	_, e2, _ := s.enter(context.Background())
	defer e1.Leave()
	defer e2.Leave()
	start := time.Now()
	if err := s.Destruct(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Destruct took %s", d)
	}
	found := logs.FilterMessageSnippet("still in flight").All()
	if len(found) != 1 || found[0].ContextMap()["requests"] != int64(2) {
		t.Fatalf("log: %v", logs.All())
	}
}

// A threshold crossed after the store closed (a late settlement) and a
// usage event recorded after it are dropped with a log line; nothing
// panics.
func TestLateEventsAfterDestruct(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	s, err := openShared(storageRef{engine: engineBBolt, where: filepath.Join(t.TempDir(), "gw.db")}, secrets.NewKey(), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	s.lowBalance.SetWebhook("http://127.0.0.1:1/hook")
	if err := s.Destruct(); err != nil {
		t.Fatal(err)
	}
	s.lowBalance.Notify(manage.DefaultAccountID, 1*money.USD, 2*money.USD)
	s.usage.RecordUsage(lifecycleEvent(1))
	if len(logs.FilterMessageSnippet("committing usage events").All()) != 1 {
		t.Fatalf("late usage event not reported: %v", logs.All())
	}
}
