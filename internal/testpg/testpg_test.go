package testpg

import (
	"strings"
	"testing"
)

// TestNoBinaries: without server binaries, starting says what is missing
// and how to provide it.
func TestNoBinaries(t *testing.T) {
	old := binGlob
	binGlob = "/nonexistent/*/bin/initdb"
	defer func() { binGlob = old }()
	t.Setenv("PATH", "")
	_, err := start()
	if err == nil || !strings.Contains(err.Error(), "initdb") || !strings.Contains(err.Error(), EnvURL) {
		t.Fatalf("start without binaries: %v", err)
	}
}

// TestURL: a database per call, empty and usable.
func TestURL(t *testing.T) {
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two calls returned %s", a)
	}
	for _, u := range []string{a, b} {
		if err := adminExec(t.Context(), u, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("using %s: %v", u, err)
		}
	}
}

func TestMain(m *testing.M) { Main(m) }
