package hold

import (
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/routing"
)

func TestPlanFor(t *testing.T) {
	usd := money.PerMillion(money.USD)
	priced := &catalog.Model{ID: "cheap", Pricing: catalog.Pricing{Input: &usd, Output: &usd}}
	pricey := money.PerMillion(10 * money.USD)
	dear := &catalog.Model{ID: "dear", Pricing: catalog.Pricing{Input: &pricey, Output: &pricey}}
	cheap, costly, free := target("a", priced, "cheap"), target("b", dear, "dear"), target("c", nil, "local")
	managed, user := routing.Key{Source: routing.SourceManaged}, routing.Key{Source: routing.SourceUser}
	fees := credits.Fees{Processing: money.PerMillion(money.USD / 10), BYOK: money.PerMillion(money.USD / 100)}
	req := testRequest("chat/completions", true, 100, nil)
	req.Body = make([]byte, 1000)
	worst := func(tg registry.Target, k routing.Key) money.Nano {
		m := k.Source == routing.SourceManaged
		return WorstCase(req, tg, fees.Rate(m), m, len(req.Body))
	}
	for _, tc := range []struct {
		name     string
		targets  []registry.Target
		keys     map[string][]routing.Key // by target ref
		managed  bool
		user     bool
		reserve  money.Nano
		unpriced string
	}{
		{"managed: the dearest target", []registry.Target{cheap, costly}, map[string][]routing.Key{cheap.Ref(): {managed}, costly.Ref(): {managed, managed}},
			true, false, worst(costly, managed), ""},
		{"customer keys: the BYOK fee", []registry.Target{cheap, free}, map[string][]routing.Key{cheap.Ref(): {user}, free.Ref(): {user}},
			false, true, max(worst(cheap, user), worst(free, user)), ""},
		{"both: the larger", []registry.Target{cheap, costly}, map[string][]routing.Key{cheap.Ref(): {managed}, costly.Ref(): {user}},
			true, true, max(worst(cheap, managed), worst(costly, user)), ""},
		{"unpriced managed targets are listed once", []registry.Target{free, free, cheap}, map[string][]routing.Key{free.Ref(): {managed, managed}, cheap.Ref(): {managed}},
			true, false, worst(cheap, managed), free.Ref()},
		{"nothing to pay with", []registry.Target{free}, map[string][]routing.Key{free.Ref(): {managed}}, false, false, 0, free.Ref()},
	} {
		p := PlanFor(req, tc.targets, func(tg registry.Target) []routing.Key { return tc.keys[tg.Ref()] }, fees)
		if p.Managed != tc.managed || p.User != tc.user || p.Reserve() != tc.reserve || strings.Join(p.Unpriced, ",") != tc.unpriced {
			t.Errorf("%s: managed %v user %v reserve %s unpriced %v, want %v %v %s %q", tc.name, p.Managed, p.User, p.Reserve(), p.Unpriced,
				tc.managed, tc.user, tc.reserve, tc.unpriced)
		}
		if p.Tokens <= 0 {
			t.Errorf("%s: tokens %d", tc.name, p.Tokens)
		}
		for _, tg := range tc.targets {
			if _, ok := p.Priced[tg.Ref()]; ok && p.Priced[tg.Ref()] != (tg.Model != nil) {
				t.Errorf("%s: %s priced %v", tc.name, tg.Ref(), p.Priced[tg.Ref()])
			}
		}
	}
}

func TestKeyLimits(t *testing.T) {
	rpm, spend := int64(60), 2*money.USD
	for _, tc := range []struct {
		name string
		cfg  *manage.AccessKeyConfiguration
		want credits.Limits
	}{
		{"no configuration", nil, credits.Limits{}},
		{"no limits", &manage.AccessKeyConfiguration{}, credits.Limits{}},
		{"those set", &manage.AccessKeyConfiguration{Limits: &manage.Limits{RequestsPerMinute: &rpm, SpendPerDay: &spend}},
			credits.Limits{RequestsPerMinute: 60, SpendPerDay: spend}},
	} {
		if got := KeyLimits(tc.cfg); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
