// Package caddyaigateway is an AI gateway that runs inside Caddy: the `ai`
// app (its store, bbolt or PostgreSQL, held per process by internal/node;
// the secret key; providers and their managed keys; the model catalog;
// credit settings; firewall policies) and the HTTP handlers `ai_auth`
// (access keys), `ai_credits` (prepaid balances), `ai_gateway` (routing,
// failover, streaming, translation, the firewall, metering and settlement)
// and `ai_health` (readiness and liveness). The management API module
// `admin.api.ai` and the dashboard handler `ai_dashboard` live in the admin
// package; the `caddy ai` commands in internal/aicmd.
package caddyaigateway

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/node"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/upstream"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `ai` app. It owns everything the gateway's handlers and the
// management API share: the bbolt store (kept open across config reloads),
// the secret key that encrypts provider keys, the bootstrap management key,
// and the provider registry with the model catalog.
type App struct {
	// Storage is where the gateway's state lives: with StorageEngine
	// "bbolt" (the default) the path of the database file, default
	// `ai-gateway/ai-gateway.db` under Caddy's data directory; with
	// "postgres" a libpq URL (normally `{env.AI_GATEWAY_DATABASE_URL}`).
	// Placeholders are resolved at provision.
	Storage string `json:"storage,omitempty"`

	// StorageEngine is "bbolt" (default: one node, one file) or "postgres"
	// (every node on the database shares the state; secret_key is then
	// required and must be the same on every node).
	StorageEngine string `json:"storage_engine,omitempty"`

	// SecretKey encrypts provider keys at rest (AES-256-GCM). A 64-digit hex
	// string or base64 of 32 bytes is used as is; any other string is a
	// passphrase hashed (SHA-256) into a key. Use a placeholder
	// (`{env.AI_GATEWAY_SECRET_KEY}`) to keep it out of Caddy's config API. Default (bbolt): a random key generated on first start
	// into a file beside the database, `<storage path>.key` (mode 0600),
	// so the database and its key move together; a `secret.key` that an
	// earlier version kept in Caddy's data dir is still used while no file
	// is beside the database. Changing it makes stored provider keys
	// unreadable, so the app refuses to start with a key that does not
	// match the database, naming the file it read. Required with
	// `storage postgres`.
	SecretKey string `json:"secret_key,omitempty"`

	// AdminKey is the bootstrap management API key, at least 16
	// characters: `Authorization: Bearer <admin_key>` on Caddy's admin
	// endpoint under /ai/ and for the dashboard's login. Placeholders are
	// resolved at provision. Default: generated
	// on first start into a file beside the bbolt database,
	// `<storage path>.admin.key` (mode 0600; the log says where), or with
	// PostgreSQL into `ai-gateway/admin.key` under each node's Caddy data
	// directory (set admin_key, or use API keys, for one key on every
	// node).
	AdminKey string `json:"admin_key,omitempty"`

	// PerRequestTimeout bounds one upstream attempt: until the whole answer
	// for JSON responses, until the first event for streams. A duration
	// (`60s` in the Caddyfile; in JSON nanoseconds or a string). Default
	// 120s; the gateway config's perRequestTimeout overrides it.
	PerRequestTimeout caddy.Duration `json:"per_request_timeout,omitempty"`

	// TotalTimeout bounds the time until an answer starts, failover
	// included; past it the client gets 504 total_timeout. A duration, not
	// shorter than PerRequestTimeout. Default 300s; the gateway config's
	// totalTimeout overrides it.
	TotalTimeout caddy.Duration `json:"total_timeout,omitempty"`

	// UsageRetention is how long usage events are kept. Older ones are
	// deleted in the background (a minute after start, then every 10
	// minutes), in batches that keep requests flowing, on either storage
	// engine; whole UTC hours go at a time, so an event lives up to an
	// hour longer. A duration: `90d` in the Caddyfile; in JSON nanoseconds
	// or a string such as "2160h". When set it must be positive. Default:
	// usage events are kept forever. Credit ledger entries are never
	// deleted.
	UsageRetention caddy.Duration `json:"usage_retention,omitempty"`

	// FirewallPolicies are firewall policies (README: Firewall) that a
	// site's ai_gateway names with firewall_policy. Names must be unique.
	// Each is compiled at provision: a rule that does not compile fails
	// the config. Default: none.
	FirewallPolicies []*firewall.PolicyConfig `json:"firewall_policies,omitempty"`

	// DemoUpstream answers for every built-in provider that has no managed
	// api_key with a fake provider running inside this process (custom
	// providers are called as configured), so the gateway can be tried
	// without any provider account. Default false. Never enable in
	// production.
	DemoUpstream bool `json:"demo_upstream,omitempty"`

	// CreditConfig holds the prepaid-credit settings (fees, purchase
	// bounds, credit lifetime, low-balance warnings), inline in this
	// object's JSON; the management API's gateway config overrides them.
	CreditConfig

	// Providers configures built-in providers (managed keys, base_url,
	// model overrides) and adds custom ones. Default: the built-ins as the
	// catalog has them, with no managed keys.
	Providers []*ProviderConfig `json:"providers,omitempty"`

	// shared is set once the app is activated (Start, or the first
	// request of a handler that runs before Start); read it through
	// sharedState, or after Start.
	shared       *shared
	registry     *registry.Registry
	eff          *atomic.Pointer[effectiveRegistry] // set in Provision (App is copied by CaddyModule)
	adminKeyHash secrets.Hash
	transport    *http.Transport
	demo         *demoUpstream
	credits      credits.Settings
	logger       *zap.Logger

	// Resolved in Provision, used by activate.
	storage    node.Storage
	dataDir    string
	secret     secrets.Key
	haveSecret bool // secret_key configured (else: the key file)
	haveAdmin  bool // admin_key configured (else: the key file)

	life *lifecycle // set in Provision

	// prev is the app this one replaced at Start, until that app stops: if
	// this config is rolled back (another app failed to start), prev stays
	// in force and gets its credit settings back. stopped marks a stopped
	// app. Start and Stop are serialised by Caddy.
	prev    *App
	stopped bool

	// firewall holds FirewallPolicies compiled, by name.
	firewall map[string]*firewall.Policy
}

