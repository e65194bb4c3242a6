// Package gateway registers every module of caddy-ai-gateway, so that
// `xcaddy build --with github.com/caddy-ai-gateway/caddy-ai-gateway`
// builds a Caddy with the whole gateway: the `ai` app, the `ai_auth`,
// `ai_credits`, `ai_gateway`, `ai_health` and `ai_dashboard` handlers
// (http.handlers.*), the `admin.api.ai` management API and the `caddy ai`
// commands (keys, credits, usage, migrate).
package gateway

import (
	_ "github.com/caddy-ai-gateway/caddy-ai-gateway/admin"
	_ "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	_ "github.com/caddy-ai-gateway/caddy-ai-gateway/internal/aicmd"
)
