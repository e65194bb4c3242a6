package caddyaigateway

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
)

func init() {
	caddy.RegisterModule(Credits{})
}

// Credits (`ai_credits`) makes requests draw on the caller's prepaid
// balance. It refuses with 402 insufficient_credits (no provider call)
// when the account has nothing available; ai_gateway then reserves the
// request's worst-case cost before the first attempt and settles the real
// cost (provider price + processing fee, or the BYOK fee for customer
// keys) before the answer's last bytes reach the client. It also enforces
// the access key configuration's limits (429 rate_limited).
type Credits struct {
	app    *App
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Credits) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ai_credits",
		New: func() caddy.Module { return new(Credits) },
	}
}

// Provision joins the `ai` app.
func (cr *Credits) Provision(ctx caddy.Context) error {
	cr.logger = ctx.Logger()
	app, err := ctx.App("ai")
	if err != nil {
		return fmt.Errorf("loading ai app: %w", err)
	}
	cr.app = app.(*App)
	return nil
}

// wallet marks a request as drawing on credits.
type wallet struct {
	accountID string
}

const varWallet = "ai.wallet"

func walletFrom(r *http.Request) *wallet {
	w, _ := caddyhttp.GetVar(r.Context(), varWallet).(*wallet)
	return w
}

func (cr *Credits) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	requestID(w, r)
	if aerr := cr.app.ready(); aerr != nil {
		return writeError(w, r, aerr)
	}
	caller := CallerFrom(r)
	wl := &wallet{accountID: caller.AccountID()}
	caddyhttp.SetVar(r.Context(), varWallet, wl)
	// Refuse early when nothing could pay. A configuration with customer
	// (BYOK) keys may still be served at zero balance, so it is left to the
	// gateway's reservation.
	st := cr.app.shared.Manage.Snapshot()
	if !routing.UsesCustomerKeys(configFor(st, caller)) {
		if avail := cr.app.shared.Ledger.Available(wl.accountID); avail <= 0 {
			return writeError(w, r, apierr.New(http.StatusPaymentRequired, apierr.InsufficientCredits,
				fmt.Sprintf("insufficient credits: the balance of account %s is used up (%s USD available); buy credits to continue", wl.accountID, avail)))
		}
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Credits)(nil)
	_ caddyhttp.MiddlewareHandler = (*Credits)(nil)
)