// lifecycle opens the shared state once: at Start, or at the first request
// of a handler whose server started before this app (Caddy starts apps in
// no fixed order). Never in Provision: `caddy validate` provisions without
// starting, and must leave no file, lock or listener behind.
type lifecycle struct {
	once sync.Once
	err  error

	// running is true from Start to Stop: what ai_health's readiness
	// reports besides the store.
	running atomic.Bool
}

// isRunning reports whether the app is between Start and Stop.
func (a *App) isRunning() bool { return a.life != nil && a.life.running.Load() }

var errCleanedUp = errors.New("the ai app of this configuration was cleaned up")

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "ai",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision resolves and checks the configuration: placeholders, secret
// and admin keys given in the config, credit settings, providers and
// models. It has no side effects (no file, lock, listener or goroutine):
// `caddy validate` provisions without starting. Everything else happens in
// activate, from Start.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.eff = new(atomic.Pointer[effectiveRegistry])
	a.life = new(lifecycle)
	repl := caddy.NewReplacer()

	if a.PerRequestTimeout < 0 || a.TotalTimeout < 0 {
		return errors.New("per_request_timeout and total_timeout must be positive")
	}
	if a.UsageRetention < 0 {
		return errors.New("usage_retention must be positive")
	}
	if a.PerRequestTimeout == 0 {
		a.PerRequestTimeout = caddy.Duration(120 * time.Second)
	}
	if a.TotalTimeout == 0 {
		a.TotalTimeout = caddy.Duration(300 * time.Second)
	}

	a.dataDir = filepath.Join(caddy.AppDataDir(), "ai-gateway")
	path := repl.ReplaceAll(a.Storage, "")
	var err error
	switch a.StorageEngine {
	case "", node.BBolt:
		if path == "" {
			path = filepath.Join(a.dataDir, "ai-gateway.db")
		}
		if path, err = filepath.Abs(path); err != nil {
			return fmt.Errorf("resolving storage path: %w", err)
		}
		a.storage = node.Storage{Engine: node.BBolt, Where: path}
	case node.Postgres:
		if path == "" {
			return errors.New("storage postgres: the database URL is empty (is AI_GATEWAY_DATABASE_URL set?)")
		}
		a.storage = node.Storage{Engine: node.Postgres, Where: path}
	default:
		return fmt.Errorf("storage_engine: %q is not bbolt or postgres", a.StorageEngine)
	}

	// Runtime placeholders ({env.*}, {file.*}) keep secrets out of Caddy's
	// config API and autosave.json; an empty result means "not configured".
	if secretText := strings.TrimSpace(repl.ReplaceAll(a.SecretKey, "")); secretText != "" {
		if a.secret, err = secrets.ParseKey(secretText); err != nil {
			return fmt.Errorf("secret_key: %w", err)
		}
		a.haveSecret = true
	}
	if adminKey := repl.ReplaceAll(a.AdminKey, ""); adminKey != "" {
		if err := secrets.CheckManagementKey(adminKey); err != nil {
			return fmt.Errorf("admin_key: %w", err)
		}
		a.adminKeyHash = secrets.HashToken(adminKey)
		a.haveAdmin = true
	}

	if a.credits, err = a.CreditConfig.parse(repl); err != nil {
		return err
	}
	if err := initMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	a.transport = upstream.NewTransport()
	if a.DemoUpstream {
		a.demo = newDemoUpstream()
		a.demo.route(a.transport)
	}
	a.registry, err = buildRegistry(a.Providers, repl, a.demo, a.logger)
	if err != nil {
		return err
	}
	return a.compileFirewall()
}

// sharedState returns the shared state (store, indexes, ledger), opening
// it on first use. Handlers call it at request time: the http app may start
// serving before this app's Start. The error is the one Start reports too.
func (a *App) sharedState() (*shared, error) {
	if a.life == nil { // an App built by a test around its own shared state
		if a.shared == nil {
			return nil, errors.New("the ai app is not provisioned")
		}
		return a.shared, nil
	}
	a.life.once.Do(func() { a.life.err = a.activate() })
	return a.shared, a.life.err
}

