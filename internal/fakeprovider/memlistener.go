package fakeprovider

import (
	"context"
	"net"
	"sync"
)

// MemListener is a net.Listener whose connections are in-memory pipes:
// the fake provider served on it (the demo upstream) binds no port and is
// reachable only through Dial, from a transport in the same process.
type MemListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

// NewMemListener returns a listener; Dial connects to it.
func NewMemListener() *MemListener {
	return &MemListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Dial opens a connection to the listener.
func (l *MemListener) Dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
	client.Close()
	server.Close()
	return nil, &net.OpError{Op: "dial", Net: "memory", Err: net.ErrClosed}
}

func (l *MemListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *MemListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *MemListener) Addr() net.Addr { return memAddr{} }

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "demo-upstream" }
