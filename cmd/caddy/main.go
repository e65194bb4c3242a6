// Command caddy is Caddy with its standard modules and caddy-ai-gateway,
// so `go run ./cmd/caddy run --config Caddyfile.example` works without
// xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddy-ai-gateway/caddy-ai-gateway"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() { caddycmd.Main() }
