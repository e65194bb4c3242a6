package manage

import (
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// State is the management state of one store, shared by every
// configuration that uses the store: the store handle, the published
// snapshot of the resources, the in-memory access key index and the last
// uses not yet written.
type State struct {
	db     Store
	key    secrets.Key
	logger *zap.Logger

	// keys maps token hashes to access keys. Readers load the map without
	// locking; writers (the management API) copy it under keysMu.
	keys   atomic.Pointer[map[secrets.Hash]*store.AccessKey]
	keysMu sync.Mutex

	// snap is the snapshot of the other management resources; mu
	// serialises their changes.
	snap atomic.Pointer[Snapshot]
	mu   sync.Mutex

	// lastUsed collects access and provider key use (id → unix nanos),
	// written by FlushLastUsed every few seconds: no write per request.
	lastUsed sync.Map
}

// Open loads the management state of db: it creates the default account
// on first start, then reads the resources and the access key index.
// Provider keys are unsealed with key.
func Open(db Store, key secrets.Key, logger *zap.Logger) (*State, error) {
	s := &State{db: db, key: key, logger: logger}
	err := s.ensureDefaultAccount()
	if err == nil {
		err = s.reloadState()
	}
	if err == nil {
		err = s.reloadKeys()
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Env is what the service needs from the configuration it serves: its
// providers and catalog, and its credit settings.
type Env interface {
	// ConfiguredProvider reports whether id names a built-in or
	// configured provider (not one added through the service).
	ConfiguredProvider(id string) bool
	// Provider reports whether requests can use provider id with the
	// resources of st (custom providers included).
	Provider(st *Snapshot, id string) bool
	// CatalogModel reports whether name is a model of the catalog.
	CatalogModel(name string) bool
	// PurchaseLimits returns the effective minimum and maximum purchase
	// with the gateway config of st.
	PurchaseLimits(st *Snapshot) (min, max money.Nano)
	// GatewayConfigChanged applies the gateway config after a change
	// (attempted or committed).
	GatewayConfigChanged()
}

// Service is the management service: the resources' CRUD, validation and
// PATCH rules, the credits API and the usage queries, over the shared
// State of a store, for one configuration (env).
type Service struct {
	*State
	ledger *credits.Ledger
	env    Env
}

// NewService returns the service of st for a configuration; ledger holds
// the credit balances of st's store.
func NewService(st *State, ledger *credits.Ledger, env Env) *Service {
	return &Service{State: st, ledger: ledger, env: env}
}
