package caddyaigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// CreditConfig are the credit settings of the `ai` app (Caddyfile), which
// the gateway config of the management API overrides field by field.
type CreditConfig struct {
	// ProcessingFee is charged per 1M tokens of managed-key usage, as its
	// own ledger entry (USD decimal string). Default "0".
	ProcessingFee string `json:"processing_fee,omitempty"`
	// BYOKFee is charged per 1M tokens of usage on customer keys. Default
	// "0": BYOK traffic is free and keeps flowing at zero balance.
	BYOKFee string `json:"byok_fee,omitempty"`
	// MinPurchase is the smallest purchase accepted. Default "5.00".
	MinPurchase string `json:"min_purchase,omitempty"`
	// MaxPurchase is the largest purchase accepted, and the largest manual
	// adjustment or refund either way (USD). Default "100000.00".
	MaxPurchase string `json:"max_purchase,omitempty"`
	// CreditLifetime is how long purchased credits last. Default 365 days.
	CreditLifetime caddy.Duration `json:"credit_lifetime,omitempty"`
	// LowBalanceThresholds (USD) each log a warning, and call the webhook,
	// once per downward crossing.
	LowBalanceThresholds []string `json:"low_balance_thresholds,omitempty"`
	// LowBalanceWebhook receives a JSON POST {"accountId","balance",
	// "threshold"} per crossing, retried with backoff.
	LowBalanceWebhook string `json:"low_balance_webhook,omitempty"`
}

// defaultMaxPurchase is the largest purchase unless configured: far from
// the int64 range, near any real invoice.
const defaultMaxPurchase = 100_000 * money.USD

// creditSettings are the effective settings.
type creditSettings struct {
	fees        feeRates
	minPurchase money.Nano
	maxPurchase money.Nano
	lifetime    time.Duration
	thresholds  []money.Nano
	webhook     string
}

func (c *CreditConfig) parse() (creditSettings, error) {
	s := creditSettings{minPurchase: 5 * money.USD, maxPurchase: defaultMaxPurchase, lifetime: 365 * 24 * time.Hour}
	var err error
	if c.ProcessingFee != "" {
		if s.fees.processing, err = money.ParsePerMillion(c.ProcessingFee); err != nil {
			return s, fmt.Errorf("processing_fee: %w", err)
		}
	}
	if c.BYOKFee != "" {
		if s.fees.byok, err = money.ParsePerMillion(c.BYOKFee); err != nil {
			return s, fmt.Errorf("byok_fee: %w", err)
		}
	}
	if c.MinPurchase != "" {
		if s.minPurchase, err = money.ParseUSD(c.MinPurchase); err != nil || s.minPurchase < 0 {
			return s, fmt.Errorf("min_purchase: invalid amount %q", c.MinPurchase)
		}
	}
	if c.MaxPurchase != "" {
		if s.maxPurchase, err = money.ParseUnsignedUSD(c.MaxPurchase); err != nil || s.maxPurchase <= 0 {
			return s, fmt.Errorf("max_purchase: invalid amount %q: a positive USD amount", c.MaxPurchase)
		}
	}
	if s.maxPurchase < s.minPurchase {
		return s, fmt.Errorf("max_purchase %s is below min_purchase %s", s.maxPurchase, s.minPurchase)
	}
	if c.CreditLifetime > 0 {
		s.lifetime = time.Duration(c.CreditLifetime)
	}
	if c.CreditLifetime < 0 {
		return s, fmt.Errorf("credit_lifetime: must be positive")
	}
	for _, t := range c.LowBalanceThresholds {
		v, err := money.ParseUnsignedUSD(t)
		if err != nil || v <= 0 {
			return s, fmt.Errorf("low_balance_thresholds: %q is not a positive USD amount", t)
		}
		if slices.Contains(s.thresholds, v) {
			return s, fmt.Errorf("low_balance_thresholds: %s is given twice", v)
		}
		s.thresholds = append(s.thresholds, v)
	}
	if w := c.LowBalanceWebhook; w != "" && !strings.Contains(w, "{") { // placeholders resolve later
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("low_balance_webhook: %q is not an http(s) URL", w)
		}
	}
	s.webhook = c.LowBalanceWebhook
	return s, nil
}

