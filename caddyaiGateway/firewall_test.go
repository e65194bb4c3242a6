package caddyaigateway

import (
	"context"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
)

// TestUnusablePolicyFailsClosed: the stand-in for a policy a node cannot
// compile refuses every request, whatever it carries.
func TestUnusablePolicyFailsClosed(t *testing.T) {
	for _, req := range []*firewall.Request{{}, {Model: "gpt-4o", Text: []string{"hi"}, Tools: []string{"read_file"}}} {
		v := unusablePolicy.CheckRequest(context.Background(), &firewall.Env{Request: req, Key: &firewall.Key{}})
		if !v.Blocked {
			t.Fatalf("request %+v passed: %+v", req, v)
		}
	}
}
