package caddyaigateway

import (
	"math"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

func TestCheckMembers(t *testing.T) {
	for _, tc := range []struct {
		body, err string
	}{
		{`{"model":"a","max_tokens":1}`, ""},
		{`{"model":"a","Temperature":1,"temperature":1}`, ""}, // not a member the gateway reads
		{`{"model":"a","max_tokens":1,"MAX_TOKENS":2}`, "only in case"},
		{`{"Model":"a"}`, "only in case"},
		{`{"model":"a","Stream":true}`, "only in case"},
		{`{"model":"a","max_tokenſ":1}`, "only in case"}, // Unicode folding, as encoding/json does it
		{`{"model":"a","model":"b"}`, "twice"},
		{`{"messages":[],"messages":[]}`, "twice"},
		{`[1]`, "not a JSON object"},
		{`{"model":"a","input":5}`, "'input' must be"},
		{`{"model":"a","input":{}}`, "'input' must be"},
	} {
		_, err := checkMembers([]byte(tc.body), usage.Responses)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("checkMembers(%s) = %v, want %q", tc.body, err, tc.err)
		}
	}
}

func testRequest(kind string, metered bool, maxTokens int64, gatewayMax *int64) *request {
	st := &manage.Snapshot{}
	st.Gateway.MaxOutputTokens = gatewayMax
	return &request{ep: endpoints[kind], st: st, metered: metered, maxTokens: maxTokens}
}

func TestOutputLimit(t *testing.T) {
	opus := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "anthropic"}}, Model: &catalog.Model{ID: "claude-opus-4-6", MaxOutputTokens: 128000}, Name: "claude-opus-4-6"}
	unknown := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "ollama"}}, Name: "llama"}
	cap1k := int64(1000)
	for _, tc := range []struct {
		name  string
		req   *request
		t     registry.Target
		limit int64
	}{
		{"asked within the model's", testRequest("messages", true, 100, nil), opus, 100},
		{"asked beyond the model's", testRequest("messages", true, 2_000_000_000, nil), opus, 128000},
		{"asked MaxInt64", testRequest("messages", true, math.MaxInt64, nil), opus, 128000},
		{"none: the model's", testRequest("chat/completions", true, 0, nil), opus, 128000},
		{"gateway cap", testRequest("chat/completions", true, 0, &cap1k), opus, 1000},
		{"gateway cap above the ask", testRequest("chat/completions", true, 10, &cap1k), opus, 10},
		{"unknown model, metered", testRequest("chat/completions", true, 0, nil), unknown, defaultOutputReserve},
		{"unknown model, asked", testRequest("chat/completions", true, 1e9, nil), unknown, 1e9},
		{"unknown model, unmetered", testRequest("chat/completions", false, 0, nil), unknown, 0},
		{"unmetered: the client's as written", testRequest("messages", false, 2_000_000, nil), opus, 2_000_000},
		{"unmetered: none, the model's not added", testRequest("messages", false, 0, nil), opus, 0},
		{"unmetered: the gateway cap", testRequest("messages", false, 0, &cap1k), opus, 1000},
		{"embeddings have no output", testRequest("embeddings", true, 0, nil), opus, 0},
	} {
		if got := outputLimit(tc.req, tc.t); got != tc.limit {
			t.Errorf("%s: outputLimit = %d, want %d", tc.name, got, tc.limit)
		}
	}
}

