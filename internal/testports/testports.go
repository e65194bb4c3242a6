// Package testports hands tests a free loopback port from a range of their
// own. Tests that pick a port, release it and have Caddy bind it later race
// with every other bind in between; test packages run in parallel, and the
// kernel hands out its ephemeral ports (32768 and up here) to httptest
// servers and outgoing connections. A range per package, below the
// ephemeral ones, leaves only races within a package, whose tests run one
// at a time.
package testports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// Ranges of the test packages that start servers on ports they choose.
const (
	Integration = 20000
	Crash       = 24000
	Admin       = 28000
	MultiNode   = 12000
	Commands    = 16000 // internal/aicmd
	Browser     = 8000  // integration/browser
	rangeSize   = 4000
)

// Free returns "127.0.0.1:port" for a port in [base, base+4000) that is
// free now.
func Free(t testing.TB, base int) string {
	t.Helper()
	start := rand.IntN(rangeSize)
	for i := 0; i < rangeSize; i++ {
		addr := fmt.Sprintf("127.0.0.1:%d", base+(start+i)%rangeSize)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatalf("no free port in %d-%d", base, base+rangeSize-1)
	return ""
}
