package fakeprovider

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
)

func TestMemListener(t *testing.T) {
	ln := NewMemListener()
	srv := &http.Server{Handler: New(Options{})}
	go func() { _ = srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return ln.Dial(ctx) }}}
	resp, err := client.Get("http://fake.invalid/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_ = srv.Close()
	if _, err := ln.Dial(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("dial after close: %v", err)
	}
}
