package caddyaigateway

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
)

// demoUpstream is the fake provider that answers inside this process for
// `demo_upstream`: the quick start answers without any provider account,
// through the same code path real providers use. It listens on no port:
// the app's transport connects to it in memory, so provisioning it (as
// `caddy validate` does) binds nothing, and nothing outside the process
// can reach it.
type demoUpstream struct {
	// addr is the host:port of its base URLs; it never resolves (.invalid)
	// and only the app's transport knows it.
	addr string
	ln   *fakeprovider.MemListener
	srv  *http.Server
	once sync.Once
}

// demoSeq numbers demo upstreams: each config's has its own address, so
// a transport never sends to the demo of another config (reloads overlap).
var demoSeq atomic.Int64

// newDemoUpstream prepares a demo upstream; start serves it.
func newDemoUpstream() *demoUpstream {
	return &demoUpstream{
		addr: "demo-upstream-" + strconv.FormatInt(demoSeq.Add(1), 10) + ".invalid:80",
		ln:   fakeprovider.NewMemListener(),
		srv: &http.Server{
			Handler:           fakeprovider.New(fakeprovider.Options{Latency: 20 * time.Millisecond}),
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
}

// start serves the demo upstream (once).
func (d *demoUpstream) start() {
	d.once.Do(func() { go func() { _ = d.srv.Serve(d.ln) }() })
}

// route makes t reach the demo upstream for its address, in memory and
// never through a proxy.
func (d *demoUpstream) route(t *http.Transport) {
	dial, proxy := t.DialContext, t.Proxy
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == d.addr {
			return d.ln.Dial(ctx)
		}
		return dial(ctx, network, addr)
	}
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Host == d.addr || proxy == nil {
			return nil, nil
		}
		return proxy(r)
	}
}

// baseURL is the demo's base URL for a provider of format f: the fake
// provider serves every format's API at its usual root.
func (d *demoUpstream) baseURL(f catalog.Format) string {
	base := "http://" + d.addr
	if pf := provider.For(f); pf != nil {
		base += pf.BasePath()
	}
	return base
}

func (d *demoUpstream) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx) // also closes the listener
	_ = d.ln.Close()
}
