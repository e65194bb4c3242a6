package caddyaigateway

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/inflight"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/node"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

// pool holds one node state per store. Caddy provisions a new config
// before it stops the old one; both must use the same open bbolt file (a
// second Open would wait for the file lock forever) or PostgreSQL pool,
// and the same in-memory indexes.
var pool = caddy.NewUsagePool()

// shared is a store's node state as the pool holds it: closed (Destruct)
// once no configuration uses it.
type shared struct {
	*node.State
	id string // the pool's key (node.Storage.ID)
}

// errGatewayStopping is the answer to a request that arrives while the
// store closes (node.State.Enter reported ok=false).
var errGatewayStopping = apierr.New(http.StatusServiceUnavailable, apierr.StorageUnavailable, "the gateway is shutting down; retry the request")

// errShutdown cuts the requests in flight when the store closes;
// shuttingDown reports whether it cut ctx.
var (
	errShutdown  = inflight.ErrShutdown
	shuttingDown = inflight.ShuttingDown
)

// acquireShared opens the state of the store ref names, or joins the one
// a running configuration has open; fresh reports that it was opened now.
// Each successful call is paired with releaseShared.
func acquireShared(ref node.Storage, key secrets.Key, logger *zap.Logger) (s *shared, fresh bool, err error) {
	id := ref.ID()
	v, loaded, err := pool.LoadOrNew(id, func() (caddy.Destructor, error) {
		sh := &shared{id: id}
		st, err := node.Open(ref, key, node.Options{Logger: logger, OnReload: sh.afterReload})
		if err != nil {
			return nil, err
		}
		sh.State = st
		return sh, nil
	})
	if err != nil {
		return nil, false, err
	}
	s = v.(*shared)
	if !s.UsesKey(key) {
		_, _ = pool.Delete(id)
		return nil, false, fmt.Errorf("secret_key differs from the one the running configuration uses for %s; provider keys are encrypted with it", ref)
	}
	return s, !loaded, nil
}

func releaseShared(id string) error {
	_, err := pool.Delete(id)
	return err
}

// afterReload applies what another node changed and the request path does
// not read from the snapshot itself: the gateway config's credit settings
// (lifetime, thresholds, webhook) of the running configuration.
func (s *shared) afterReload() {
	if a := Current(); a != nil && a.shared == s {
		a.applyCreditSettings()
	}
}

// Destruct closes the node state once no configuration uses it; it waits
// for the requests in flight (node.State.Close).
func (s *shared) Destruct() error { return s.Close() }

var _ caddy.Destructor = (*shared)(nil)
