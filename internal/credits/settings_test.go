package credits

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		c   Configured
		err string // "" = valid
	}{
		{Configured{}, ""},
		{Configured{MaxPurchase: "250000"}, ""},
		{Configured{MaxPurchase: "5", MinPurchase: "5"}, ""},
		{Configured{MaxPurchase: "4.99"}, "below min_purchase"}, // below the default minimum
		{Configured{MaxPurchase: "0"}, "max_purchase"},
		{Configured{MaxPurchase: "+10"}, "max_purchase"},
		{Configured{MaxPurchase: "ten"}, "max_purchase"},
		{Configured{MaxPurchase: "9223372036.854775808"}, "max_purchase"},
		{Configured{MinPurchase: "200000"}, "below min_purchase"}, // above the default maximum
		{Configured{MinPurchase: "-1"}, "min_purchase"},
		{Configured{ProcessingFee: "x"}, "processing_fee"},
		{Configured{BYOKFee: "-1"}, "byok_fee"},
		{Configured{Lifetime: -time.Second}, "credit_lifetime"},
		{Configured{LowBalanceThresholds: []string{"10", "0"}}, "low_balance_thresholds"},
		{Configured{LowBalanceThresholds: []string{"10", "10.00"}}, "given twice"},
		{Configured{LowBalanceWebhook: "ftp://example.com/hook"}, "low_balance_webhook"},
		{Configured{LowBalanceWebhook: "{env.HOOK}"}, "low_balance_webhook"}, // an unresolved placeholder
		{Configured{LowBalanceWebhook: "https://example.com/hook"}, ""},
	} {
		_, err := ParseSettings(tc.c)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.err)
		}
	}
	s, _ := ParseSettings(Configured{})
	if s.MinPurchase != 5*money.USD || s.MaxPurchase != DefaultMaxPurchase || s.Lifetime != 365*24*time.Hour || s.Fees != (Fees{}) {
		t.Fatalf("defaults %+v", s)
	}
}

func TestSettingsWith(t *testing.T) {
	base, err := ParseSettings(Configured{ProcessingFee: "0.5", BYOKFee: "0.1", LowBalanceThresholds: []string{"10"}, LowBalanceWebhook: "https://a.example/hook"})
	if err != nil {
		t.Fatal(err)
	}
	fee, min, life, empty, none := money.PerMillion(0), 1*money.USD, time.Hour, "", []money.Nano{}
	for _, tc := range []struct {
		name  string
		o     Override
		check func(Settings) bool
	}{
		{"nothing set keeps everything", Override{}, func(s Settings) bool {
			return s.Fees == base.Fees && s.MinPurchase == base.MinPurchase && s.Webhook == base.Webhook && slices.Equal(s.Thresholds, base.Thresholds)
		}},
		{"a zero fee replaces", Override{ProcessingFee: &fee}, func(s Settings) bool { return s.Fees.Processing == 0 && s.Fees.BYOK == base.Fees.BYOK }},
		{"purchase and lifetime", Override{MinPurchase: &min, Lifetime: &life}, func(s Settings) bool { return s.MinPurchase == min && s.Lifetime == life }},
		{"an empty webhook and no thresholds replace", Override{Webhook: &empty, Thresholds: &none}, func(s Settings) bool { return s.Webhook == "" && len(s.Thresholds) == 0 }},
	} {
		if got := base.With(tc.o); !tc.check(got) {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
	if base.Fees.Rate(true) != base.Fees.Processing || base.Fees.Rate(false) != base.Fees.BYOK {
		t.Fatal("Rate picks the wrong fee")
	}
}
