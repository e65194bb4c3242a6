package manage

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// GatewayConfig returns the runtime settings as stored (unset fields fall
// back to the Caddyfile).
func (s *Service) GatewayConfig() GatewayConfig { return s.Snapshot().Gateway }

// UpdateGatewayConfig applies a PATCH body.
func (s *Service) UpdateGatewayConfig(p Patch) (GatewayConfig, error) {
	var out GatewayConfig
	defer s.env.GatewayConfigChanged()
	return out, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		out = st.Gateway
		setsMax := p.Has("maxPurchase")
		if err := errors.Join(
			Field(p, "perRequestTimeout", &out.PerRequestTimeout),
			Field(p, "totalTimeout", &out.TotalTimeout),
			Field(p, "maxInputTokens", &out.MaxInputTokens),
			Field(p, "maxOutputTokens", &out.MaxOutputTokens),
			Field(p, "metadata", &out.Metadata),
			Field(p, "processingFee", &out.ProcessingFee),
			Field(p, "byokFee", &out.BYOKFee),
			Field(p, "minPurchase", &out.MinPurchase),
			Field(p, "maxPurchase", &out.MaxPurchase),
			Field(p, "creditLifetime", &out.CreditLifetime),
			Field(p, "lowBalanceThresholds", &out.LowBalanceThresholds),
			Field(p, "lowBalanceWebhook", &out.LowBalanceWebhook),
			p.Done(),
		); err != nil {
			return err
		}
		if err := out.validate(); err != nil {
			return err
		}
		next := *st
		next.Gateway = out
		if min, max := s.env.PurchaseLimits(&next); max < min {
			field := "minPurchase"
			if setsMax {
				field = "maxPurchase"
			}
			return &InvalidError{field, fmt.Sprintf("the effective maxPurchase (%s USD) must not be below the effective minPurchase (%s USD)", max, min)}
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.Settings, gatewayConfigKey, &out)
	})
}

func (c *GatewayConfig) validate() error {
	switch {
	case c.PerRequestTimeout != nil && (*c.PerRequestTimeout < Duration(time.Second) || *c.PerRequestTimeout > Duration(time.Hour)):
		return &InvalidError{"perRequestTimeout", "must be between 1s and 1h"}
	case c.TotalTimeout != nil && (*c.TotalTimeout < Duration(time.Second) || *c.TotalTimeout > Duration(2*time.Hour)):
		return &InvalidError{"totalTimeout", "must be between 1s and 2h"}
	case c.PerRequestTimeout != nil && c.TotalTimeout != nil && *c.TotalTimeout < *c.PerRequestTimeout:
		return &InvalidError{"totalTimeout", "must not be shorter than perRequestTimeout"}
	case c.MaxInputTokens != nil && *c.MaxInputTokens < 1:
		return &InvalidError{"maxInputTokens", "must be positive"}
	case c.MaxOutputTokens != nil && *c.MaxOutputTokens < 1:
		return &InvalidError{"maxOutputTokens", "must be positive"}
	case len(c.Metadata) > 4096:
		return &InvalidError{"metadata", "at most 4096 characters"}
	case c.MinPurchase != nil && *c.MinPurchase < 0:
		return &InvalidError{"minPurchase", "cannot be negative"}
	case c.MaxPurchase != nil && *c.MaxPurchase <= 0:
		return &InvalidError{"maxPurchase", "must be positive"}
	case c.CreditLifetime != nil && *c.CreditLifetime < Duration(time.Minute):
		return &InvalidError{"creditLifetime", "must be at least 1m"}
	case c.LowBalanceWebhook != nil && *c.LowBalanceWebhook != "" && !isHTTPURL(*c.LowBalanceWebhook):
		return &InvalidError{"lowBalanceWebhook", "must be an http(s) URL"}
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
