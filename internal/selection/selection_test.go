package selection

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
)

func mustCompile(t testing.TB, srcs ...string) []*Strategy {
	t.Helper()
	out := make([]*Strategy, len(srcs))
	for i, src := range srcs {
		s, err := Compile(src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		out[i] = s
	}
	return out
}

func TestCompileAccepts(t *testing.T) {
	for _, src := range []string{
		// The examples from the design.
		`ai.models.filter(m, m.provider_id != "ollama").sortBy("price")`,
		`ai.models`,
		`ai.models.onlyProviders(["anthropic"])`,
		`ai.models.filter(m, m.metrics.error_rate < 0.1).sortBy("latency")`,
		`ai.models.filter(m, "tools" in m.supported_features)`,
		`req.stream ? ai.models.sortBy("ttft") : ai.models.sortBy("price")`,
		`ai.models.underCost(1.0)`,
		// Named strategies, with stray space.
		"cheapest", " fastest ", "most_reliable",
		// Every variable and field.
		`ai.models.filter(m, m.id != "" && m.author_id != "" && m.pricing.input + m.pricing.output > 0.0 &&
			m.max_context_window > 0 && m.max_output_tokens > 0 && size(m.metadata) >= 0 &&
			m.metrics.latency_ms_avg + m.metrics.latency_ms_p95 + m.metrics.ttft_ms_avg >= 0.0 &&
			m.metrics.request_count >= 0)`,
		`ai.keys.size() > 0 ? ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id && k.id != "")) : ai.models`,
		`req.model == "auto" && !req.stream && req.max_tokens + req.input_tokens > 0 && "x" in req.headers ? ai.models : []`,
		`key.id == "k" || key.name == "n" || "plan" in key.metadata ? ai.models : []`,
		// Other accepted result types.
		`ai.models.map(m, m.provider_id + ":" + m.id)`,
		`["gpt-4o", "anthropic:claude-sonnet"]`,
		`[]`,
		`dyn(ai.models)`,
		// Int and double compare; underCost takes an int.
		`ai.models.filter(m, m.metrics.latency_ms_avg < 500 && m.max_context_window > 1e5)`,
		`ai.models.underCost(1)`,
		`ai.models.onlyProviders("openai").ignoreProviders(["azure"]).randomize()`,
		`ai.models.filter(m, has(m.pricing) && has(m.metrics))`,
	} {
		if err := Validate(src); err != nil {
			t.Errorf("Validate(%q): %v", src, err)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string // substrings of the error
	}{
		{``, []string{"empty"}},
		{`   `, []string{"empty"}},
		{`foo`, []string{"<input>:1:1:", "undeclared reference to 'foo'"}},
		{`ai.models.filter(m, foo > 1)`, []string{"<input>:1:21:", "undeclared reference to 'foo'"}},
		{`ai.models.filter(m, m.latency < 5)`, []string{"<input>:1:22:", "undefined field 'latency'"}},
		{`ai.models.filter(m, m.metrics.errors < 5)`, []string{"<input>:1:30:", "undefined field 'errors'"}},
		{`req.strem ? ai.models : []`, []string{"<input>:1:4:", "undefined field 'strem'"}},
		{`ai.modles`, []string{"<input>:1:3:", "undefined field 'modles'"}},
		{`1 + 1`, []string{"<input>:1:3:", "must evaluate to a list of models", "not int"}},
		{`"x"`, []string{"<input>:1:1:", "not string"}},
		{`ai.models.size() > 1`, []string{"not bool"}},
		{`[1, 2]`, []string{"not list(int)"}},
		{`ai.models.map(m, m.metrics)`, []string{"not list(selection.Metrics)"}},
		{`ai.models[0]`, []string{"not selection.Model"}},
		{`ai.models.sortBy("prce")`, []string{"<input>:1:18:", `unknown key "prce"`}},
		{`ai.models.sortBy(1)`, []string{"<input>:1:17:", "no matching overload"}},
		{`ai.models.underCost("1")`, []string{"no matching overload"}},
		{`ai.models.onlyProviders([1])`, []string{"no matching overload"}},
		{`ai.models.filter(m, m.provider_id = "x")`, []string{"<input>:1:35:", "Syntax error"}},
		{"ai.models.filter(m,\n  m.foo)", []string{"<input>:2:4:", "undefined field 'foo'"}},
	} {
		_, err := Compile(tc.src)
		if err == nil {
			t.Errorf("Compile(%q) succeeded", tc.src)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Compile(%q) = %v\nwant it to contain %q", tc.src, err, w)
			}
		}
		if Validate(tc.src) == nil {
			t.Errorf("Validate(%q) succeeded", tc.src)
		}
	}
}

func TestSelectCEL(t *testing.T) {
	for _, tc := range []struct {
		src  string
		req  Request
		key  Key
		want []string // nil: no result
	}{
		{src: `ai.models`,
			want: []string{"openai:gpt-4o", "openai:gpt-4o-mini", "anthropic:claude-sonnet", "ollama:llama3:8b", "meta:llama-unpriced", "mistral:mistral-small"}},
		{src: `ai.models.filter(m, m.provider_id != "ollama").sortBy("price")`,
			want: []string{"openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "meta:llama-unpriced"}},
		{src: `ai.models.onlyProviders(["anthropic"])`, want: []string{"anthropic:claude-sonnet"}},
		{src: `ai.models.onlyProviders("OpenAI")`, want: []string{"openai:gpt-4o", "openai:gpt-4o-mini"}},
		{src: `ai.models.onlyProviders(["nobody"])`},
		{src: `ai.models.ignoreProviders(["openai", "ollama"])`,
			want: []string{"anthropic:claude-sonnet", "meta:llama-unpriced", "mistral:mistral-small"}},
		{src: `ai.models.ignoreProviders("anthropic").onlyProviders(["anthropic", "mistral"])`,
			want: []string{"mistral:mistral-small"}},
		// error_rate reads 0 without data, so the untried ollama model
		// passes; sortBy("latency") puts it last. Sonnet (0.2) is out.
		{src: `ai.models.filter(m, m.metrics.error_rate < 0.1).sortBy("latency")`,
			want: []string{"meta:llama-unpriced", "openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "ollama:llama3:8b"}},
		{src: `ai.models.filter(m, "tools" in m.supported_features && "vision" in m.supported_features)`,
			want: []string{"openai:gpt-4o", "anthropic:claude-sonnet"}},
		{src: `req.stream ? ai.models.sortBy("ttft") : ai.models.sortBy("price")`, req: Request{Stream: true},
			want: []string{"openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "ollama:llama3:8b", "meta:llama-unpriced"}},
		{src: `req.stream ? ai.models.sortBy("ttft") : ai.models.sortBy("price")`,
			want: []string{"ollama:llama3:8b", "openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "meta:llama-unpriced"}},
		// underCost: mean of input and output ≤ x; mistral-small's
		// (0.20+0.60)/2 is exactly 0.4; unpriced never qualifies.
		{src: `ai.models.underCost(1.0)`, want: []string{"openai:gpt-4o-mini", "ollama:llama3:8b", "mistral:mistral-small"}},
		{src: `ai.models.underCost(0.4)`, want: []string{"openai:gpt-4o-mini", "ollama:llama3:8b", "mistral:mistral-small"}},
		{src: `ai.models.underCost(0.39)`, want: []string{"openai:gpt-4o-mini", "ollama:llama3:8b"}},
		{src: `ai.models.underCost(0)`, want: []string{"ollama:llama3:8b"}},
		{src: `ai.models.underCost(9)`, want: []string{"openai:gpt-4o", "openai:gpt-4o-mini", "anthropic:claude-sonnet", "ollama:llama3:8b", "mistral:mistral-small"}},
		{src: `ai.models.underCost(8.99)`, want: []string{"openai:gpt-4o", "openai:gpt-4o-mini", "ollama:llama3:8b", "mistral:mistral-small"}},
		// Prices are exact decimals; unpriced reads +Inf.
		{src: `ai.models.filter(m, m.pricing.input == 0.15)`, want: []string{"openai:gpt-4o-mini"}},
		{src: `ai.models.filter(m, m.pricing.input < 1.0)`, want: []string{"openai:gpt-4o-mini", "ollama:llama3:8b", "mistral:mistral-small"}},
		{src: `ai.models.filter(m, !has(m.pricing))`, want: []string{"meta:llama-unpriced"}},
		{src: `ai.models.filter(m, !has(m.metrics))`, want: []string{"ollama:llama3:8b"}},
		{src: `ai.models.filter(m, m.metrics.request_count >= 50)`, want: []string{"openai:gpt-4o", "openai:gpt-4o-mini"}},
		{src: `ai.models.filter(m, m.metrics.latency_ms_p95 > 2000)`, want: []string{"anthropic:claude-sonnet"}},
		{src: `ai.models.filter(m, m.author_id == "meta")`, want: []string{"ollama:llama3:8b", "meta:llama-unpriced"}},
		{src: `ai.models.filter(m, "tier" in m.metadata && m.metadata.tier == "premium")`, want: []string{"openai:gpt-4o"}},
		{src: `ai.models.filter(m, m.max_context_window >= req.input_tokens + req.max_tokens)`,
			req: Request{InputTokens: 100000, MaxTokens: 50000}, want: []string{"anthropic:claude-sonnet"}},
		{src: `ai.models.filter(m, m.max_output_tokens >= 16384).sortBy("latency")`,
			want: []string{"openai:gpt-4o-mini", "openai:gpt-4o", "anthropic:claude-sonnet"}},
		{src: `"x-prefer" in req.headers && req.headers["x-prefer"] == "cheap" ? ai.models.underCost(0.5) : ai.models.onlyProviders("anthropic")`,
			req: Request{Headers: map[string]string{"x-prefer": "cheap"}}, want: []string{"openai:gpt-4o-mini", "ollama:llama3:8b", "mistral:mistral-small"}},
		{src: `"x-prefer" in req.headers && req.headers["x-prefer"] == "cheap" ? ai.models.underCost(0.5) : ai.models.onlyProviders("anthropic")`,
			want: []string{"anthropic:claude-sonnet"}},
		{src: `req.model == "auto" ? ai.models.onlyProviders("mistral") : []`, req: Request{Model: "auto"}, want: []string{"mistral:mistral-small"}},
		{src: `key.metadata.plan == "pro" && key.name == "team" && key.id == "ak_1" ? ai.models.onlyProviders("anthropic") : ai.models.onlyProviders("ollama")`,
			key: Key{ID: "ak_1", Name: "team", Metadata: map[string]string{"plan": "pro"}}, want: []string{"anthropic:claude-sonnet"}},
		{src: `ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id))`,
			req:  Request{ProviderKeys: []ProviderKey{{ID: "pk1", ProviderID: "mistral"}, {ID: "pk2", ProviderID: "openai"}}},
			want: []string{"openai:gpt-4o", "openai:gpt-4o-mini", "mistral:mistral-small"}},
		{src: `ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id))`},
		{src: `ai.keys.map(k, k.id) == ["pk1"] ? ai.models.onlyProviders("ollama") : []`,
			req: Request{ProviderKeys: []ProviderKey{{ID: "pk1", ProviderID: "ollama"}}}, want: []string{"ollama:llama3:8b"}},
		// Model names map back to candidates: bare ids match every
		// provider, "provider:id" one; ids may contain ':'; duplicates
		// and non-candidates are dropped.
		{src: `["mistral-small", "openai:gpt-4o", "nope", "anthropic:gpt-4o", "MISTRAL:mistral-small", "llama3:8b"]`,
			want: []string{"mistral:mistral-small", "openai:gpt-4o", "ollama:llama3:8b"}},
		{src: `["ollama:llama3:8b"]`, want: []string{"ollama:llama3:8b"}},
		{src: `ai.models.sortBy("price").map(m, m.provider_id + ":" + m.id)`,
			want: []string{"ollama:llama3:8b", "openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "meta:llama-unpriced"}},
		{src: `[ai.models[2], "gpt-4o-mini", ai.models[2]]`, want: []string{"anthropic:claude-sonnet", "openai:gpt-4o-mini"}},
		{src: `ai.models + ai.models.sortBy("price")`,
			want: []string{"openai:gpt-4o", "openai:gpt-4o-mini", "anthropic:claude-sonnet", "ollama:llama3:8b", "meta:llama-unpriced", "mistral:mistral-small"}},
		// Equality is identity; dyn values still read their fields.
		{src: `ai.models.filter(m, m == ai.models[1] || m in [ai.models[3]])`, want: []string{"openai:gpt-4o-mini", "ollama:llama3:8b"}},
		{src: `ai.models.filter(m, dyn(m).provider_id == "anthropic" || dyn(m).metrics.error_rate > 0.015 && has(dyn(m).pricing))`,
			want: []string{"openai:gpt-4o", "anthropic:claude-sonnet"}},
		{src: `dyn(ai.models).filter(m, m.id == "gpt-4o")`, want: []string{"openai:gpt-4o"}},
		{src: `ai.models.filter(m, type(m) == selection.Model && m.id == "gpt-4o")`, want: []string{"openai:gpt-4o"}},
		{src: `[]`},
		{src: `ai.models.filter(m, false).sortBy("price").randomize()`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			cands := fixture(t)
			got, winner, err := Select(mustCompile(t, tc.src), cands, tc.req, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if winner != -1 {
					t.Fatalf("winner = %d, result %v; want no result", winner, names(got))
				}
				return
			}
			if winner != 0 {
				t.Fatalf("winner = %d, want 0", winner)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("got  %v\nwant %v", names(got), tc.want)
			}
		})
	}
}

func TestRandomize(t *testing.T) {
	cands := many(20)
	s := mustCompile(t, `ai.models.randomize()`)
	want := names(cands)
	slices.Sort(want)
	differs := false
	for range 20 {
		got, _, err := Select(s, cands, Request{}, Key{})
		if err != nil {
			t.Fatal(err)
		}
		n := names(got)
		differs = differs || !slices.Equal(n, names(cands))
		slices.Sort(n)
		if !slices.Equal(n, want) {
			t.Fatalf("randomize is not a permutation: %v", n)
		}
	}
	if !differs {
		t.Error("20 shuffles of 20 models all kept the order")
	}
}

func TestSelectOrderOfStrategies(t *testing.T) {
	cands := fixture(t)
	for _, tc := range []struct {
		name       string
		strategies []string
		wantWinner int
		want       []string
	}{
		{"first non-empty wins",
			[]string{`ai.models.onlyProviders("nobody")`, `ai.models.onlyProviders("anthropic")`, `cheapest`},
			1, []string{"anthropic:claude-sonnet"}},
		{"first wins even if later would too",
			[]string{`ai.models.onlyProviders("mistral")`, `ai.models.onlyProviders("anthropic")`},
			0, []string{"mistral:mistral-small"}},
		{"named after empty CEL",
			[]string{`[]`, `["nope"]`, `most_reliable`},
			2, []string{"meta:llama-unpriced", "openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "ollama:llama3:8b"}},
		{"all empty", []string{`[]`, `ai.models.filter(m, m.id == "x")`, `["not-a-candidate"]`}, -1, names(cands)},
		{"no strategies", nil, -1, names(cands)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, winner, err := Select(mustCompile(t, tc.strategies...), cands, Request{}, Key{})
			if err != nil {
				t.Fatal(err)
			}
			if winner != tc.wantWinner {
				t.Errorf("winner = %d, want %d", winner, tc.wantWinner)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("got  %v\nwant %v", names(got), tc.want)
			}
			if winner == -1 && len(got) > 0 && &got[0] != &cands[0] {
				t.Error("with no winner Select should return the candidates themselves")
			}
		})
	}

	// No candidates: nothing can win, not even a named strategy.
	got, winner, err := Select(mustCompile(t, `ai.models`, `cheapest`), nil, Request{}, Key{})
	if err != nil || winner != -1 || len(got) != 0 {
		t.Errorf("no candidates: got %v, %d, %v", got, winner, err)
	}
}

// The result is always a subset of the candidates, whatever the
// expression returns, and it is a copy.
func TestSelectSubset(t *testing.T) {
	named := fixture(t)[:2] // the client named gpt-4o and gpt-4o-mini
	for _, tc := range []struct {
		src        string
		wantWinner int
		want       []string
	}{
		{`["claude-sonnet", "openai:gpt-4o-mini", "mistral:mistral-small", "gpt-4o"]`, 0, []string{"openai:gpt-4o-mini", "openai:gpt-4o"}},
		{`["anthropic:claude-sonnet"] + ai.models.sortBy("price").map(m, m.id)`, 0, []string{"openai:gpt-4o-mini", "openai:gpt-4o"}},
		{`ai.models.map(m, "anthropic:claude-sonnet") + ["gpt-4o-mini"]`, 0, []string{"openai:gpt-4o-mini"}},
		{`["claude-sonnet", "mistral-small"]`, -1, []string{"openai:gpt-4o", "openai:gpt-4o-mini"}},
	} {
		got, winner, err := Select(mustCompile(t, tc.src), named, Request{}, Key{})
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if winner != tc.wantWinner || !slices.Equal(names(got), tc.want) {
			t.Errorf("%s: got %v (winner %d), want %v (winner %d)", tc.src, names(got), winner, tc.want, tc.wantWinner)
		}
	}
	// A strategy cannot build a model either.
	_, _, err := Select(mustCompile(t, `[selection.Model{id: "evil"}]`), named, Request{}, Key{})
	if err == nil || !strings.Contains(err.Error(), "cannot be constructed") {
		t.Errorf("constructing a model: err = %v", err)
	}
	// The result is a copy: editing it leaves the candidates alone.
	got, _, _ := Select(mustCompile(t, `ai.models`), named, Request{}, Key{})
	got[0].ID = "changed"
	if named[0].ID != "gpt-4o" {
		t.Error("Select's result aliases the candidates")
	}
}

func TestSelectEvalErrors(t *testing.T) {
	fifty := many(50)
	for _, tc := range []struct {
		name       string
		strategies []string
		cands      []Candidate
		wantIndex  int
		want       string
	}{
		{"cost limit", []string{`ai.models.map(a, ai.models.map(b, ai.models.map(c, ai.models.map(d, 1)))).size() > 0 ? ai.models : []`},
			fifty, 0, "cost limit exceeded"},
		{"cost limit, list result", []string{`[]`, `ai.models.filter(a, ai.models.map(b, ai.models.map(c, ai.models.map(d, 1))).size() > 0)`},
			fifty, 1, "cost limit exceeded"},
		{"missing map key", []string{`req.headers["x-tier"] == "fast" ? ai.models.sortBy("latency") : ai.models`},
			fifty, 0, "no such key"},
		{"missing metadata key", []string{`ai.models.filter(m, m.metadata.tier == "premium")`},
			fixture(t), 0, "no such key"},
		{"computed sort key", []string{`ai.models.sortBy(req.model)`}, fifty, 0, `sortBy: unknown key ""`},
		{"dyn result not a list", []string{`dyn(1)`}, fifty, 0, "result is a int, not a list"},
		{"dyn list of ints", []string{`dyn([1, 2])`}, fifty, 0, "result list holds a int"},
		{"list(dyn) of maps", []string{`[dyn({"id": "model-1"})]`}, fifty, 0, "result list holds a map"},
		{"index out of range", []string{`[ai.models[100]]`}, fifty, 0, "index"},
		{"dyn to sortBy", []string{`dyn([1]).sortBy("price")`}, fifty, 0, "no such overload"},
		{"error after empty", []string{`[]`, `ai.models.onlyProviders(dyn([1]))`}, fifty, 1, "no such overload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, winner, err := Select(mustCompile(t, tc.strategies...), tc.cands, Request{}, Key{})
			if err == nil {
				t.Fatalf("no error; got %d models, winner %d", len(got), winner)
			}
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("error %T %v is not an *EvalError", err, err)
			}
			if ee.Index != tc.wantIndex || ee.Strategy != strings.TrimSpace(tc.strategies[tc.wantIndex]) {
				t.Errorf("error names strategy %d %q, want %d", ee.Index, ee.Strategy, tc.wantIndex)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), fmt.Sprintf("strategy %d", tc.wantIndex)) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if got != nil || winner != -1 {
				t.Errorf("with an error got %d models, winner %d", len(got), winner)
			}
		})
	}
}

func TestSelectConcurrent(t *testing.T) {
	strategies := mustCompile(t,
		`req.stream ? ai.models.filter(m, m.metrics.error_rate < 0.3).sortBy("ttft") : []`,
		`ai.models.filter(m, m.provider_id != "openai" && m.metrics.error_rate < 0.5).sortBy("price")`,
		`fastest`)
	shared := many(50)
	want := map[bool][]string{}
	for _, stream := range []bool{false, true} {
		got, _, err := Select(strategies, shared, Request{Stream: stream}, Key{})
		if err != nil {
			t.Fatal(err)
		}
		want[stream] = names(got)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				stream := (g+i)%2 == 0
				cands := shared
				if i%3 == 0 {
					cands = many(50) // a fresh candidate set, as per request
				}
				got, winner, err := Select(strategies, cands, Request{Stream: stream}, Key{ID: fmt.Sprint(g)})
				if err != nil {
					t.Error(err)
					return
				}
				if wantWinner := map[bool]int{true: 0, false: 1}[stream]; winner != wantWinner {
					t.Errorf("winner = %d, want %d", winner, wantWinner)
					return
				}
				if !slices.Equal(names(got), want[stream]) {
					t.Errorf("concurrent result differs")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNamesCandidate(t *testing.T) {
	c := &Candidate{ID: "llama3:8b", ProviderID: "ollama"}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"llama3:8b", true},
		{"LLAMA3:8B", true},
		{"ollama:llama3:8b", true},
		{"Ollama:llama3:8b", true},
		{"ollama:llama3", false},
		{"llama3", false},
		{"openai:llama3:8b", false},
		{"ollama/llama3:8b", false},
		{"", false},
	} {
		if got := namesCandidate(tc.name, c); got != tc.want {
			t.Errorf("namesCandidate(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFromCatalog(t *testing.T) {
	in, out := price(t, "0.15"), price(t, "0.60")
	for _, tc := range []struct {
		name string
		m    catalog.Model
		want Candidate
	}{
		{"priced", catalog.Model{ID: "gpt-4o-mini", Pricing: catalog.Pricing{Input: &in, Output: &out},
			ContextWindow: 128000, MaxOutputTokens: 16384, Features: []string{"tools"}},
			Candidate{ID: "gpt-4o-mini", ProviderID: "openai", AuthorID: "openai", InputPrice: in, OutputPrice: out, Priced: true,
				MaxContextWindow: 128000, MaxOutputTokens: 16384, Features: []string{"tools"}}},
		{"input price only is unpriced", catalog.Model{ID: "x", Pricing: catalog.Pricing{Input: &in}},
			Candidate{ID: "x", ProviderID: "openai", AuthorID: "openai"}},
		{"author from metadata", catalog.Model{ID: "llama", Metadata: map[string]string{"author": "meta"}},
			Candidate{ID: "llama", ProviderID: "openai", AuthorID: "meta", Metadata: map[string]string{"author": "meta"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FromCatalog("openai", &tc.m)
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestStrategyName(t *testing.T) {
	s := mustCompile(t, "  ai.models.sortBy(\"price\")\n", " cheapest")
	if s[0].Name != `ai.models.sortBy("price")` || s[0].String() != s[0].Name || s[1].Name != "cheapest" {
		t.Errorf("names %q, %q", s[0].Name, s[1].Name)
	}
}

// underCost(x) is the documented filter, spelled out.
func TestUnderCostMatchesFilter(t *testing.T) {
	cands := append(many(50), fixture(t)...)
	for _, x := range []string{"0", "0.3", "0.4", "0.45", "1", "2.5", "9", "100"} {
		got, _, err := Select(mustCompile(t, `ai.models.underCost(`+x+`)`), cands, Request{}, Key{})
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := Select(mustCompile(t,
			`ai.models.filter(m, has(m.pricing) && (m.pricing.input + m.pricing.output) / 2.0 <= double(`+x+`))`), cands, Request{}, Key{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names(got), names(want)) {
			t.Errorf("underCost(%s) = %v\nfilter       = %v", x, names(got), names(want))
		}
	}
}
