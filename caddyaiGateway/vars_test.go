package caddyaigateway

import (
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
)

// TestAnswerVarsAsPlaceholders: the provider and model an answer came
// from read as plain strings wherever Caddy turns a var into text
// ({http.vars.ai.provider} in a log or a header).
func TestAnswerVarsAsPlaceholders(t *testing.T) {
	a := &attempt{target: registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "anthropic"}}, Name: "claude-sonnet-4-5"}}
	for _, tc := range []struct {
		v    any
		want string
	}{{providerVar{a}, "anthropic"}, {modelVar{a}, "claude-sonnet-4-5"}} {
		if got := caddy.ToString(tc.v); got != tc.want {
			t.Errorf("%T reads %q, want %q", tc.v, got, tc.want)
		}
	}
}
