package caddyaigateway

import (
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/node"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

// A second configuration on the same store joins the open state (a
// second bbolt open would wait for the file lock forever), and only with
// the same secret key; the store closes when the last one releases it.
func TestAcquireSharedJoins(t *testing.T) {
	ref := node.Storage{Engine: node.BBolt, Where: filepath.Join(t.TempDir(), "gw.db")}
	key := secrets.NewKey()
	a, fresh, err := acquireShared(ref, key, zap.NewNop())
	if err != nil || !fresh {
		t.Fatalf("first: fresh %v, %v", fresh, err)
	}
	b, fresh, err := acquireShared(ref, key, zap.NewNop())
	if err != nil || fresh || b != a {
		t.Fatalf("second: fresh %v, same %v, %v", fresh, b == a, err)
	}
	if _, _, err := acquireShared(ref, secrets.NewKey(), zap.NewNop()); err == nil || !strings.Contains(err.Error(), "secret_key differs") {
		t.Fatalf("another key: %v", err)
	}
	for range 2 {
		if err := releaseShared(a.id); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Ready(t.Context()); err == nil {
		t.Fatal("the store is still open after the last release")
	}
	c, fresh, err := acquireShared(ref, key, zap.NewNop())
	if err != nil || !fresh || c == a {
		t.Fatalf("after the last release: fresh %v, %v", fresh, err)
	}
	_ = releaseShared(c.id)
}
