package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
)

// TestDeleteAccountWithExpiredLot: DELETE /ai/accounts/{id} right after
// the account's only lot expired used to run expiry (a bbolt write
// transaction) inside the delete's own write transaction: the store
// wedged, every metered request hung, and Caddy could not stop. The
// delete must answer, and metered traffic and management calls must keep
// flowing.
func TestDeleteAccountWithExpiredLot(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, "credit_lifetime 1ms"))
	acct := e.createJSON("/ai/accounts", `{"name":"short-lived"}`)["id"].(string)
	e.buy(acct, "1")
	time.Sleep(20 * time.Millisecond) // the lot is due; nothing has expired it yet

	testkit.Within(t, 10*time.Second, "DELETE /ai/accounts/{id}", func() {
		if st, b := e.admin("DELETE", "/ai/accounts/"+acct, ""); st != http.StatusNoContent && st != http.StatusOK {
			t.Errorf("delete: %d %s", st, b)
		}
	})
	testkit.Within(t, 10*time.Second, "management calls after the delete", func() {
		e.expectAdmin("GET", "/ai/accounts/"+acct, "", 404, "")
		e.expectAdmin("PATCH", "/ai/gateway-config", `{"creditLifetime":"1h"}`, 200, "")
		e.buy("default", "1")
	})
	for i := 0; i < 3; i++ {
		testkit.Within(t, 10*time.Second, "a metered request", func() {
			resp := e.post("/v1/chat/completions", tenner, e.bearer())
			if b := readAll(t, resp); resp.StatusCode != 200 {
				t.Errorf("metered request: %d %s", resp.StatusCode, b)
			}
		})
	}
	testkit.Within(t, 10*time.Second, "the balance", func() {
		if bal, held, _ := e.balance("default"); bal != "0.99997" || held != "0.00" {
			t.Errorf("default account: balance %s held %s, want 0.99997 and 0.00", bal, held)
		}
	})
	verifyLedger(t)
}
