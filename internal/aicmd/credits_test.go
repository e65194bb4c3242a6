package aicmd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

func TestCreditsBuySendsTheAmountAsWritten(t *testing.T) {
	var body map[string]any
	var idem string
	s, out, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		idem = r.Header.Get("Idempotency-Key")
		writeJSON(w, http.StatusCreated, map[string]any{"id": "txn_1", "accountId": body["accountId"], "amount": "25.10",
			"lotId": "lot_1", "expiresAt": "2027-05-10T12:00:00Z", "balanceAfter": "30.000000001"})
	})
	if err := creditsBuy(context.Background(), s, "$25.10", "team", "invoice 7", "buy-7"); err != nil {
		t.Fatal(err)
	}
	if body["amount"] != "25.10" || body["accountId"] != "team" || body["description"] != "invoice 7" || idem != "buy-7" {
		t.Errorf("sent %v with Idempotency-Key %q", body, idem)
	}
	want := "Bought 25.10 USD of credits for account team (lot lot_1, expires 2027-05-10 12:00 UTC).\nBalance: 30.000000001 USD.\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

func TestBalanceTable(t *testing.T) {
	b := balanceView{AccountID: "default", Balance: 25 * money.USD, Held: 150_000_000, Available: 24*money.USD + 850_000_000}
	b.NextExpiry = &struct {
		Amount    money.Nano `json:"amount"`
		ExpiresAt time.Time  `json:"expiresAt"`
	}{Amount: 5 * money.USD, ExpiresAt: time.Date(2027, 1, 2, 3, 4, 0, 0, time.UTC)}
	var out strings.Builder
	if err := balanceTable(b).write(&out); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ACCOUNT  BALANCE (USD)  HELD (USD)  AVAILABLE (USD)  NEXT EXPIRY (UTC)\n" +
		"default          25.00        0.15            24.85  5.00 USD on 2027-01-02 03:04\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestTransactionsTable(t *testing.T) {
	var entries []transactionView
	if err := json.Unmarshal([]byte(`[
		{"id":"txn_3","type":"usage","amount":"-0.000156","balanceAfter":"24.999844","requestId":"req_1","providerId":"anthropic",
		 "model":"claude-sonnet-4-6","tokens":1234,"description":"anthropic:claude-sonnet-4-6, 1234 tokens","createdAt":"2026-05-10T12:00:00Z"},
		{"id":"txn_2","type":"adjustment","amount":"-1.00","balanceAfter":"25.00","description":"goodwill","createdAt":"2026-05-10T12:00:00Z"},
		{"id":"txn_1","type":"purchase","amount":"26.00","balanceAfter":"26.00","lotId":"lot_1","createdAt":"2026-05-10T12:00:00Z"}]`), &entries); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := transactionsTable(entries).write(&out); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"CREATED (UTC)     TYPE        AMOUNT (USD)  BALANCE (USD)  DETAIL                                                    ID\n" +
		"2026-05-10 12:00  usage          -0.000156      24.999844  anthropic:claude-sonnet-4-6, 1,234 tokens, request req_1  txn_3\n" +
		"2026-05-10 12:00  adjustment         -1.00          25.00  goodwill                                                  txn_2\n" +
		"2026-05-10 12:00  purchase           26.00          26.00  lot lot_1                                                 txn_1\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