// effectiveCredits overlays the gateway config on the Caddyfile settings.
func (a *App) effectiveCredits(st *manage.Snapshot) creditSettings {
	s := a.credits
	g := st.Gateway
	if g.ProcessingFee != nil {
		s.fees.processing = *g.ProcessingFee
	}
	if g.BYOKFee != nil {
		s.fees.byok = *g.BYOKFee
	}
	if g.MinPurchase != nil {
		s.minPurchase = *g.MinPurchase
	}
	if g.MaxPurchase != nil {
		s.maxPurchase = *g.MaxPurchase
	}
	if g.CreditLifetime != nil {
		s.lifetime = time.Duration(*g.CreditLifetime)
	}
	if g.LowBalanceThresholds != nil {
		s.thresholds = *g.LowBalanceThresholds
	}
	if g.LowBalanceWebhook != nil {
		s.webhook = *g.LowBalanceWebhook
	}
	return s
}

func (a *App) feeRates(st *manage.Snapshot) feeRates { return a.effectiveCredits(st).fees }

// applyCreditSettings hands the effective settings to the shared ledger.
func (a *App) applyCreditSettings() {
	s := a.effectiveCredits(a.shared.manage.Snapshot())
	sh := a.shared
	sh.webhook.Store(&s.webhook)
	sh.ledger.SetConfig(credits.Config{MinPurchase: s.minPurchase, MaxPurchase: s.maxPurchase, Lifetime: s.lifetime,
		Thresholds: s.thresholds, OnLowBalance: sh.lowBalance, RequireAccount: true})
}

// lowBalance runs when an account's balance crosses a threshold downward:
// a structured warning and, when configured, a webhook queued for
// delivery (never blocking the request that crossed it).
func (s *shared) lowBalance(accountID string, balance, threshold money.Nano) {
	s.logger.Warn("account balance below threshold", zap.String("account_id", accountID),
		zap.String("balance_usd", balance.String()), zap.String("threshold_usd", threshold.String()))
	url := *s.webhook.Load()
	if url == "" {
		return
	}
	select {
	case s.webhooks <- lowBalanceEvent{URL: url, AccountID: accountID, Balance: balance, Threshold: threshold, At: time.Now().UTC()}:
	default:
		s.logger.Error("low-balance webhook queue full; notification dropped", zap.String("account_id", accountID))
	}
}

type lowBalanceEvent struct {
	URL       string     `json:"-"`
	AccountID string     `json:"accountId"`
	Balance   money.Nano `json:"balance"`
	Threshold money.Nano `json:"threshold"`
	At        time.Time  `json:"at"`
}

// webhookBackoff are the waits between delivery attempts.
var webhookBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// deliverWebhooks posts queued low-balance events, retrying with backoff.
func (s *shared) deliverWebhooks() {
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		// The channel is never closed (a late settlement may still send):
		// the store's stop ends delivery.
		var ev lowBalanceEvent
		select {
		case <-s.stop:
			return
		case ev = <-s.webhooks:
		}
		body, _ := json.Marshal(ev)
		for i := 0; ; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.URL, bytes.NewReader(body))
			var status int
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "caddy-ai-gateway")
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
			}
			cancel()
			if err == nil && status < 300 {
				break
			}
			if i == len(webhookBackoff) {
				s.logger.Error("low-balance webhook failed", zap.String("account_id", ev.AccountID), zap.Int("status", status), zap.Error(err))
				break
			}
			select {
			case <-s.stop:
				return
			case <-time.After(webhookBackoff[i]):
			}
		}
	}
}
