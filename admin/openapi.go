package admin

import (
	_ "embed"
	"net/http"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
)

// openAPI is the management API's OpenAPI 3.1 document. openapi_test.go
// keeps it in step with the registered routes.
//
//go:embed openapi.json
var openAPI []byte

func init() {
	handle("GET /ai/openapi.json", serveOpenAPI)
}

func serveOpenAPI(_ *caddyaigateway.App, w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}
