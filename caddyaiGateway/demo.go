package caddyaigateway

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// demoUpstream is the fake provider served on a loopback port inside this
// process for `demo_upstream`: the quick start answers without any
// provider account, through the same code path real providers use.
type demoUpstream struct {
	addr string
	srv  *http.Server
}

func startDemoUpstream() (*demoUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &demoUpstream{
		addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           fakeprovider.New(fakeprovider.Options{Latency: 20 * time.Millisecond}),
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
	go func() { _ = d.srv.Serve(ln) }()
	return d, nil
}

func (d *demoUpstream) baseURL(f catalog.Format) string {
	if f == catalog.Anthropic {
		return "http://" + d.addr
	}
	return "http://" + d.addr + "/v1"
}

func (d *demoUpstream) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx)
}
