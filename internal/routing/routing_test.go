package routing

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/apierr"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/health"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
)

func testRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.Build([]*registry.Config{
		{ID: "openai", APIKeys: []string{"sk-o1", "sk-o2"}},
		{ID: "anthropic", APIKeys: []string{"sk-a"}},
		{ID: "local", Format: "openai", BaseURL: "http://127.0.0.1:1/v1", Models: []*registry.Model{{ID: "m", InputPrice: "0", OutputPrice: "0"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func allow(v ...string) *manage.AllowList { return &manage.AllowList{Allow: &v} }

func refs(ts []registry.Target) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Ref()
	}
	return strings.Join(out, ",")
}

func TestKeys(t *testing.T) {
	reg := testRegistry(t)
	gpt := reg.Resolve("openai:gpt-4o")[0]
	st := &manage.Snapshot{ProviderKeys: map[string]*manage.ProviderKey{
		"pk_o": {ID: "pk_o", ProviderID: "openai"}, "pk_a": {ID: "pk_a", ProviderID: "anthropic"}}}
	rule := func(provider, model string, steps ...manage.RouterStep) *manage.AccessKeyConfiguration {
		return &manage.AccessKeyConfiguration{Router: manage.Router{Rules: []manage.RouterRule{{Provider: provider, Model: model, Steps: steps}}}}
	}
	managed := manage.RouterStep{Type: "managed"}
	user := manage.RouterStep{Type: "user", Keys: []manage.StepKey{{ID: "pk_a"}, {ID: "pk_o"}, {ID: "pk_gone"}}}
	for _, tc := range []struct {
		name     string
		cfg      *manage.AccessKeyConfiguration
		want     string // source/id per key
		customer bool   // UsesCustomerKeys
	}{
		{"no configuration: managed keys", nil, "managed/,managed/", false},
		{"provider rule, user then managed", rule("OpenAI", "", user, managed), "user/pk_o,managed/,managed/", true},
		{"model rule", rule("", "openai:gpt-4o", user), "user/pk_o", true},
		{"another model's rule", rule("", "gpt-4o-mini", user), "managed/,managed/", true},
		{"another provider's rule", rule("anthropic", "", user), "managed/,managed/", true},
		{"managed only", rule("OpenAI", "", managed), "managed/,managed/", false},
	} {
		if got := UsesCustomerKeys(tc.cfg); got != tc.customer {
			t.Errorf("%s: UsesCustomerKeys %v, want %v", tc.name, got, tc.customer)
		}
		var got []string
		for _, k := range Keys(st, tc.cfg, gpt) {
			got = append(got, k.Source+"/"+k.ID)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: keys %v, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRefusal(t *testing.T) {
	reg := testRegistry(t)
	gpt := reg.Resolve("openai:gpt-4o")[0]
	for _, tc := range []struct {
		name   string
		access manage.Access
		want   string
	}{
		{"unrestricted", manage.Access{}, ""},
		{"provider allowed", manage.Access{Providers: allow("OPENAI")}, ""},
		{"provider not allowed", manage.Access{Providers: allow("anthropic")}, apierr.ProviderNotAllowed},
		{"model allowed by name", manage.Access{Models: allow("gpt-4o")}, ""},
		{"model allowed by reference", manage.Access{Models: allow("openai:GPT-4o")}, ""},
		{"model of another provider", manage.Access{Models: allow("anthropic:gpt-4o")}, apierr.ModelNotAllowed},
		{"empty allow list", manage.Access{Models: allow()}, apierr.ModelNotAllowed},
	} {
		if got := Refusal(&manage.AccessKeyConfiguration{Access: tc.access}, gpt); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCandidates(t *testing.T) {
	reg := testRegistry(t)
	st := &manage.Snapshot{VirtualModels: map[string]*manage.VirtualModel{"smart": {Name: "smart", Models: []string{"claude-sonnet-4-6", "gpt-4o"}}}}
	chat, embeddings := clientreq.Lookup("chat/completions"), clientreq.Lookup("embeddings")
	for _, tc := range []struct {
		name      string
		ep        *clientreq.Endpoint
		model     string
		fallbacks []string
		access    manage.Access
		want      string // targets, or the error code
		rejected  string
	}{
		{"a catalog model", chat, "gpt-4o", nil, manage.Access{}, "openai:gpt-4o", ""},
		{"fallbacks, once each", chat, "gpt-4o", []string{"openai:gpt-4o", "local:m"}, manage.Access{}, "openai:gpt-4o,local:m", ""},
		{"a virtual model", chat, "smart", nil, manage.Access{}, "anthropic:claude-sonnet-4-6,openai:gpt-4o", ""},
		{"refused, the rest served", chat, "smart", nil, manage.Access{Providers: allow("openai")}, "openai:gpt-4o", "anthropic:claude-sonnet-4-6"},
		{"all refused", chat, "claude-sonnet-4-6", nil, manage.Access{Providers: allow("openai")}, apierr.ProviderNotAllowed, "anthropic:claude-sonnet-4-6"},
		{"model refused", chat, "gpt-4o", nil, manage.Access{Models: allow("local:m")}, apierr.ModelNotAllowed, "openai:gpt-4o"},
		{"unknown model", chat, "nope", nil, manage.Access{}, apierr.NoMatchingModels, ""},
		{"wrong format", embeddings, "claude-sonnet-4-6", nil, manage.Access{}, apierr.NoMatchingModels, ""},
		{"auto: the usable models of the endpoint", embeddings, "auto", nil, manage.Access{Models: allow("text-embedding-3-small", "gpt-4o")}, "openai:text-embedding-3-small", ""},
	} {
		cfg := &manage.AccessKeyConfiguration{Access: tc.access}
		q := Query{Endpoint: tc.ep, Model: tc.model, Fallbacks: tc.fallbacks, St: st, Cfg: cfg,
			Keys: func(t registry.Target) []Key { return Keys(st, cfg, t) }}
		out, rejected, aerr := Candidates(reg, q)
		got := refs(out)
		if aerr != nil {
			got = aerr.Code
		}
		if got != tc.want || strings.Join(rejected, ",") != tc.rejected {
			t.Errorf("%s: %s (rejected %v), want %s (rejected %s)", tc.name, got, rejected, tc.want, tc.rejected)
		}
	}
}

func TestHealthOrder(t *testing.T) {
	reg := testRegistry(t)
	targets := append(reg.Resolve("openai:gpt-4o"), reg.Resolve("anthropic:claude-sonnet-4-6")...)
	keys := func(t registry.Target) []Key { return Keys(&manage.Snapshot{}, nil, t) }
	h := health.NewKeyHealth()
	h.Failed("openai", "sk-o1", 429, 0)
	if got := refs(HealthOrder(h, targets, keys)); got != "openai:gpt-4o,anthropic:claude-sonnet-4-6" {
		t.Errorf("one key cooling moved the target: %s", got)
	}
	h.Failed("openai", "sk-o2", 401, 0)
	if got := refs(HealthOrder(h, targets, keys)); got != "anthropic:claude-sonnet-4-6,openai:gpt-4o" {
		t.Errorf("every key cooling: %s", got)
	}
}

func TestModels(t *testing.T) {
	reg := testRegistry(t)
	st := &manage.Snapshot{VirtualModels: map[string]*manage.VirtualModel{
		"b": {Name: "b", Models: []string{"local:m"}}, "a": {Name: "a", Models: []string{"gpt-4o"}}}}
	cfg := &manage.AccessKeyConfiguration{Access: manage.Access{Providers: allow("local")}}
	var ids []string
	for _, m := range Models(reg, st, cfg) {
		ids = append(ids, m.ID+"/"+m.Type+"/"+m.InputPrice)
	}
	if got := strings.Join(ids, ","); got != "local:m/chat/0.00,b/virtual/" {
		t.Errorf("models %s", got)
	}
}

func TestFindModelAndAnthropicList(t *testing.T) {
	reg := testRegistry(t)
	all := Models(reg, &manage.Snapshot{}, nil)
	for _, tc := range []struct {
		id, want string // want "" = not found
	}{
		{"openai:gpt-4o", "openai:gpt-4o"},
		{"gpt-4o", "openai:gpt-4o"}, // a reference that resolves to a listed model
		{"local:m", "local:m"},
		{"no-such-model", ""},
	} {
		m, ok := FindModel(reg, all, tc.id)
		if ok != (tc.want != "") || m.ID != tc.want {
			t.Errorf("FindModel(%q) = %q %v, want %q", tc.id, m.ID, ok, tc.want)
		}
	}
	for _, tc := range []struct {
		models []Model
		want   string
	}{
		{nil, `{"data":[],"first_id":null,"has_more":false,"last_id":null}`},
		{[]Model{{ID: "a"}, {ID: "b"}}, `{"data":[{"type":"model","id":"a","display_name":"a","created_at":"1970-01-01T00:00:00Z"},` +
			`{"type":"model","id":"b","display_name":"b","created_at":"1970-01-01T00:00:00Z"}],"first_id":"a","has_more":false,"last_id":"b"}`},
	} {
		b, _ := json.Marshal(AnthropicModels(tc.models))
		if string(b) != tc.want {
			t.Errorf("AnthropicModels: %s, want %s", b, tc.want)
		}
	}
}
