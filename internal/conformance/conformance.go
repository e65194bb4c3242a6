// Package conformance is the behavioural check every storage engine of
// the gateway must pass. It drives the engine only through the interfaces
// the gateway declares (Engine) and the packages that use them — the
// management service (internal/manage), the credit ledger
// (internal/credits) and the group-commit usage writer (internal/store) —
// so a second engine proves itself by running the same suite with its own
// Factory, the way nettest.TestConn checks a net.Conn:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, myFactory) }
//
// Checks are deterministic: ledger expiry runs on an injected clock and
// usage events carry fixed timestamps; nothing asserts a duration.
package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Engine is a storage engine as the gateway uses it: every interface the
// gateway declares at its storage seam — the management service's
// (manage.Store: resources, usage queries), the credit ledger's
// (credits.Store) and the usage writer's (store.UsageStorer).
type Engine interface {
	manage.Store
	credits.Store
	store.UsageStorer
}

// Factory opens a fresh, empty engine for one subtest and closes it when
// the subtest ends. reopen closes the engine as a process exit would
// (after its last commit, without anything else running) and opens the
// same data again: a restart, or a crash when the caller skipped the work
// a clean shutdown does (the usage Writer). The engine it returns
// replaces db and is closed at the end of the subtest too.
type Factory func(t *testing.T) (db Engine, reopen func() Engine)

// Run runs every check of the suite.
func Run(t *testing.T, f Factory) {
	t.Run("Resources", func(t *testing.T) { TestResources(t, f) })
	t.Run("Ledger", func(t *testing.T) { TestLedger(t, f) })
	t.Run("Usage", func(t *testing.T) { TestUsage(t, f) })
	t.Run("Leases", func(t *testing.T) { TestLeases(t, f) })
	t.Run("Retention", func(t *testing.T) { TestRetention(t, f) })
}

// env is the smallest configuration a management service serves: two
// built-in providers, every model in the catalog, purchases from $5.
type env struct{}

func (env) ConfiguredProvider(id string) bool                     { return id == "openai" || id == "anthropic" }
func (env) Provider(_ *manage.Snapshot, id string) bool           { return id == "openai" || id == "anthropic" }
func (env) CatalogModel(string) bool                              { return true }
func (env) PurchaseLimits(*manage.Snapshot) (min, max money.Nano) { return 5 * money.USD, 0 }
func (env) GatewayConfigChanged()                                 {}

var _ manage.Env = env{}

// openService builds the management service over db the way the ai app
// does (caddyaiGateway's openShared and App.Manage): manage.Open, then a
// ledger with its defaults, then the service bound to a configuration.
func openService(t *testing.T, db Engine, key secrets.Key) *manage.Service {
	t.Helper()
	st, err := manage.Open(db, key, zap.NewNop())
	if err != nil {
		t.Fatalf("opening management state: %v", err)
	}
	ledger, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		t.Fatalf("opening ledger: %v", err)
	}
	return manage.NewService(st, ledger, env{})
}

// ctx is the context of every engine call of the suite.
var ctx = context.Background()

// clock is an injected time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// t0 is the suite's fixed point in time (a Monday, 10:00 UTC).
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// must(f())(t) is f's value, or t fails with f's error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// must2 is must for two values.
func must2[A, B any](a A, b B, err error) func(*testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func patch(t *testing.T, body string) manage.Patch {
	t.Helper()
	return must(manage.ParsePatch([]byte(body)))(t)
}

// wantInvalid fails unless err is an InvalidError naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var ie *manage.InvalidError
	if !errors.As(err, &ie) || ie.Field != field {
		t.Fatalf("got %v (%T), want an InvalidError naming %q", err, err, field)
	}
}