func TestWithOutputLimitWritesTheCanonicalValue(t *testing.T) {
	gpt := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "openai"}}, Model: &catalog.Model{ID: "gpt-4o", MaxOutputTokens: 16384}, Name: "gpt-4o"}
	other := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "deepseek"}}, Model: &catalog.Model{ID: "x", MaxOutputTokens: 8192}, Name: "x"}
	for _, tc := range []struct {
		name, kind, body string
		t                registry.Target
		want             map[string]string // member → value ("" = absent)
	}{
		{"clamped in place", "chat/completions", `{"max_tokens":100000}`, gpt, map[string]string{"max_tokens": "16384", "max_completion_tokens": ""}},
		{"both agree: one kept", "chat/completions", `{"max_tokens":50,"max_completion_tokens":50}`, gpt, map[string]string{"max_completion_tokens": "50", "max_tokens": ""}},
		{"none, openai", "chat/completions", `{}`, gpt, map[string]string{"max_completion_tokens": "16384"}},
		{"none, compatible server", "chat/completions", `{}`, other, map[string]string{"max_tokens": "8192"}},
		{"responses", "responses", `{"max_output_tokens":999999}`, gpt, map[string]string{"max_output_tokens": "16384"}},
		{"messages", "messages", `{"max_tokens":7}`, gpt, map[string]string{"max_tokens": "7"}},
	} {
		req := testRequest(tc.kind, true, 0, nil)
		var raw outputMembers
		raw.maxTokens, _, _ = jsonobj.Get([]byte(tc.body), "max_tokens")
		raw.maxCompletionTokens, _, _ = jsonobj.Get([]byte(tc.body), "max_completion_tokens")
		raw.maxOutputTokens, _, _ = jsonobj.Get([]byte(tc.body), "max_output_tokens")
		if err := parseOutputLimit(req, raw); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out, err := withOutputLimit([]byte(tc.body), req, tc.t)
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

func TestParseOutputLimitRefuses(t *testing.T) {
	for _, raw := range []string{`0`, `-1`, `1.5`, `1e3`, `"10"`, `true`, `{}`, `9223372036854775808`, `99999999999999999999`} {
		req := testRequest("messages", true, 0, nil)
		if err := parseOutputLimit(req, outputMembers{maxTokens: []byte(raw)}); err == nil {
			t.Errorf("max_tokens %s accepted", raw)
		}
	}
	req := testRequest("chat/completions", true, 0, nil)
	if err := parseOutputLimit(req, outputMembers{maxTokens: []byte("1"), maxCompletionTokens: []byte("2")}); err == nil {
		t.Error("disagreeing chat limits accepted")
	}
	req = testRequest("chat/completions", true, 0, nil)
	if err := parseOutputLimit(req, outputMembers{maxOutputTokens: []byte("5")}); err != nil || req.maxTokens != 0 {
		t.Errorf("a member of another endpoint was read: %v, %d", err, req.maxTokens)
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
		target := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "x"}}, Model: model, Name: "m"}
		req := testRequest("messages", true, tc.maxTokens, nil)
		req.body = make([]byte, 10)
		got := worstCaseFor(req, target, tc.fee, true, tc.bodyLen)
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
	req.body, req.unmeasured = []byte(`{"messages":[{"content":[{"type":"image"}]}]}`), true
	model := &catalog.Model{ID: "m", ContextWindow: 200000, Pricing: catalog.Pricing{Input: p(money.PerMillion(money.USD)), Output: p(0)}}
	if got := worstCase(req, registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "x"}}, Model: model, Name: "m"}, 0, true); got != money.USD/5 {
		t.Errorf("image input: worst case %s, want the context window's 0.20", got)
	}
}

func TestHasUnmeasuredInput(t *testing.T) {
	for body, want := range map[string]bool{
		`{"messages":[{"role":"user","content":"hi"}]}`:                                                  false,
		`{"messages":[{"role":"user","content":"the word \"image\" in text"}]}`:                          false,
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:..."}}]}]}`: true,
		`{"messages":[{"content":[{"type":"image","source":{}}]}]}`:                                      true,
		`{"input":"hi","previous_response_id":"resp_1"}`:                                                 true,
		`{"tools":[{"type":"web_search_20250305","name":"web_search"}]}`:                                 true,
		`{"messages":[{"content":[{"type":"document","source":{}}]}]}`:                                   true,
	} {
		if got := hasUnmeasuredInput([]byte(body)); got != want {
			t.Errorf("hasUnmeasuredInput(%s) = %v, want %v", body, got, want)
		}
	}
}

// TestChoicesMultiplyTheHold: n choices may each produce the output limit.
func TestChoicesMultiplyTheHold(t *testing.T) {
	gpt := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "openai"}}, Model: &catalog.Model{ID: "gpt-4o", MaxOutputTokens: 16384}, Name: "gpt-4o"}
	req := testRequest("chat/completions", true, 100, nil)
	for _, raw := range []string{`0`, `-1`, `129`, `1.5`, `"2"`} {
		if err := parseChoices(req, []byte(raw)); err == nil {
			t.Errorf("n %s accepted", raw)
		}
	}
	if err := parseChoices(req, []byte(`128`)); err != nil {
		t.Fatal(err)
	}
	if got := outputReserve(req, gpt); got != 100*128 {
		t.Fatalf("reserve %d, want %d", got, 100*128)
	}
	req = testRequest("chat/completions", true, math.MaxInt64, nil)
	req.choices = 128
	if got := outputReserve(req, gpt); got != 16384*128 {
		t.Fatalf("reserve %d", got)
	}
	unknown := registry.Target{Provider: &registry.Provider{Provider: &catalog.Provider{ID: "x"}}, Name: "y"}
	req = testRequest("chat/completions", true, math.MaxInt64/2, nil)
	req.choices = 3
	if got := outputReserve(req, unknown); got != math.MaxInt64 {
		t.Fatalf("reserve %d, want saturated", got)
	}
}
