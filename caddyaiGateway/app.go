// Package caddyaigateway is an AI gateway that runs inside Caddy: the `ai`
// app (shared state: bbolt store, secret key, providers and their managed
// keys, model catalog) and the HTTP handlers `ai_auth` and `ai_gateway`.
package caddyaigateway

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `ai` app. It owns everything the gateway's handlers and the
// management API share: the bbolt store (kept open across config reloads),
// the secret key that encrypts provider keys, the bootstrap management key,
// and the provider registry with the model catalog.
type App struct {
	// Storage is the path of the bbolt database file. Default:
	// `ai-gateway/ai-gateway.db` under Caddy's data directory.
	Storage string `json:"storage,omitempty"`

	// SecretKey encrypts provider keys at rest (AES-256-GCM). A 64-digit hex
	// string or base64 of 32 bytes is used as is; anything else is hashed
	// into a key. Default: a random key generated on first start into
	// `ai-gateway/secret.key` under Caddy's data directory. Changing it
	// makes stored provider keys unreadable, so the app refuses to start
	// with a key that does not match the database.
	SecretKey string `json:"secret_key,omitempty"`

	// AdminKey is the bootstrap management API key: `Authorization: Bearer
	// <admin_key>` on Caddy's admin endpoint under /ai/. Default: generated
	// on first start into `ai-gateway/admin.key` under Caddy's data
	// directory (the log says where).
	AdminKey string `json:"admin_key,omitempty"`

	// PerRequestTimeout bounds one upstream attempt: until the whole answer
	// for JSON responses, until the first event for streams. Default 120s.
	PerRequestTimeout caddy.Duration `json:"per_request_timeout,omitempty"`

	// TotalTimeout bounds the time until an answer starts, failover
	// included; past it the client gets 504 total_timeout. Default 300s.
	TotalTimeout caddy.Duration `json:"total_timeout,omitempty"`

	// DemoUpstream answers for every provider that has no managed api_key
	// with a fake provider running inside this process, so the gateway can
	// be tried without any provider account. Never enable in production.
	DemoUpstream bool `json:"demo_upstream,omitempty"`

	// Credits are the prepaid-credit settings (fees, minimum purchase,
	// lifetime, low-balance warnings); the management API's gateway config
	// overrides them.
	CreditConfig

	// Providers configures built-in providers (managed keys, base_url,
	// model overrides) and adds custom ones.
	Providers []*ProviderConfig `json:"providers,omitempty"`

	shared       *shared
	registry     *Registry
	eff          *atomic.Pointer[effectiveRegistry] // set in Provision (App is copied by CaddyModule)
	adminKeyHash secrets.Hash
	transport    *http.Transport
	demo         *demoUpstream
	credits      creditSettings
	logger       *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "ai",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision opens (or joins) the shared store, loads secrets and builds the
// provider registry.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.eff = new(atomic.Pointer[effectiveRegistry])
	repl := caddy.NewReplacer()

	if a.PerRequestTimeout <= 0 {
		a.PerRequestTimeout = caddy.Duration(120 * time.Second)
	}
	if a.TotalTimeout <= 0 {
		a.TotalTimeout = caddy.Duration(300 * time.Second)
	}

	dataDir := filepath.Join(caddy.AppDataDir(), "ai-gateway")
	path := repl.ReplaceAll(a.Storage, "")
	if path == "" {
		path = filepath.Join(dataDir, "ai-gateway.db")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("resolving storage path: %w", err)
	}

	secretText := repl.ReplaceAll(a.SecretKey, "")
	if secretText == "" {
		secretText, err = loadOrCreateFile(filepath.Join(dataDir, "secret.key"), func() string { return secrets.NewKey().String() }, a.logger, "secret key")
		if err != nil {
			return err
		}
	}
	key, err := secrets.ParseKey(secretText)
	if err != nil {
		return fmt.Errorf("secret_key: %w", err)
	}

	adminKey := repl.ReplaceAll(a.AdminKey, "")
	if adminKey == "" {
		adminKey, err = loadOrCreateFile(filepath.Join(dataDir, "admin.key"), func() string { return secrets.NewToken(secrets.ManagementKeyPrefix) }, a.logger, "management API key")
		if err != nil {
			return err
		}
	}
	if len(adminKey) < 16 {
		return errors.New("admin_key: must be at least 16 characters")
	}
	a.adminKeyHash = secrets.HashToken(adminKey)

	if a.credits, err = a.CreditConfig.parse(); err != nil {
		return err
	}
	a.shared, err = acquireShared(path, key, a.logger)
	if err != nil {
		return err
	}
	a.applyCreditSettings()

	if err := initMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	a.transport = newTransport()
	if a.DemoUpstream {
		a.demo, err = startDemoUpstream()
		if err != nil {
			return fmt.Errorf("starting demo upstream: %w", err)
		}
	}
	a.registry, err = buildRegistry(a.Providers, repl, a.demo, a.logger)
	if err != nil {
		return err
	}
	return nil
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

// Start publishes the app to the management API. Caddy starts a new
// config before stopping the old one, so the newest app wins.
func (a *App) Start() error {
	current.Store(a)
	return nil
}

// Stop withdraws the app from the management API unless a newer config
// already replaced it.
func (a *App) Stop() error {
	current.CompareAndSwap(a, nil)
	return nil
}

// Cleanup releases the shared store (closed once no config uses it) and
// the demo upstream. Safe after a failed Provision.
func (a *App) Cleanup() error {
	if a.demo != nil {
		a.demo.close()
	}
	if a.transport != nil {
		a.transport.CloseIdleConnections()
	}
	if a.shared != nil {
		return releaseShared(a.shared.path)
	}
	return nil
}

// CheckManagementKey reports whether token is a valid management API key.
// The comparison is constant-time.
// API keys from /ai/api-keys are found by the SHA-256 of the token: a
// hash lookup reveals nothing usable about the token.
func (a *App) CheckManagementKey(token string) bool {
	h := secrets.HashToken(token)
	if subtle.ConstantTimeCompare(h[:], a.adminKeyHash[:]) == 1 {
		return true
	}
	_, ok := a.shared.snapshot().apiKeys[h]
	return ok
}

// Registry returns the provider registry of this config.
func (a *App) Registry() *Registry { return a.registry }

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// loadOrCreateFile returns the trimmed content of path, creating it with
// gen() (mode 0600) when absent.
func loadOrCreateFile(path string, gen func() string, logger *zap.Logger, what string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", what, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("creating %s directory: %w", what, err)
	}
	v := gen()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		// another process won the race: use its value
		return loadOrCreateFile(path, gen, logger, what)
	}
	if err != nil {
		return "", fmt.Errorf("creating %s file: %w", what, err)
	}
	if _, err := f.WriteString(v + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("writing %s file: %w", what, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s file: %w", what, err)
	}
	logger.Warn("generated a new "+what+"; keep this file safe or configure it explicitly", zap.String("file", path))
	return v, nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
