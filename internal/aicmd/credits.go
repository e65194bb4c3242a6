package aicmd

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Money is decoded as money.Nano: exact decimal strings in, the same
// strings out (never a float).

// purchaseView is the answer of POST /ai/credits/purchases.
type purchaseView struct {
	ID           string     `json:"id"`
	AccountID    string     `json:"accountId"`
	Amount       money.Nano `json:"amount"`
	LotID        string     `json:"lotId"`
	ExpiresAt    time.Time  `json:"expiresAt"`
	BalanceAfter money.Nano `json:"balanceAfter"`
}

// balanceView is the answer of GET /ai/credits/balance.
type balanceView struct {
	AccountID  string     `json:"accountId"`
	Balance    money.Nano `json:"balance"`
	Held       money.Nano `json:"held"`
	Available  money.Nano `json:"available"`
	NextExpiry *struct {
		Amount    money.Nano `json:"amount"`
		ExpiresAt time.Time  `json:"expiresAt"`
	} `json:"nextExpiry"`
}

// transactionView is a ledger entry of GET /ai/credits/transactions.
type transactionView struct {
	ID           string     `json:"id"`
	Type         string     `json:"type"`
	Amount       money.Nano `json:"amount"`
	BalanceAfter money.Nano `json:"balanceAfter"`
	LotID        string     `json:"lotId"`
	RequestID    string     `json:"requestId"`
	AccessKeyID  string     `json:"accessKeyId"`
	ProviderID   string     `json:"providerId"`
	Model        string     `json:"model"`
	Tokens       int64      `json:"tokens"`
	Description  string     `json:"description"`
	CreatedAt    time.Time  `json:"createdAt"`
}

func creditsCommand() *cobra.Command {
	return groupCommand("credits <buy|balance|transactions>", "Buys credits and shows an account's balance and ledger",
		creditsBuyCommand(), creditsBalanceCommand(), creditsTransactionsCommand())
}

// addAccountFlag adds --account, defaulting to the default account.
func addAccountFlag(cmd *cobra.Command) {
	cmd.Flags().String("account", manage.DefaultAccountID, "the account")
}

func creditsBuyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "buy <amount USD> [--account <id>]",
		Short: "Buys credits: adds a lot of <amount> USD to the account",
		Long: `
Buys credits: adds a lot of <amount> USD (a decimal such as 25 or 25.00;
at most nine decimals) to the account. The lot expires after the
gateway's credit lifetime. With --idempotency-key, running the same
purchase again returns the first instead of buying twice.
`,
		Args: cobra.ExactArgs(1),
	}
	addAccountFlag(cmd)
	cmd.Flags().String("description", "", "a note kept with the purchase")
	cmd.Flags().String("idempotency-key", "", "a key that makes a repeated purchase return the first")
	apiCommand(cmd, func(ctx context.Context, s *session, fl caddycmd.Flags, args []string) error {
		return creditsBuy(ctx, s, args[0], fl.String("account"), fl.String("description"), fl.String("idempotency-key"))
	})
	return cmd
}

func creditsBuy(ctx context.Context, s *session, amount, account, description, idempotencyKey string) error {
	body := map[string]any{"accountId": account, "amount": strings.TrimPrefix(strings.TrimSpace(amount), "$")}
	if description != "" {
		body["description"] = description
	}
	var h http.Header
	if idempotencyKey != "" {
		h = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	var p purchaseView
	b, err := s.api.do(ctx, http.MethodPost, "/ai/credits/purchases", h, body, &p)
	if err != nil {
		return fmt.Errorf("buying credits: %w", err)
	}
	if s.json {
		return s.printJSON(b)
	}
	fmt.Fprintf(s.out, "Bought %s USD of credits for account %s (lot %s, expires %s UTC).\nBalance: %s USD.\n",
		p.Amount, p.AccountID, p.LotID, fmtTime(&p.ExpiresAt), p.BalanceAfter)
	return nil
}

func creditsBalanceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "balance [--account <id>]",
		Short: "Shows an account's balance, the part held by requests in flight, and what is available",
		Args:  cobra.NoArgs,
	}
	addAccountFlag(cmd)
	apiCommand(cmd, func(ctx context.Context, s *session, fl caddycmd.Flags, _ []string) error {
		return creditsBalance(ctx, s, fl.String("account"))
	})
	return cmd
}

