package caddyaigateway

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
)

// demoUpstream is the fake provider that answers inside this process for
// `demo_upstream`: the quick start answers without any provider account,
// through the same code path real providers use. It listens on no port
// (fakeprovider.InMemory): the app's transport connects to it in memory,
// so provisioning it (as `caddy validate` does) binds nothing, and
// nothing outside the process can reach it.
type demoUpstream struct {
	// addr is the host:port of its base URLs; it never resolves (.invalid)
	// and only the app's transport knows it.
	addr string
	mem  *fakeprovider.InMemory
}

// demoSeq numbers demo upstreams: each config's has its own address, so
// a transport never sends to the demo of another config (reloads overlap).
var demoSeq atomic.Int64

// newDemoUpstream prepares a demo upstream; start serves it, route makes
// a transport reach it, close stops it.
func newDemoUpstream() *demoUpstream {
	addr := "demo-upstream-" + strconv.FormatInt(demoSeq.Add(1), 10) + ".invalid:80"
	return &demoUpstream{addr: addr, mem: fakeprovider.NewInMemory(addr, fakeprovider.New(fakeprovider.Options{Latency: 20 * time.Millisecond}))}
}

func (d *demoUpstream) start()                  { d.mem.Start() }
func (d *demoUpstream) route(t *http.Transport) { d.mem.Route(t) }
func (d *demoUpstream) close()                  { d.mem.Close() }

// baseURL is the demo's base URL for a provider of format f: the fake
// provider serves every format's API at its usual root.
func (d *demoUpstream) baseURL(f catalog.Format) string {
	base := "http://" + d.addr
	if pf := provider.For(f); pf != nil {
		base += pf.BasePath()
	}
	return base
}
