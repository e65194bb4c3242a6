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
	register(route{http.MethodGet, "/ai/openapi.json", serveOpenAPI})
}

func serveOpenAPI(_ *caddyaigateway.App, w http.ResponseWriter, _ *http.Request, _ []string) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}
