package credits

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// DefaultMaxPurchase is the largest purchase unless configured: far from
// the int64 range, near any real invoice.
const DefaultMaxPurchase = 100_000 * money.USD

// Fees are the per-1M-token fees in force: Processing on the operator's
// (managed) keys, BYOK on customer keys.
type Fees struct {
	Processing, BYOK money.PerMillion
}

// Rate is the fee per 1M tokens of an attempt on a managed key or a
// customer key.
func (f Fees) Rate(managed bool) money.PerMillion {
	if managed {
		return f.Processing
	}
	return f.BYOK
}

// Settings are the effective credit settings: fees, purchase bounds, the
// lifetime of purchased credits and the low-balance warnings.
type Settings struct {
	Fees        Fees
	MinPurchase money.Nano
	MaxPurchase money.Nano
	Lifetime    time.Duration
	Thresholds  []money.Nano
	Webhook     string
}

// Configured are the credit settings as an operator writes them: amounts
// as USD decimal strings, fees per 1M tokens, empty (or zero) for the
// default.
type Configured struct {
	ProcessingFee, BYOKFee   string
	MinPurchase, MaxPurchase string
	Lifetime                 time.Duration
	LowBalanceThresholds     []string
	LowBalanceWebhook        string
}

// ParseSettings checks the configured settings and fills in the defaults:
// no fees, purchases of 5 to 100,000 USD, credits lasting 365 days. A
// webhook with a placeholder ({env.*}) is taken as is: it resolves later.
func ParseSettings(c Configured) (Settings, error) {
	s := Settings{MinPurchase: 5 * money.USD, MaxPurchase: DefaultMaxPurchase, Lifetime: 365 * 24 * time.Hour}
	var err error
	if c.ProcessingFee != "" {
		if s.Fees.Processing, err = money.ParsePerMillion(c.ProcessingFee); err != nil {
			return s, fmt.Errorf("processing_fee: %w", err)
		}
	}
	if c.BYOKFee != "" {
		if s.Fees.BYOK, err = money.ParsePerMillion(c.BYOKFee); err != nil {
			return s, fmt.Errorf("byok_fee: %w", err)
		}
	}
	if c.MinPurchase != "" {
		if s.MinPurchase, err = money.ParseUSD(c.MinPurchase); err != nil || s.MinPurchase < 0 {
			return s, fmt.Errorf("min_purchase: invalid amount %q", c.MinPurchase)
		}
	}
	if c.MaxPurchase != "" {
		if s.MaxPurchase, err = money.ParseUnsignedUSD(c.MaxPurchase); err != nil || s.MaxPurchase <= 0 {
			return s, fmt.Errorf("max_purchase: invalid amount %q: a positive USD amount", c.MaxPurchase)
		}
	}
	if s.MaxPurchase < s.MinPurchase {
		return s, fmt.Errorf("max_purchase %s is below min_purchase %s", s.MaxPurchase, s.MinPurchase)
	}
	if c.Lifetime > 0 {
		s.Lifetime = c.Lifetime
	}
	if c.Lifetime < 0 {
		return s, fmt.Errorf("credit_lifetime: must be positive")
	}
	for _, t := range c.LowBalanceThresholds {
		v, err := money.ParseUnsignedUSD(t)
		if err != nil || v <= 0 {
			return s, fmt.Errorf("low_balance_thresholds: %q is not a positive USD amount", t)
		}
		if slices.Contains(s.Thresholds, v) {
			return s, fmt.Errorf("low_balance_thresholds: %s is given twice", v)
		}
		s.Thresholds = append(s.Thresholds, v)
	}
	if w := c.LowBalanceWebhook; w != "" { // placeholders are resolved already
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("low_balance_webhook: %q is not an http(s) URL", w)
		}
	}
	s.Webhook = c.LowBalanceWebhook
	return s, nil
}

// Override are settings that replace the configured ones field by field
// (the management API's gateway config); nil keeps the configured value.
type Override struct {
	ProcessingFee, BYOKFee   *money.PerMillion
	MinPurchase, MaxPurchase *money.Nano
	Lifetime                 *time.Duration
	Thresholds               *[]money.Nano
	Webhook                  *string
}

// With returns s with the fields o sets replaced.
func (s Settings) With(o Override) Settings {
	set(&s.Fees.Processing, o.ProcessingFee)
	set(&s.Fees.BYOK, o.BYOKFee)
	set(&s.MinPurchase, o.MinPurchase)
	set(&s.MaxPurchase, o.MaxPurchase)
	set(&s.Lifetime, o.Lifetime)
	set(&s.Thresholds, o.Thresholds)
	set(&s.Webhook, o.Webhook)
	return s
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Config is the ledger configuration of s: onLow runs at each downward
// threshold crossing; every purchase checks that its account exists.
func (s Settings) Config(onLow func(accountID string, balance, threshold money.Nano)) Config {
	return Config{MinPurchase: s.MinPurchase, MaxPurchase: s.MaxPurchase, Lifetime: s.Lifetime,
		Thresholds: s.Thresholds, OnLowBalance: onLow, RequireAccount: true}
}
