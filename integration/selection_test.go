package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

func labConfig(e *env, site string) string {
	return e.caddyfile(cfgOpts{site: site, extraAI: `provider lab {
			format openai
			base_url ` + e.fakeURL + `/lab/v1
			api_key lab-key-0123456789
			model cheap {
				input_price 0.1
				output_price 0.2
			}
			model mid {
				input_price 1
				output_price 2
			}
			model pricey {
				input_price 5
				output_price 10
			}
		}`})
}

// TestAutoSelection: `auto` with each named strategy and with a CEL
// strategy over live metrics built by real traffic.
func TestAutoSelection(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(labConfig(e, ""))
	// Live metrics from real traffic: cheap is slow, mid is fast but fails
	// half the time, pricey is in between and reliable.
	lat := map[string]time.Duration{"cheap": 120 * time.Millisecond, "mid": 5 * time.Millisecond, "pricey": 40 * time.Millisecond}
	e.fake.SetOptions(fakeprovider.Options{LatencyModels: lat, FailModels: map[string]int{"mid": 500}})
	for i := 0; i < 2; i++ {
		readAll(t, e.post("/v1/chat/completions", `{"model":"lab:mid","messages":[{"role":"user","content":"hi"}]}`, e.bearer()))
	}
	e.fake.SetOptions(fakeprovider.Options{LatencyModels: lat})
	for i := 0; i < 2; i++ {
		for _, m := range []string{"cheap", "mid", "pricey"} {
			resp := e.post("/v1/chat/completions", `{"model":"lab:`+m+`","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
			readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("warm-up %s: %d", m, resp.StatusCode)
			}
		}
	}
	allow := `"access":{"models":{"allow":["lab:cheap","lab:mid","lab:pricey"]}}`
	cases := []struct {
		strategy string
		want     string
	}{
		{`"cheapest"`, "cheap"},
		{`"fastest"`, "mid"},
		{`"most_reliable"`, "pricey"}, // cheap and pricey never failed; pricey is faster
		{`"ai.models.filter(m, m.metrics.error_rate < 0.3).sortBy(\"latency\")"`, "pricey"},
		{`"ai.models.filter(m, m.pricing.input >= 1.0).sortBy(\"price\")"`, "mid"},
	}
	for _, c := range cases {
		t.Run(c.strategy, func(t *testing.T) {
			cfg := e.createJSON("/ai/access-key-configurations", `{`+allow+`,"modelSelection":[`+c.strategy+`]}`)["id"].(string)
			tok := e.createJSON("/ai/access-keys", `{"accessKeyConfigurationId":"`+cfg+`"}`)["token"].(string)
			resp := e.post("/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, map[string]string{"Authorization": "Bearer " + tok})
			b := readAll(t, resp)
			if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Model") != c.want {
				t.Fatalf("%d served by %q, want %q: %s", resp.StatusCode, resp.Header.Get("AI-Gateway-Model"), c.want, b)
			}
		})
	}

	t.Run("named models are only reordered", func(t *testing.T) {
		cfg := e.createJSON("/ai/access-key-configurations", `{"modelSelection":["cheapest"]}`)["id"].(string)
		tok := e.createJSON("/ai/access-keys", `{"accessKeyConfigurationId":"`+cfg+`"}`)["token"].(string)
		resp := e.post("/v1/chat/completions", `{"model":"lab:pricey","models":["lab:mid"],"messages":[{"role":"user","content":"hi"}]}`, map[string]string{"Authorization": "Bearer " + tok})
		readAll(t, resp)
		if resp.Header.Get("AI-Gateway-Model") != "mid" {
			t.Fatalf("served by %q", resp.Header.Get("AI-Gateway-Model"))
		}
	})

	t.Run("a strategy that filters everything is 422", func(t *testing.T) {
		cfg := e.createJSON("/ai/access-key-configurations", `{"modelSelection":["ai.models.onlyProviders([\"nobody\"])"]}`)["id"].(string)
		tok := e.createJSON("/ai/access-keys", `{"accessKeyConfigurationId":"`+cfg+`"}`)["token"].(string)
		resp := e.post("/v1/chat/completions", `{"model":"lab:pricey","messages":[{"role":"user","content":"hi"}]}`, map[string]string{"Authorization": "Bearer " + tok})
		b := readAll(t, resp)
		if resp.StatusCode != 422 || !strings.Contains(string(b), "no_matching_models") {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("bad CEL is refused when written, with its position", func(t *testing.T) {
		e.expectAdmin("POST", "/ai/access-key-configurations", `{"modelSelection":["ai.models.filter(m, m.nope)"]}`, 400, "1:")
		e.expectAdmin("POST", "/ai/access-key-configurations", `{"modelSelection":["1 + 1"]}`, 400, "modelSelection[0]")
	})

	t.Run("site model_selection", func(t *testing.T) {
		e.load(labConfig(e, "ai_auth\n\tai_gateway {\n\t\tmodel_selection `ai.models.onlyProviders([\"lab\"]).sortBy(\"price\")`\n\t}"))
		resp := e.post("/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		readAll(t, resp)
		if resp.Header.Get("AI-Gateway-Model") != "cheap" {
			t.Fatalf("served by %q", resp.Header.Get("AI-Gateway-Model"))
		}
	})
}

// TestBadSelectionFailsValidate: a bad CEL expression fails `caddy
// validate` (and so `caddy run`/`reload`) with the position of the error.
func TestBadSelectionFailsValidate(t *testing.T) {
	cf := "{\n\tadmin off\n\tai {\n\t\tstorage " + t.TempDir() + "/v.db\n\t\tadmin_key validate-admin-key-0123\n\t}\n}\n:0 {\n\tai_gateway {\n\t\tmodel_selection `ai.models.filter(m, m.provider_id == 1 +)`\n\t}\n}\n"
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	var c caddy.Config
	if err := caddyJSON(cfg, &c); err != nil {
		t.Fatal(err)
	}
	err = caddy.Validate(&c)
	if err == nil || !strings.Contains(err.Error(), "model_selection[0]") || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("validate: %v", err)
	}
}

// TestSelectionInputs: the CEL variables that come from the request and
// its caller — key.metadata, ai.keys and req.headers — are filled from the
// real request, each changing which provider serves.
func TestSelectionInputs(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(labConfig(e, ""))
	allow := `"access":{"models":{"allow":["lab:cheap","openai:gpt-4o-mini"]}}`
	// keyFor makes an access key (with the given extra fields) whose
	// configuration has the given strategies.
	keyFor := func(strategies []string, keyFields, cfgFields string) map[string]string {
		t.Helper()
		js, _ := json.Marshal(strategies)
		cfg := e.createJSON("/ai/access-key-configurations", `{`+allow+cfgFields+`,"modelSelection":`+string(js)+`}`)["id"].(string)
		tok := e.createJSON("/ai/access-keys", `{"accessKeyConfigurationId":"`+cfg+`"`+keyFields+`}`)["token"].(string)
		return map[string]string{"Authorization": "Bearer " + tok}
	}
	served := func(hdr map[string]string) string {
		t.Helper()
		resp := e.post("/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, hdr)
		b := readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return resp.Header.Get("AI-Gateway-Provider")
	}

	t.Run("key.metadata", func(t *testing.T) {
		byTeam := []string{`"team" in key.metadata && key.metadata.team == "ml" && key.metadata.tier == "2" ? ai.models.onlyProviders("lab") : ai.models.onlyProviders("openai")`}
		if p := served(keyFor(byTeam, `,"metadata":"{\"team\":\"ml\",\"tier\":2}"`, "")); p != "lab" {
			t.Fatalf("ml key served by %q, want lab", p)
		}
		if p := served(keyFor(byTeam, `,"metadata":"{\"team\":\"web\"}"`, "")); p != "openai" {
			t.Fatalf("web key served by %q, want openai", p)
		}
		if p := served(keyFor(byTeam, `,"metadata":"not json"`, "")); p != "openai" {
			t.Fatalf("plain-text metadata served by %q, want openai", p)
		}
	})

	t.Run("ai.keys", func(t *testing.T) {
		pk := e.createJSON("/ai/provider-keys", `{"providerId":"lab","value":"customer-lab-key-0123456789"}`)["id"].(string)
		byok := []string{
			`ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id && k.source == "user" && k.id == "` + pk + `"))`,
			`ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id && k.source == "managed" && k.id == "")).onlyProviders("openai")`,
		}
		rule := `,"router":{"rules":[{"provider":"lab","steps":[{"type":"user","keys":["` + pk + `"]}]}]}`
		if p := served(keyFor(byok, "", rule)); p != "lab" {
			t.Fatalf("caller with a lab key of its own served by %q, want lab", p)
		}
		if p := served(keyFor(byok, "", "")); p != "openai" {
			t.Fatalf("caller with managed keys only served by %q, want openai", p)
		}
		// Key values never reach a strategy.
		leak := []string{`ai.keys.exists(k, k.id.contains("customer-lab-key") || k.id.contains("lab-key-0123")) ? ai.models.onlyProviders("openai") : ai.models.onlyProviders("lab")`}
		if p := served(keyFor(leak, "", rule)); p != "lab" {
			t.Fatalf("a key value reached ai.keys")
		}
	})

	t.Run("req.headers", func(t *testing.T) {
		byHeader := []string{`"x-team" in req.headers && req.headers["x-team"] == "ml" ? ai.models.onlyProviders("lab") : ai.models.onlyProviders("openai")`}
		hdr := keyFor(byHeader, "", "")
		hdr["X-Team"] = "ml"
		if p := served(hdr); p != "lab" {
			t.Fatalf("X-Team: ml served by %q, want lab", p)
		}
		hdr["X-Team"] = "web"
		if p := served(hdr); p != "openai" {
			t.Fatalf("X-Team: web served by %q, want openai", p)
		}
		// A private gateway (no ai_auth) keeps the client's credentials
		// out of req.headers.
		e.load(labConfig(e, "ai_gateway {\n\t\tmodel_selection `\"authorization\" in req.headers || \"x-api-key\" in req.headers || \"cookie\" in req.headers ? ai.models.onlyProviders(\"openai\") : ai.models.onlyProviders(\"lab\")`\n\t}"))
		if p := served(map[string]string{"Authorization": "Bearer secret-1", "X-Api-Key": "secret-2", "Cookie": "s=3"}); p != "lab" {
			t.Fatalf("a credential header reached req.headers (served by %q)", p)
		}
	})
}