func creditsBalance(ctx context.Context, s *session, account string) error {
	var bal balanceView
	b, err := s.api.do(ctx, http.MethodGet, "/ai/credits/balance?accountId="+url.QueryEscape(account), nil, nil, &bal)
	if err != nil {
		return fmt.Errorf("reading the balance: %w", err)
	}
	if s.json {
		return s.printJSON(b)
	}
	return balanceTable(bal).write(s.out)
}

func balanceTable(b balanceView) *table {
	t := newTable("ACCOUNT", "BALANCE (USD)", "HELD (USD)", "AVAILABLE (USD)", "NEXT EXPIRY (UTC)").alignRight(1, 2, 3)
	expiry := ""
	if b.NextExpiry != nil {
		expiry = fmt.Sprintf("%s USD on %s", b.NextExpiry.Amount, fmtTime(&b.NextExpiry.ExpiresAt))
	}
	t.add(b.AccountID, b.Balance.String(), b.Held.String(), b.Available.String(), expiry)
	return t
}

func creditsTransactionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transactions [--account <id>] [--limit <n>] [--all]",
		Short: "Lists an account's ledger entries, newest first",
		Long: `
Lists an account's ledger entries, newest first: purchases, usage and
fees drawn by requests, expiries, adjustments and refunds, each with the
balance after it.
`,
		Args: cobra.NoArgs,
	}
	addAccountFlag(cmd)
	cmd.Flags().Int("limit", 20, "show at most this many entries")
	cmd.Flags().Bool("all", false, "show every entry (reads page after page)")
	apiCommand(cmd, func(ctx context.Context, s *session, fl caddycmd.Flags, _ []string) error {
		limit, err := listLimit(fl)
		if err != nil {
			return err
		}
		return creditsTransactions(ctx, s, fl.String("account"), limit)
	})
	return cmd
}

func creditsTransactions(ctx context.Context, s *session, account string, limit int) error {
	uri := "/ai/credits/transactions?accountId=" + url.QueryEscape(account)
	items, next, err := s.api.list(ctx, uri, "transactions", limit)
	if err != nil {
		return fmt.Errorf("listing transactions: %w", err)
	}
	if s.json {
		b, err := listJSON("transactions", uri, items, next)
		if err != nil {
			return err
		}
		return s.printJSON(b)
	}
	entries, err := decodeItems[transactionView](items)
	if err != nil {
		return fmt.Errorf("listing transactions: %w", err)
	}
	if err := transactionsTable(entries).write(s.out); err != nil {
		return err
	}
	if next != nil {
		fmt.Fprintln(s.info, "Older entries exist: --limit <n> or --all to see them.")
	}
	return nil
}

func transactionsTable(entries []transactionView) *table {
	t := newTable("CREATED (UTC)", "TYPE", "AMOUNT (USD)", "BALANCE (USD)", "DETAIL", "ID").alignRight(2, 3)
	for _, e := range entries {
		t.add(fmtTime(&e.CreatedAt), e.Type, e.Amount.String(), e.BalanceAfter.String(), e.detail(), e.ID)
	}
	return t
}

// detail says what an entry was for, in a few words.
func (e *transactionView) detail() string {
	var parts []string
	model := strings.Trim(e.ProviderID+":"+e.Model, ":")
	if model != "" {
		parts = append(parts, model)
	}
	if e.Tokens != 0 {
		parts = append(parts, fmtCount(e.Tokens)+" tokens")
	}
	if e.RequestID != "" {
		parts = append(parts, "request "+e.RequestID)
	}
	if e.Type == "purchase" && e.LotID != "" {
		parts = append(parts, "lot "+e.LotID)
	}
	// a usage entry's description repeats its model and tokens
	if e.Description != "" && (model == "" || !strings.HasPrefix(e.Description, model)) {
		parts = append(parts, e.Description)
	}
	return strings.Join(parts, ", ")
}