// ready makes sure the app's shared state (the store) is open: Caddy may
// start the http app, and so route requests, before the ai app. It
// answers 503 when the store cannot be opened.
func (a *App) ready() *apierr.Error {
	if _, err := a.sharedState(); err != nil {
		return apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the gateway's store is not available: "+err.Error())
	}
	return nil
}

// activate does everything with side effects, once: the secret and admin
// key files (generated on first start), the store (opened, or joined
// through the usage pool when a running config has it open) and its
// secret key check, and the demo upstream.
func (a *App) activate() error {
	key := node.SecretKey{Key: a.secret}
	if !a.haveSecret {
		var err error
		if key, err = node.LoadSecretKey(a.storage, a.dataDir, a.logger); err != nil {
			return err
		}
	}
	if !a.haveAdmin {
		h, err := node.LoadManagementKey(a.storage, a.dataDir, a.logger)
		if err != nil {
			return err
		}
		a.adminKeyHash = h
	}
	sh, fresh, err := acquireShared(a.storage, key.Key, a.logger)
	if err != nil {
		return key.Explain(err)
	}
	a.shared = sh
	if fresh {
		// No running config shares this store: these settings are the only
		// ones. Start applies them again (a reload's settings wait for it).
		a.applyCreditSettings()
		a.applyUsageRetention()
	}
	if a.demo != nil {
		a.demo.start()
	}
	return nil
}

// applyUsageRetention hands this config's usage_retention to the node
// state's retention loop: the latest config started is in force.
func (a *App) applyUsageRetention() {
	a.shared.SetUsageRetention(time.Duration(a.UsageRetention))
}

// Validate checks the configuration.
func (a *App) Validate() error {
	if a.TotalTimeout < a.PerRequestTimeout {
		return fmt.Errorf("total_timeout (%s) is shorter than per_request_timeout (%s)",
			time.Duration(a.TotalTimeout), time.Duration(a.PerRequestTimeout))
	}
	return nil
}

// current is the running app: the management API serves whichever `ai`
// app the running config has, including one that handlers loaded
// implicitly (a Caddyfile without an `ai {}` block).
var current atomic.Pointer[App]

// Current returns the `ai` app of the running configuration, or nil.
func Current() *App { return current.Load() }

// Start opens the shared state (if a handler has not already), applies
// this config's credit settings and usage retention, and publishes the
// app to the management API. Caddy starts a new config before stopping
// the old one, so the newest app wins.
func (a *App) Start() error {
	if _, err := a.sharedState(); err != nil {
		return err
	}
	a.applyCreditSettings()
	a.applyUsageRetention()
	a.prev = current.Swap(a)
	if a.prev != nil {
		a.prev.prev = nil // one level of rollback is all Caddy needs
	}
	a.life.running.Store(true)
	return nil
}

// Stop withdraws the app from the management API unless a newer config
// already replaced it. When this app is stopped because its config failed
// to start (another app's Start failed), the config it replaced keeps
// running: that app is published again with its credit settings and
// usage retention.
func (a *App) Stop() error {
	a.stopped = true
	if a.life != nil {
		a.life.running.Store(false)
	}
	if prev := a.prev; prev != nil && !prev.stopped {
		if current.CompareAndSwap(a, prev) {
			prev.applyCreditSettings()
			prev.applyUsageRetention()
		}
	} else {
		current.CompareAndSwap(a, nil)
	}
	a.prev = nil
	if cur := current.Load(); cur != nil && cur.prev == a {
		cur.prev = nil
	}
	return nil
}

// Cleanup releases the shared store (closed once no config uses it) and
// the demo upstream. Safe after a failed Provision, and after `caddy
// validate` (nothing was opened).
func (a *App) Cleanup() error {
	if a.life != nil {
		// waits for an activation under way; none can start after this
		a.life.once.Do(func() { a.life.err = errCleanedUp })
	}
	if a.demo != nil {
		a.demo.close()
	}
	if a.transport != nil {
		a.transport.CloseIdleConnections()
	}
	if a.shared != nil {
		return releaseShared(a.shared.id)
	}
	return nil
}

// CheckManagementKey reports whether token is a valid management API key.
// The comparison is constant-time.
// API keys from /ai/api-keys are found by the SHA-256 of the token: a
// hash lookup reveals nothing usable about the token.
func (a *App) CheckManagementKey(token string) bool {
	sh, err := a.sharedState() // also sets adminKeyHash from its file
	if err != nil {
		return false
	}
	h := secrets.HashToken(token)
	if subtle.ConstantTimeCompare(h[:], a.adminKeyHash[:]) == 1 {
		return true
	}
	_, ok := sh.Manage.Snapshot().APIKeys[h]
	return ok
}

// Registry returns the provider registry of this config.
func (a *App) Registry() *registry.Registry { return a.registry }

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
