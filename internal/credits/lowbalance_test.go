package credits

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

func TestLowBalanceNotifier(t *testing.T) {
	got := make(chan map[string]any, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		got <- v
	}))
	defer srv.Close()
	core, logs := observer.New(zapcore.InfoLevel)
	n := NewLowBalanceNotifier(zap.New(core))

	n.Notify("acct_1", 4*money.USD, 5*money.USD) // no webhook: logged only
	n.SetWebhook(srv.URL)
	n.Notify("acct_2", 1*money.USD, 2*money.USD)
	select {
	case v := <-got:
		if v["accountId"] != "acct_2" || v["balance"] != "1.00" || v["threshold"] != "2.00" {
			t.Fatalf("webhook body %v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("webhook not delivered")
	}
	if n := len(logs.FilterMessage("account balance below threshold").All()); n != 2 {
		t.Fatalf("%d warnings, want 2", n)
	}

	// After Close a crossing is only logged, and nothing panics.
	n.Close()
	n.Notify("acct_3", 0, 1*money.USD)
	select {
	case v := <-got:
		t.Fatalf("delivered after Close: %v", v)
	case <-time.After(50 * time.Millisecond):
	}
}
