package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
)

func TestLoadOrCreateFile(t *testing.T) {
	gen := func() string { return "generated-value" }

	t.Run("absent: created whole, mode 0600, no temporary file left", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "sub", "secret.key")
		v, created, err := LoadOrCreateFile(p, gen, "secret key")
		if err != nil || v != "generated-value" || !created {
			t.Fatalf("%q %v %v", v, created, err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode())
		}
		if got := testkit.Files(t, filepath.Join(dir, "sub")); strings.Join(got, ",") != ".,secret.key" {
			t.Fatalf("files: %v", got)
		}
		v, created, err = LoadOrCreateFile(p, func() string { return "other" }, "secret key")
		if err != nil || v != "generated-value" || created {
			t.Fatalf("second load: %q %v %v", v, created, err)
		}
	})

	for name, content := range map[string]string{"empty": "", "whitespace": " \n\t\n"} {
		t.Run(name+" file: an error naming it, never overwritten", func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var err error
			go func() {
				defer close(done)
				_, _, err = LoadOrCreateFile(p, gen, "secret key")
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("loadOrCreateFile does not return on an empty file")
			}
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "is empty") {
				t.Fatalf("error: %v", err)
			}
			if b, _ := os.ReadFile(p); string(b) != content {
				t.Fatalf("file rewritten: %q", b)
			}
		})
	}

	t.Run("racing creators agree on one value", func(t *testing.T) {
		for round := 0; round < 20; round++ {
			p := filepath.Join(t.TempDir(), "admin.key")
			const n = 8
			vals := make([]string, n)
			var createdN atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					v, created, err := LoadOrCreateFile(p, func() string { return NewToken("x_") }, "key")
					if err != nil {
						t.Error(err)
					}
					if created {
						createdN.Add(1)
					}
					vals[i] = v
				}(i)
			}
			close(start)
			wg.Wait()
			for _, v := range vals {
				if v != vals[0] || v == "" {
					t.Fatalf("round %d: values differ: %q", round, vals)
				}
			}
			if createdN.Load() != 1 {
				t.Fatalf("round %d: %d creators", round, createdN.Load())
			}
			b, _ := os.ReadFile(p)
			if strings.TrimSpace(string(b)) != vals[0] {
				t.Fatalf("file %q, values %q", b, vals[0])
			}
			if got := testkit.Files(t, filepath.Dir(p)); len(got) != 2 {
				t.Fatalf("files left: %v", got)
			}
		}
	})
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := NewKey()
	for _, tc := range []struct {
		name    string
		path    string
		secret  bool // LoadOrCreateKeyFile, else LoadOrCreateManagementKeyFile
		created bool
		err     string
	}{
		{"secret key generated", filepath.Join(dir, "new", "secret.key"), true, true, ""},
		{"secret key read", write("secret.key", key.String()+"\n"), true, false, ""},
		{"secret key file empty", write("empty.key", "\n"), true, false, "is empty"},
		{"management key generated", filepath.Join(dir, "new", "admin.key"), false, true, ""},
		{"management key read", write("admin.key", "a-long-enough-management-key"), false, false, ""},
		{"management key too short", write("short.key", "short"), false, false, "at least 16 characters"},
	} {
		var created bool
		var err error
		if tc.secret {
			var k Key
			k, created, err = LoadOrCreateKeyFile(tc.path)
			if err == nil && !created && k != key {
				t.Errorf("%s: another key", tc.name)
			}
		} else {
			var h Hash
			h, created, err = LoadOrCreateManagementKeyFile(tc.path)
			if err == nil && !created && h != HashToken("a-long-enough-management-key") {
				t.Errorf("%s: another hash", tc.name)
			}
		}
		if created != tc.created || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: created %v, err %v; want %v %q", tc.name, created, err, tc.created, tc.err)
		}
	}
}
