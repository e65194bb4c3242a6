package fakeprovider

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// InMemory serves a handler on a MemListener for one made-up address:
// only the transports routed to it (Route) reach it, in memory, so
// creating it binds no port and nothing outside the process can connect.
type InMemory struct {
	addr string
	ln   *MemListener
	srv  *http.Server
	once sync.Once
}

// NewInMemory prepares h to answer for addr (host:port); Start serves it.
func NewInMemory(addr string, h http.Handler) *InMemory {
	return &InMemory{
		addr: addr,
		ln:   NewMemListener(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
	}
}

// Addr is the host:port it answers for.
func (s *InMemory) Addr() string { return s.addr }

// Start serves it (once).
func (s *InMemory) Start() {
	s.once.Do(func() { go func() { _ = s.srv.Serve(s.ln) }() })
}

// Route makes t reach it for its address, in memory and never through a
// proxy; every other address is dialled as before.
func (s *InMemory) Route(t *http.Transport) {
	dial, proxy := t.DialContext, t.Proxy
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == s.addr {
			return s.ln.Dial(ctx)
		}
		return dial(ctx, network, addr)
	}
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Host == s.addr || proxy == nil {
			return nil, nil
		}
		return proxy(r)
	}
}

// Close shuts the server down (waiting up to 5 seconds for open
// connections) and closes the listener.
func (s *InMemory) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx) // also closes the listener
	_ = s.ln.Close()
}
