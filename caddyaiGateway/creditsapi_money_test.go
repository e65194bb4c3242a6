package caddyaigateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// wantInvalid checks that err is a 400 naming field.
func wantInvalid(t *testing.T, what string, err error, field, contains string) {
	t.Helper()
	var inv *manage.InvalidError
	if !errors.As(err, &inv) || inv.Field != field || !strings.Contains(inv.Error(), contains) {
		t.Fatalf("%s: got %v, want a 400 on %s containing %q", what, err, field, contains)
	}
}

// TestPurchaseAmountIsStrict: an amount is an unsigned decimal USD string
// and nothing else; a purchase above the maximum, or one that would wrap
// the balance, is a 400 on amount and writes nothing.
func TestPurchaseAmountIsStrict(t *testing.T) {
	app := creditsTestApp(t, "", CreditConfig{MinPurchase: "1"})
	buy := func(amountJSON string) error {
		_, err := app.Manage().Purchase(patchOf(t, "accountId", `"default"`, "amount", amountJSON), "")
		return err
	}
	if err := buy(`"20.30"`); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`"+5"`, `"-5"`, `" 5"`, `"5 "`, `"5\n"`, `"5e1"`, `"0x10"`, `"1_000"`, `"5.0000000001"`, `"5.5.5"`,
		`""`, `"."`, `"5USD"`, `5`, `5.0`, `null`, `true`, `["5"]`, `"９"`} {
		wantInvalid(t, "purchase of "+bad, buy(bad), "amount", "")
	}
	// the report's attack: 9223372036.00 on a $20.30 balance
	wantInvalid(t, "purchase above the maximum", buy(`"9223372036.00"`), "amount", "maximum purchase")
	wantInvalid(t, "purchase past int64", buy(`"9223372036.854775808"`), "amount", "out of range")
	wantInvalid(t, "purchase just above the maximum", buy(`"100000.000000001"`), "amount", "100000.00 USD")
	if err := buy(`"100000"`); err != nil {
		t.Fatalf("a purchase of the maximum: %v", err)
	}

	// with no practical maximum, the ledger's overflow check answers
	if _, err := app.Manage().UpdateGatewayConfig(patchOf(t, "maxPurchase", `"9223372036.854775807"`)); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, "purchase that wraps the balance", buy(`"9223372036.00"`), "amount", "beyond")
	b, _ := app.Manage().CreditBalance(manage.DefaultAccountID)
	if b.Balance != money.Nano(100_020_300_000_000) {
		t.Fatalf("balance %s after refused purchases", b.Balance)
	}
	if err := app.Manage().Ledger().Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestAdjustmentBounds(t *testing.T) {
	app := creditsTestApp(t, "", CreditConfig{MaxPurchase: "1000"})
	adjust := func(amountJSON string) error {
		_, err := app.Manage().Adjust(patchOf(t, "accountId", `"default"`, "amount", amountJSON))
		return err
	}
	if err := adjust(`"+10"`); err != nil { // a sign is how an adjustment says which way
		t.Fatal(err)
	}
	for _, bad := range []string{`" -5"`, `"-5e1"`, `"--5"`, `"-"`, `-5`} {
		wantInvalid(t, "adjustment of "+bad, adjust(bad), "amount", "")
	}
	wantInvalid(t, "credit above the maximum", adjust(`"1000.01"`), "amount", "maximum")
	wantInvalid(t, "debit above the maximum", adjust(`"-1000.01"`), "amount", "maximum")
	if _, err := app.Manage().UpdateGatewayConfig(patchOf(t, "maxPurchase", `"9223372036.854775807"`)); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, "credit that wraps", adjust(`"9223372036.854775807"`), "amount", "beyond")
	if err := adjust(`"-9223372036.854775807"`); err != nil { // debt down to 10 USD − MaxInt64 nano-USD
		t.Fatal(err)
	}
	wantInvalid(t, "debit that wraps", adjust(`"-10.000000002"`), "amount", "beyond")
	if err := app.Manage().Ledger().Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestGatewayConfigMaxPurchase(t *testing.T) {
	app := creditsTestApp(t, "", CreditConfig{})
	for body, field := range map[string]string{
		`"0"`:      "maxPurchase",
		`"-1"`:     "maxPurchase",
		`"4.99"`:   "maxPurchase", // below the Caddyfile's min_purchase 5.00
		`"1e9"`:    "maxPurchase",
		`" 100"`:   "maxPurchase",
		`100`:      "maxPurchase",
		`"100000"`: "",
	} {
		_, err := app.Manage().UpdateGatewayConfig(patchOf(t, "maxPurchase", body))
		if field == "" {
			if err != nil {
				t.Fatalf("maxPurchase %s: %v", body, err)
			}
			continue
		}
		wantInvalid(t, "maxPurchase "+body, err, field, "")
	}
	if _, err := app.Manage().UpdateGatewayConfig(patchOf(t, "maxPurchase", `"50"`)); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, "minPurchase above maxPurchase", func() error {
		_, err := app.Manage().UpdateGatewayConfig(patchOf(t, "minPurchase", `"60"`))
		return err
	}(), "minPurchase", "50.00")
	_, err := app.Manage().Purchase(patchOf(t, "accountId", `"default"`, "amount", `"60"`), "")
	wantInvalid(t, "purchase above the configured maximum", err, "amount", "50.00 USD")
	if got := app.Manage().GatewayConfig().MaxPurchase; got == nil || *got != 50*money.USD {
		t.Fatalf("stored maxPurchase %v", got)
	}
	// null: back to the Caddyfile's (default 100000)
	if _, err := app.Manage().UpdateGatewayConfig(patchOf(t, "maxPurchase", `null`)); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Manage().Purchase(patchOf(t, "accountId", `"default"`, "amount", `"60"`), ""); err != nil {
		t.Fatal(err)
	}
	if got := app.Manage().Ledger().Config().MaxPurchase; got != 100_000*money.USD {
		t.Fatalf("ledger maxPurchase %s", got)
	}
}
