package hold

import (
	"math"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
)

func testRequest(route string, metered bool, maxTokens int64, gatewayMax *int64) *clientreq.Request {
	return &clientreq.Request{Endpoint: clientreq.Lookup(route), Metered: metered, MaxTokens: maxTokens, MaxOutputTokens: gatewayMax}
}

func target(provider string, m *catalog.Model, name string) registry.Target {
	return registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: provider}}, Model: m, Name: name}
}

func TestOutputLimit(t *testing.T) {
	opus := target("anthropic", &catalog.Model{ID: "claude-opus-4-6", MaxOutputTokens: 128000}, "claude-opus-4-6")
	unknown := target("ollama", nil, "llama")
	cap1k := int64(1000)
	for _, tc := range []struct {
		name  string
		req   *clientreq.Request
		t     registry.Target
		limit int64
	}{
		{"asked within the model's", testRequest("messages", true, 100, nil), opus, 100},
		{"asked beyond the model's", testRequest("messages", true, 2_000_000_000, nil), opus, 128000},
		{"asked MaxInt64", testRequest("messages", true, math.MaxInt64, nil), opus, 128000},
		{"none: the model's", testRequest("chat/completions", true, 0, nil), opus, 128000},
		{"gateway cap", testRequest("chat/completions", true, 0, &cap1k), opus, 1000},
		{"gateway cap above the ask", testRequest("chat/completions", true, 10, &cap1k), opus, 10},
		{"unknown model, metered", testRequest("chat/completions", true, 0, nil), unknown, DefaultOutputReserve},
		{"unknown model, asked", testRequest("chat/completions", true, 1e9, nil), unknown, 1e9},
		{"unknown model, unmetered", testRequest("chat/completions", false, 0, nil), unknown, 0},
		{"unmetered: the client's as written", testRequest("messages", false, 2_000_000, nil), opus, 2_000_000},
		{"unmetered: none, the model's not added", testRequest("messages", false, 0, nil), opus, 0},
		{"unmetered: the gateway cap", testRequest("messages", false, 0, &cap1k), opus, 1000},
		{"embeddings have no output", testRequest("embeddings", true, 0, nil), opus, 0},
	} {
		if got := OutputLimit(tc.req, tc.t); got != tc.limit {
			t.Errorf("%s: OutputLimit = %d, want %d", tc.name, got, tc.limit)
		}
	}
}

func TestWithOutputLimitWritesTheCanonicalValue(t *testing.T) {
	gpt := target("openai", &catalog.Model{ID: "gpt-4o", MaxOutputTokens: 16384}, "gpt-4o")
	other := target("deepseek", &catalog.Model{ID: "x", MaxOutputTokens: 8192}, "x")
	for _, tc := range []struct {
		name, route, body string
		t                 registry.Target
		want              map[string]string // member → value ("" = absent)
	}{
		{"clamped in place", "chat/completions", `{"messages":[],"max_tokens":100000}`, gpt, map[string]string{"max_tokens": "16384", "max_completion_tokens": ""}},
		{"both agree: one kept", "chat/completions", `{"messages":[],"max_tokens":50,"max_completion_tokens":50}`, gpt, map[string]string{"max_completion_tokens": "50", "max_tokens": ""}},
		{"none, openai", "chat/completions", `{"messages":[]}`, gpt, map[string]string{"max_completion_tokens": "16384"}},
		{"none, compatible server", "chat/completions", `{"messages":[]}`, other, map[string]string{"max_tokens": "8192"}},
		{"responses", "responses", `{"max_output_tokens":999999}`, gpt, map[string]string{"max_output_tokens": "16384"}},
		{"messages", "messages", `{"messages":[],"max_tokens":7}`, gpt, map[string]string{"max_tokens": "7"}},
	} {
		req, err := clientreq.Parse(clientreq.Lookup(tc.route), []byte(tc.body), true)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out, err := WithOutputLimit([]byte(tc.body), req, tc.t)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for k, want := range tc.want {
			got, ok, _ := jsonobj.Get(out, k)
			if (want == "" && ok) || (want != "" && string(got) != want) {
				t.Errorf("%s: %s = %q in %s, want %q", tc.name, k, got, out, want)
			}
		}
	}
}

