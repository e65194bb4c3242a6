package admin

import (
	"net/http"
	"strconv"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

func init() {
	handle("POST /ai/credits/purchases", createPurchase)
	handle("POST /ai/credits/adjustments", createAdjustment)
	handle("GET /ai/credits/balance", getBalance)
	handle("GET /ai/credits/transactions", listTransactions)
}

// purchase is a committed purchase.
type purchase struct {
	ID          string     `json:"id"`
	URI         string     `json:"uri"`
	AccountID   string     `json:"accountId"`
	Amount      money.Nano `json:"amount"`
	LotID       string     `json:"lotId"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	Description string     `json:"description"`
	CreatedAt   time.Time  `json:"createdAt"`
	Balance     money.Nano `json:"balanceAfter"`
}

// createPurchase buys credits; the Idempotency-Key header makes a retry
// return the first purchase (200) instead of buying again (201).
func createPurchase(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	p, err := readPatch(r)
	if err != nil {
		return err
	}
	res, err := a.Manage().Purchase(p, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return storeError(err)
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	e := res.Entry
	return writeJSON(w, status, purchase{ID: e.ID, URI: transactionsURI(e.AccountID), AccountID: e.AccountID, Amount: e.Amount,
		LotID: res.Lot.ID, ExpiresAt: res.Lot.ExpiresAt, Description: e.Description, CreatedAt: e.CreatedAt, Balance: e.BalanceAfter})
}

func createAdjustment(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	p, err := readPatch(r)
	if err != nil {
		return err
	}
	e, err := a.Manage().Adjust(p)
	if err != nil {
		return storeError(err)
	}
	return writeJSON(w, http.StatusCreated, viewEntry(*e))
}

func transactionsURI(accountID string) string {
	return "/ai/credits/transactions?accountId=" + accountID
}

func getBalance(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	accountID := r.URL.Query().Get("accountId")
	b, err := a.Manage().CreditBalance(accountID)
	if err != nil {
		return storeError(err)
	}
	out := map[string]any{"accountId": accountID, "uri": "/ai/credits/balance?accountId=" + accountID, "currency": "USD",
		"balance": b.Balance, "held": b.Held, "available": b.Available, "nextExpiry": nil}
	if b.NextExpiry != nil {
		out["nextExpiry"] = map[string]any{"amount": b.NextExpiry.Remaining, "expiresAt": b.NextExpiry.ExpiresAt, "lotId": b.NextExpiry.ID}
	}
	return writeJSON(w, http.StatusOK, out)
}

type entry struct {
	credits.Entry
	URI string `json:"uri"`
}

func viewEntry(e credits.Entry) entry { return entry{Entry: e, URI: transactionsURI(e.AccountID)} }

// listTransactions lists an account's ledger entries, newest first.
func listTransactions(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	limit, beforeID, err := paging(r)
	if err != nil {
		return err
	}
	accountID := r.URL.Query().Get("accountId")
	entries, err := a.Manage().CreditTransactions(accountID, limit+1, beforeID)
	if err != nil {
		return storeError(err)
	}
	var next *string
	if len(entries) > limit {
		entries = entries[:limit]
		u := transactionsURI(accountID) + "&limit=" + strconv.Itoa(limit) + "&beforeId=" + entries[limit-1].ID
		next = &u
	}
	out := make([]entry, len(entries))
	for i, e := range entries {
		out[i] = viewEntry(e)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"transactions": out, "uri": transactionsURI(accountID), "nextPageUri": next})
}
