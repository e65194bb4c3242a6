package caddyaigateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
)

// creditsTestApp is a testApp with the default credit settings applied, as
// Provision applies them.
func creditsTestApp(t *testing.T, upstream string, cc CreditConfig) *App {
	t.Helper()
	app := testApp(t, upstream)
	var err error
	if app.credits, err = cc.parse(caddy.NewReplacer()); err != nil {
		t.Fatal(err)
	}
	app.applyCreditSettings()
	return app
}

func patchOf(t *testing.T, kv ...string) manage.Patch {
	t.Helper()
	p := manage.Patch{}
	for i := 0; i < len(kv); i += 2 {
		p[kv[i]] = []byte(kv[i+1])
	}
	return p
}

// TestDeleteAccountAfterExpiryDoesNotDeadlock: DELETE of an account whose
// only lot has just expired used to read the balance inside its bbolt
// write transaction; the balance ran expiry, which opened a second write
// transaction and wedged the store for good. The delete must succeed, and
// metered traffic must keep flowing afterwards.
func TestDeleteAccountAfterExpiryDoesNotDeadlock(t *testing.T) {
	srv := httptest.NewServer(fakeprovider.New(fakeprovider.Options{}))
	defer srv.Close()
	app := creditsTestApp(t, srv.URL, CreditConfig{MinPurchase: "1", CreditLifetime: 1})
	acct, err := app.Manage().CreateAccount(patchOf(t, "name", `"short-lived"`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Manage().Purchase(patchOf(t, "accountId", `"`+acct.ID+`"`, "amount", `"5"`), ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the lot (lifetime 1ns) is due, not yet expired

	testkit.Within(t, 5*time.Second, "DeleteAccount", func() {
		if err := app.Manage().DeleteAccount(acct.ID); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
	if _, err := app.Manage().Account(acct.ID); !errors.Is(err, manage.ErrNotFound) {
		t.Fatalf("account still there: %v", err)
	}

	// metered traffic on the default account flows
	app.CreditConfig.CreditLifetime = 0
	if app.credits, err = app.CreditConfig.parse(caddy.NewReplacer()); err != nil {
		t.Fatal(err)
	}
	app.applyCreditSettings()
	_, token, err := app.Manage().CreateAccessKey(patchOf(t, "name", `"metered"`))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Within(t, 5*time.Second, "a purchase", func() {
		if _, err := app.Manage().Purchase(patchOf(t, "accountId", `"default"`, "amount", `"5"`), ""); err != nil {
			t.Error(err)
		}
	})
	auth := &Auth{app: app, logger: zap.NewNop()}
	cr := &Credits{app: app, logger: zap.NewNop()}
	g := &Gateway{app: app, MaxRequestBody: defaultMaxRequestBody, logger: zap.NewNop()}
	chain := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return auth.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return cr.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				return g.ServeHTTP(w, r, nopHandler)
			}))
		}))
	})
	for i := 0; i < 3; i++ {
		testkit.Within(t, 10*time.Second, "a metered request", func() {
			r := httptest.NewRequest("POST", "/v1/chat/completions",
				strings.NewReader(`{"model":"openai:gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
			r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
			r.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			if err := chain.ServeHTTP(w, r); err != nil || w.Code != http.StatusOK {
				t.Errorf("metered request: %d %v %s", w.Code, err, w.Body)
			}
		})
	}
	b, err := app.Manage().CreditBalance(manage.DefaultAccountID)
	if err != nil || b.Balance >= 5_000_000_000 || b.Held != 0 {
		t.Fatalf("the requests were not metered: %+v %v", b, err)
	}
	if err := app.Manage().Ledger().Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteAccountRefusedWithCredits: the balance check inside the
// transaction still refuses an account with credits or holds.
func TestDeleteAccountRefusedWithCredits(t *testing.T) {
	app := creditsTestApp(t, "", CreditConfig{MinPurchase: "1"})
	acct, _ := app.Manage().CreateAccount(patchOf(t, "name", `"rich"`))
	if _, err := app.Manage().Purchase(patchOf(t, "accountId", `"`+acct.ID+`"`, "amount", `"5"`), ""); err != nil {
		t.Fatal(err)
	}
	var conflict *manage.ConflictError
	if err := app.Manage().DeleteAccount(acct.ID); !errors.As(err, &conflict) || !strings.Contains(err.Error(), "5.00 USD") {
		t.Fatalf("delete with credits: %v", err)
	}
	if _, err := app.Manage().Adjust(patchOf(t, "accountId", `"`+acct.ID+`"`, "amount", `"-5"`)); err != nil {
		t.Fatal(err)
	}
	h, err := app.Manage().Ledger().Reserve(acct.ID, 0)
	if err == nil {
		h.Release()
		t.Fatal("reserved on an empty account")
	}
	if err := app.Manage().DeleteAccount(acct.ID); err != nil {
		t.Fatalf("delete of an emptied account: %v", err)
	}
	// a purchase racing the delete cannot land on the deleted account
	if _, err := app.Manage().Ledger().Purchase(acct.ID, 5_000_000_000, "", ""); err == nil {
		t.Fatal("credited a deleted account")
	}
}

// TestLowBalanceWebhookPlaceholder: the webhook URL's placeholders are
// resolved when the config loads, so a URL carrying a token can stay out
// of Caddy's config.
func TestLowBalanceWebhookPlaceholder(t *testing.T) {
	t.Setenv("AI_TEST_LOW_BALANCE_HOOK", "https://hooks.example.com/low?token=abc")
	s, err := (&CreditConfig{LowBalanceWebhook: "{env.AI_TEST_LOW_BALANCE_HOOK}"}).parse(caddy.NewReplacer())
	if err != nil || s.Webhook != "https://hooks.example.com/low?token=abc" {
		t.Fatalf("webhook %q, %v", s.Webhook, err)
	}
	// unset, it is empty: no webhook, as for an api_key placeholder
	if s, err := (&CreditConfig{LowBalanceWebhook: "{env.AI_TEST_UNSET_HOOK}"}).parse(caddy.NewReplacer()); err != nil || s.Webhook != "" {
		t.Fatalf("unset: webhook %q, %v", s.Webhook, err)
	}
}
