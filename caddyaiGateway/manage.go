package caddyaigateway

import (
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Manage returns the management service of this config: the shared
// resources of its store, validated against its providers and credit
// settings. The app must be active (Start, or a handler's first request).
func (a *App) Manage() *manage.Service {
	return manage.NewService(a.shared.Manage, a.shared.Ledger, manageEnv{a})
}

// manageEnv is what the management service needs of this config.
type manageEnv struct{ a *App }

func (e manageEnv) ConfiguredProvider(id string) bool { return e.a.registry.Provider(id) != nil }

func (e manageEnv) Provider(st *manage.Snapshot, id string) bool {
	return e.a.registryFor(st).Provider(id) != nil
}

func (e manageEnv) CatalogModel(name string) bool { return len(e.a.registry.Resolve(name)) > 0 }

func (e manageEnv) PurchaseLimits(st *manage.Snapshot) (min, max money.Nano) {
	c := e.a.effectiveCredits(st)
	return c.MinPurchase, c.MaxPurchase
}

func (e manageEnv) GatewayConfigChanged() { e.a.applyCreditSettings() }

var _ manage.Env = manageEnv{}
