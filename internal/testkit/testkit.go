// Package testkit holds helpers several test packages share.
package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"
)

// Within runs f and, if it has not returned within d, prints every
// goroutine's stack and exits the test binary: a deadlocked store would
// hang the test's cleanup (closing the store, stopping Caddy) too, so
// failing the test is not enough.
func Within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "--- FAIL: %s: %s did not return within %s (deadlock)\n\n%s\n", t.Name(), what, d, buf)
		os.Exit(1)
	}
}

// Files returns every path under dir (relative to it), sorted; none when
// dir does not exist.
func Files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
