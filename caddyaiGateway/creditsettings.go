package caddyaigateway

import (
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
)

// CreditConfig are the credit settings of the `ai` app (Caddyfile), which
// the gateway config of the management API (/ai/gateway-config) overrides
// field by field. Amounts are USD decimal strings ("5.00", at most nine
// decimals).
type CreditConfig struct {
	// ProcessingFee is charged per 1M tokens of managed-key usage, on top
	// of the provider price, as its own ledger entry (USD per 1M tokens,
	// not negative). Default "0".
	ProcessingFee string `json:"processing_fee,omitempty"`
	// BYOKFee is charged per 1M tokens of usage on customer keys (USD per
	// 1M tokens, not negative). Default "0": BYOK traffic is free and
	// keeps flowing at zero balance.
	BYOKFee string `json:"byok_fee,omitempty"`
	// MinPurchase is the smallest purchase accepted (USD, not negative).
	// Default "5.00".
	MinPurchase string `json:"min_purchase,omitempty"`
	// MaxPurchase is the largest purchase accepted, and the largest manual
	// adjustment or refund either way (USD, positive, at least
	// MinPurchase). Default "100000.00".
	MaxPurchase string `json:"max_purchase,omitempty"`
	// CreditLifetime is how long purchased credits last before the rest of
	// the purchase expires. A duration: `365d` in the Caddyfile; in JSON
	// nanoseconds or a string such as "8760h". Default 365 days.
	CreditLifetime caddy.Duration `json:"credit_lifetime,omitempty"`
	// LowBalanceThresholds are balances (USD, positive, each given once)
	// that each log a warning, and call LowBalanceWebhook, once per
	// downward crossing. Default: none.
	LowBalanceThresholds []string `json:"low_balance_thresholds,omitempty"`
	// LowBalanceWebhook is an http(s) URL that receives a JSON POST
	// {"accountId","balance","threshold","at"} per crossing, retried with
	// backoff (5 retries, 1s to 16s apart). Placeholders are resolved when
	// the config loads (`{env.LOW_BALANCE_WEBHOOK}` keeps a URL that carries
	// a token out of Caddy's config API). Default: none (crossings are only
	// logged).
	LowBalanceWebhook string `json:"low_balance_webhook,omitempty"`
}

// parse checks the settings, resolving placeholders in the webhook URL
// with repl.
func (c *CreditConfig) parse(repl *caddy.Replacer) (credits.Settings, error) {
	return credits.ParseSettings(credits.Configured{ProcessingFee: c.ProcessingFee, BYOKFee: c.BYOKFee,
		MinPurchase: c.MinPurchase, MaxPurchase: c.MaxPurchase, Lifetime: time.Duration(c.CreditLifetime),
		LowBalanceThresholds: c.LowBalanceThresholds, LowBalanceWebhook: repl.ReplaceAll(c.LowBalanceWebhook, "")})
}

// effectiveCredits overlays the gateway config on the Caddyfile settings.
func (a *App) effectiveCredits(st *manage.Snapshot) credits.Settings {
	g := st.Gateway
	return a.credits.With(credits.Override{ProcessingFee: g.ProcessingFee, BYOKFee: g.BYOKFee,
		MinPurchase: g.MinPurchase, MaxPurchase: g.MaxPurchase, Lifetime: (*time.Duration)(g.CreditLifetime),
		Thresholds: g.LowBalanceThresholds, Webhook: g.LowBalanceWebhook})
}

// applyCreditSettings hands the effective settings to the shared ledger.
func (a *App) applyCreditSettings() {
	s := a.effectiveCredits(a.shared.Manage.Snapshot())
	a.shared.LowBalance.SetWebhook(s.Webhook)
	a.shared.Ledger.SetConfig(s.Config(a.shared.LowBalance.Notify))
}
