package caddyaigateway

import (
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestReadmeCaddyfiles: every ```caddyfile example of README.md and
// xcaddy.md adapts and passes `caddy validate` (a block that is one
// directive, as `ai_gateway { … }`, is put in a site block first), so
// the documented configuration stays what the modules accept.
func TestReadmeCaddyfiles(t *testing.T) {
	t.Setenv("AI_GATEWAY_DATABASE_URL", "postgres://gateway@127.0.0.1:5432/gateway")
	t.Setenv("AI_GATEWAY_SECRET_KEY", strings.Repeat("ab", 32))
	n := 0
	for _, doc := range []string{"../README.md", "../xcaddy.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		var block []string
		in, start := false, 0
		for i, line := range strings.Split(string(raw), "\n") {
			switch {
			case strings.HasPrefix(line, "```caddyfile"):
				in, start, block = true, i+1, nil
			case in && strings.HasPrefix(line, "```"):
				in = false
				n++
				cf := strings.Join(block, "\n")
				if first := strings.TrimSpace(block[0]); strings.HasPrefix(first, "ai_") || strings.HasPrefix(first, "handle") {
					cf = ":8080 {\n" + cf + "\n}"
				}
				got, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
				if err != nil {
					t.Errorf("%s:%d: the example does not adapt: %v\n%s", doc, start, err, cf)
					continue
				}
				if err := validateJSON(got); err != nil {
					t.Errorf("%s:%d: the example fails caddy validate: %v\n%s", doc, start, err, cf)
				}
			case in:
				block = append(block, line)
			}
		}
	}
	if n < 6 {
		t.Fatalf("only %d Caddyfile examples found", n)
	}
}
