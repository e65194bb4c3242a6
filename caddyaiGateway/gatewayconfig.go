package caddyaigateway

import (
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
)

// timeouts returns the effective per-attempt and total timeouts.
func (a *App) timeouts(st *manage.Snapshot) (perRequest, total time.Duration) {
	perRequest, total = time.Duration(a.PerRequestTimeout), time.Duration(a.TotalTimeout)
	if st.Gateway.PerRequestTimeout != nil {
		perRequest = time.Duration(*st.Gateway.PerRequestTimeout)
	}
	if st.Gateway.TotalTimeout != nil {
		total = time.Duration(*st.Gateway.TotalTimeout)
	}
	return perRequest, total
}

// EffectiveTimeouts returns the timeouts requests are served with now.
func (a *App) EffectiveTimeouts() (perRequest, total time.Duration) {
	return a.timeouts(a.shared.Manage.Snapshot())
}
