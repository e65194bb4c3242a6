package aicmd

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/migrate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// smallStore writes a gateway's bbolt file as a started gateway leaves
// it: the secret-key check, the default account, a purchase and a usage
// event.
func smallStore(t *testing.T, path string) {
	t.Helper()
	db, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := secrets.NewKey()
	if err := key.Verify(func(c []byte) ([]byte, error) { return db.SetMetaIfAbsent(migrate.SecretCheckMeta, c) }); err != nil {
		t.Fatal(err)
	}
	if _, err := manage.Open(db, key, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Purchase(manage.DefaultAccountID, 25*money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	err = db.StoreUsage(context.Background(), []*store.UsageEvent{{ID: "ue_1", RequestID: "req_1", Attempt: 1,
		Timestamp: time.Now().UTC(), ProviderID: "openai", Model: "gpt-4o", RetryAction: store.RetrySucceeded}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateCommand runs `caddy ai migrate` of a built caddy.
func TestMigrateCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds caddy; skipped in -short mode")
	}
	dir := t.TempDir()
	bin := testkit.CaddyBinary(t)
	src := filepath.Join(dir, "gateway.db")
	smallStore(t, src)
	url := testpg.URL(t)

	run := func(wantCode int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"ai", "migrate"}, args...)...)
		cmd.Env = append(cmd.Environ(), envDatabaseURL+"=")
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if (wantCode == 0) != (code == 0) {
			t.Fatalf("caddy ai migrate %s: exit code %d\n%s", strings.Join(args, " "), code, out)
		}
		return string(out)
	}
	wantSays := func(out string, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("the output does not say %q:\n%s", want, out)
			}
		}
	}

	out := run(0, "--from", src, "--to", url)
	t.Logf("caddy ai migrate:\n%s", out)
	wantSays(out, "resources/accounts", "ledger entries", "usage events",
		"secret-key check value: copied", "verified: counts and sums equal", "copied in")
	if !regexp.MustCompile(`balances \(USD\) +25\.00 +25\.00\n`).MatchString(out) {
		t.Error("the report does not show the balances, 25.00 USD on both sides")
	}

	wantSays(run(1, "--from", src, "--to", url), "the target is not empty", "1 resources/accounts", "--force")
	wantSays(run(0, "--from", src, "--to", url, "--force"), "verified", "secret-key check value: present")

	wantSays(run(1, "--from", filepath.Join(dir, "missing.db"), "--to", url), "no such file")
	wantSays(run(1, "--to", url), "--from <bbolt file> is required")

	// a running gateway holds the file
	held, err := boltstore.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	wantSays(run(1, "--from", src, "--to", url, "--force"), "locked", "stop the gateway first")
}
