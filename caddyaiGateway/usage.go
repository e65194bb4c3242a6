package caddyaigateway

import "github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

// UsageEvents returns recorded usage events.
func (a *App) UsageEvents(q store.UsageQuery) ([]*store.UsageEvent, error) {
	return a.shared.db.Usage(q)
}
