package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	caddyOnce sync.Once
	caddyBin  string
	caddyErr  error
)

// CaddyBinary builds ./cmd/caddy (Caddy with the gateway) once per test
// process, for tests that run real Caddy processes, and returns its path.
// The binary stays in a temporary directory for the rest of the process.
func CaddyBinary(t testing.TB) string {
	t.Helper()
	caddyOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0) // internal/testkit/caddy.go
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "ai-gateway-caddy-")
		if err != nil {
			caddyErr = err
			return
		}
		caddyBin = filepath.Join(dir, "caddy")
		cmd := exec.Command("go", "build", "-o", caddyBin, "./cmd/caddy")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			caddyErr = fmt.Errorf("building caddy: %v\n%s", err, out)
		}
	})
	if caddyErr != nil {
		t.Fatal(caddyErr)
	}
	return caddyBin
}