// Gemini's limit lives in generationConfig.maxOutputTokens: clamped there,
// added there (other members kept), generationConfig created if absent.
func TestWithOutputLimitGemini(t *testing.T) {
	gpt := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "google"}}, Model: &catalog.Model{ID: "gemini-2.5-flash", MaxOutputTokens: 65536}, Name: "gemini-2.5-flash"}
	ep, _, _ := clientreq.Gemini("/v1beta/models/m:generateContent")
	for body, want := range map[string]string{
		`{"contents":[],"generationConfig":{"maxOutputTokens":100000,"temperature":1}}`: `{"maxOutputTokens":65536,"temperature":1}`,
		`{"contents":[],"generationConfig":{"temperature":1}}`:                          `{"temperature":1,"maxOutputTokens":65536}`,
		`{"contents":[]}`: `{"maxOutputTokens":65536}`,
		`{"contents":[],"generationConfig":{"maxOutputTokens":7}}`: `{"maxOutputTokens":7}`,
	} {
		req, err := clientreq.ParseFor(ep, "gemini-2.5-flash", []byte(body), true)
		if err != nil {
			t.Fatal(err)
		}
		out, err := WithOutputLimit([]byte(body), req, gpt)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := jsonobj.Get(out, "generationConfig"); string(got) != want {
			t.Errorf("%s: generationConfig %s, want %s", body, got, want)
		}
	}
}

// TestWorstCaseNeverWraps feeds extreme values: the hold saturates at
// MaxInt64 (which no balance covers) instead of wrapping to a small or
// negative number.
func TestWorstCaseNeverWraps(t *testing.T) {
	huge := money.PerMillion(math.MaxInt64)
	p := func(v money.PerMillion) catalog.Price { return &v }
	for _, tc := range []struct {
		name      string
		maxTokens int64
		bodyLen   int
		price     money.PerMillion
		fee       money.PerMillion
	}{
		{"max output", math.MaxInt64, 10, money.PerMillion(25 * money.USD), 0},
		{"max price", 1000, 10, huge, 0},
		{"max fee", math.MaxInt64, 10, 0, huge},
		{"all extreme", math.MaxInt64, 1 << 30, huge, huge},
	} {
		model := &catalog.Model{ID: "m", Pricing: catalog.Pricing{Input: p(tc.price), Output: p(tc.price)}}
		req := testRequest("messages", true, tc.maxTokens, nil)
		req.Body = make([]byte, 10)
		got := WorstCase(req, target("x", model, "m"), tc.fee, true, tc.bodyLen)
		if got <= 0 {
			t.Errorf("%s: worst case %d wrapped", tc.name, got)
		}
		if tc.price == huge || tc.fee == huge || tc.maxTokens == math.MaxInt64 {
			if got < money.Nano(math.MaxInt64/2) {
				t.Errorf("%s: worst case %d is not saturated", tc.name, got)
			}
		}
	}
	// unmeasurable input: the context window bounds it
	req := testRequest("messages", true, 10, nil)
	req.Body, req.Unmeasured = []byte(`{"messages":[{"content":[{"type":"image"}]}]}`), true
	model := &catalog.Model{ID: "m", ContextWindow: 200000, Pricing: catalog.Pricing{Input: p(money.PerMillion(money.USD)), Output: p(0)}}
	if got := WorstCase(req, target("x", model, "m"), 0, true, len(req.Body)); got != money.USD/5 {
		t.Errorf("image input: worst case %s, want the context window's 0.20", got)
	}
}

// TestChoicesMultiplyTheHold: n choices may each produce the output limit.
func TestChoicesMultiplyTheHold(t *testing.T) {
	gpt := target("openai", &catalog.Model{ID: "gpt-4o", MaxOutputTokens: 16384}, "gpt-4o")
	unknown := target("x", nil, "y")
	for _, tc := range []struct {
		name      string
		maxTokens int64
		choices   int64
		t         registry.Target
		want      int64
	}{
		{"n within the model's limit", 100, 128, gpt, 100 * 128},
		{"the model's limit per choice", math.MaxInt64, 128, gpt, 16384 * 128},
		{"saturated", math.MaxInt64 / 2, 3, unknown, math.MaxInt64},
	} {
		req := testRequest("chat/completions", true, tc.maxTokens, nil)
		req.Choices = tc.choices
		if got := outputReserve(req, tc.t); got != tc.want {
			t.Errorf("%s: reserve %d, want %d", tc.name, got, tc.want)
		}
	}
}
