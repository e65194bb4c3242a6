package selection

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// The compiled fast path must give what the cel-go program gives: the same
// order, or an error from both (with the same message where the table says
// so). These tests run both paths of one Strategy on the same inputs.

// evalPaths runs s both ways. fastRan is false when the compiled form
// declined (a size guard) or does not exist.
func evalPaths(s *Strategy, cands []Candidate, req Request, key Key) (fast []int, fastErr error, fastRan bool, slow []int, slowErr error) {
	if s.fast != nil {
		r, k := req, key
		x := getCtx(cands, &r, &k)
		var order []int
		order, fastRan, fastErr = s.fast.run(x)
		fast = slices.Clone(order)
		x.release()
	}
	r, k := req, key
	slow, slowErr = s.evalCEL(newActivation(cands, &r, &k), cands)
	return
}

// sameResult compares the two paths; random reports that the order is
// random (randomize) and only the set must match.
func sameResult(fast []int, fastErr error, slow []int, slowErr error, random, sameMessage bool) string {
	switch {
	case (fastErr != nil) != (slowErr != nil):
		return fmt.Sprintf("compiled: %v, %v; cel-go: %v, %v", fast, fastErr, slow, slowErr)
	case fastErr != nil:
		if sameMessage && fastErr.Error() != slowErr.Error() {
			return fmt.Sprintf("errors differ: compiled %q, cel-go %q", fastErr, slowErr)
		}
		return ""
	}
	if random {
		fast, slow = slices.Clone(fast), slices.Clone(slow)
		slices.Sort(fast)
		slices.Sort(slow)
	}
	if len(fast) == 0 && len(slow) == 0 {
		return ""
	}
	if !slices.Equal(fast, slow) {
		return fmt.Sprintf("compiled %v, cel-go %v", fast, slow)
	}
	return ""
}

// compiledShapes must take the compiled path; each is checked against
// cel-go on several candidate sets and requests.
var compiledShapes = []string{
	`ai.models`,
	`[]`,
	`ai.models.filter(m, m.provider_id != "ollama").sortBy("price")`,
	`ai.models.filter(m, m.provider_id != "x" && m.metrics.error_rate < 0.5).sortBy("price")`,
	`ai.models.filter(m, m.metrics.latency_ms_p95 < 2000 && m.metrics.error_rate < 0.05 && m.metrics.request_count >= 10).sortBy("latency")`,
	`ai.models.filter(m, m.metrics.error_rate < 0.1).sortBy("latency")`,
	`ai.models.filter(m, m.pricing.input <= 1.0 && m.provider_id in ["openai", "mistral", "groq"]).sortBy("price")`,
	`ai.models.filter(m, "tools" in m.supported_features && "vision" in m.supported_features)`,
	`ai.models.filter(m, "tools" in m.supported_features)`,
	`req.stream ? ai.models.sortBy("ttft") : ai.models.sortBy("price")`,
	`ai.models.underCost(1.0)`, `ai.models.underCost(1)`, `ai.models.underCost(0.4)`,
	`ai.models.onlyProviders(["anthropic"])`, `ai.models.onlyProviders("OpenAI")`,
	`ai.models.ignoreProviders("anthropic").onlyProviders(["anthropic", "mistral"])`,
	`ai.models.onlyProviders("openai").ignoreProviders(["azure"]).randomize()`,
	`ai.models.filter(m, m.pricing.input == 0.15)`,
	`ai.models.filter(m, !has(m.pricing) || !has(m.metrics))`,
	`ai.models.filter(m, has(m.supported_features) && has(m.metadata) && has(m.id))`,
	`ai.models.filter(m, m.author_id == "meta" || m.id.startsWith("gpt") || m.id.endsWith("small") || m.id.contains("sonnet"))`,
	`ai.models.filter(m, "tier" in m.metadata && m.metadata.tier == "premium")`,
	`ai.models.filter(m, has(m.metadata.tier) && m.metadata["tier"] == "premium")`,
	`ai.models.filter(m, m.metadata.tier == "premium")`,
	`ai.models.filter(m, m.metadata[m.id] == "x")`,
	`ai.models.filter(m, m.max_context_window >= req.input_tokens + req.max_tokens)`,
	`ai.models.filter(m, m.max_context_window > 1e5 && m.metrics.latency_ms_avg < 500)`,
	`"x-prefer" in req.headers && req.headers["x-prefer"] == "cheap" ? ai.models.underCost(0.5) : ai.models.onlyProviders("anthropic")`,
	`req.headers["x-tier"] == "fast" ? ai.models.sortBy("latency") : ai.models`,
	`req.model == "auto" ? ai.models.onlyProviders("mistral") : []`,
	`key.metadata.plan == "pro" && key.name == "team" && key.id == "ak_1" ? ai.models.onlyProviders("anthropic") : ai.models.onlyProviders("ollama")`,
	`ai.models + ai.models.sortBy("price")`,
	`ai.models.filter(m, false).sortBy("price").randomize()`,
	`ai.models.sortBy(req.model)`,
	`ai.models.filter(m, has(m.pricing) && (m.pricing.input + m.pricing.output) / 2.0 <= double(1))`,
	`ai.models.filter(m, m.max_output_tokens / (m.metrics.request_count - 10) > 0)`,
	`ai.models.filter(m, m.max_output_tokens % m.metrics.request_count == 0)`,
	`ai.models.filter(m, m.max_output_tokens * 9223372036854775807 > 0)`,
	`ai.models.filter(m, -m.max_output_tokens < 0 && -m.pricing.input < 0.0)`,
	`ai.models.filter(m, m.metrics.error_rate / 0.0 > 1.0)`,
	`ai.models.filter(m, m.metrics.error_rate == m.metrics.error_rate)`,
	`ai.models.filter(m, m.metrics.error_rate != m.metrics.error_rate)`,
	`ai.models.filter(m, m.metrics.latency_ms_avg >= m.max_output_tokens)`,
	`ai.models.filter(m, m.max_output_tokens < m.metrics.latency_ms_avg)`,
	`ai.models.filter(m, size(m.id) > 5 && m.supported_features.size() > 0 && size(m.metadata) == 0)`,
	`ai.models.filter(m, m.supported_features[0] == "tools")`,
	`ai.models.filter(m, m.supported_features[1] == "vision" || m.provider_id == "openai")`,
	`ai.models.filter(m, m.provider_id == "openai" || m.supported_features[1] == "vision")`,
	`ai.models.filter(m, m.provider_id + ":" + m.id > "m")`,
	`ai.models.filter(m, (m.provider_id == "openai" ? m.metrics.latency_ms_avg : 0.0) < 500.0)`,
	`ai.models.filter(m, m.id < "h" && m.id >= "claude").filter(m, m.max_context_window != 128000)`,
	`ai.models.filter(a, a.provider_id == "openai").filter(b, b.metrics.error_rate < 0.05).sortBy("ttft")`,
	`ai.models.filter(req, req.provider_id == "openai")`,
	`size(ai.models.filter(m, m.provider_id == "openai")) > 1 ? ai.models.onlyProviders("openai") : ai.models.sortBy("price")`,
	`ai.models.size() > 3 ? ai.models : []`,
	`ai.models.filter(m, m.metrics.request_count > 0 == true)`,
}

// fallbackShapes must stay on cel-go.
var fallbackShapes = []string{
	`ai.models.map(m, m.provider_id + ":" + m.id)`,
	`["gpt-4o", "anthropic:claude-sonnet"]`,
	`dyn(ai.models)`,
	`ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id))`,
	`ai.models.filter(m, m == ai.models[1] || m in [ai.models[3]])`,
	`ai.models.filter(m, dyn(m).provider_id == "anthropic")`,
	`ai.models.filter(m, type(m) == selection.Model)`,
	`ai.models.filter(m, m.supported_features.exists(f, f == "tools"))`,
	`ai.models.filter(m, m.id.matches("^gpt"))`,
	`ai.models.filter(m, ai.models.size() > 2)`,
	`[ai.models[2], "gpt-4o-mini"]`,
	`ai.models.filter(m, m.max_output_tokens in [8192, 16384])`,
}

// inputSets are the candidate sets and requests each table shape runs on.
func inputSets(t testing.TB) []struct {
	cands []Candidate
	req   Request
	key   Key
} {
	fx := fixture(t)
	weird := fixture(t)
	weird[0].Metrics.ErrorRate = math.NaN()
	weird[1].Metrics.LatencyMsAvg = math.Inf(1)
	weird[2].MaxOutputTokens = math.MaxInt64
	weird[3].Metrics.RequestCount = 10
	weird[4].Metadata = map[string]string{"tier": "premium", "llama-unpriced": "x"}
	weird[5].Features = nil
	rng := rand.New(rand.NewPCG(1, 2))
	return []struct {
		cands []Candidate
		req   Request
		key   Key
	}{
		{cands: fx},
		{cands: fx, req: Request{Model: "auto", Stream: true, MaxTokens: 50000, InputTokens: 100000,
			Headers: map[string]string{"x-prefer": "cheap", "x-tier": "fast"}},
			key: Key{ID: "ak_1", Name: "team", Metadata: map[string]string{"plan": "pro"}}},
		{cands: fx, req: Request{Model: "price", HTTPHeader: http.Header{"X-Tier": {"fast"}, "Authorization": {"secret"}}},
			key: Key{ID: "ak_1", Name: "team", RawMetadata: `{"plan": "pro"}`}},
		{cands: weird, req: Request{Model: "latency", MaxTokens: math.MaxInt64}},
		{cands: many(50)},
		{cands: nil},
		{cands: randomCands(rng, 12), req: randomRequest(rng), key: randomKey(rng)},
		{cands: randomCands(rng, 30), req: randomRequest(rng), key: randomKey(rng)},
	}
}

func TestCompiledMatchesCEL(t *testing.T) {
	sets := inputSets(t)
	for _, src := range compiledShapes {
		s := mustCompile(t, src)[0]
		if s.fast == nil {
			_, why := compileFast(mustChecked(t, src))
			t.Errorf("%s: not compiled (%s)", src, why)
			continue
		}
		for i, in := range sets {
			fast, fastErr, ran, slow, slowErr := evalPaths(s, in.cands, in.req, in.key)
			if !ran {
				t.Errorf("%s, input %d: the compiled form declined", src, i)
				continue
			}
			if d := sameResult(fast, fastErr, slow, slowErr, strings.Contains(src, "randomize"), true); d != "" {
				t.Errorf("%s, input %d: %s", src, i, d)
			}
		}
	}
	for _, src := range fallbackShapes {
		if s := mustCompile(t, src)[0]; s.fast != nil {
			t.Errorf("%s: compiled; want the cel-go program", src)
		}
	}
}

// A strategy that runs with a cost tracker is compiled with a size guard;
// past the guard, the cel-go program (and its tracker) decides.
func TestCompiledSizeGuard(t *testing.T) {
	s := mustCompile(t, `ai.models.filter(m, "tools" in m.supported_features)`)[0]
	if s.fast == nil || s.fast.guard == 0 {
		t.Fatalf("fast %v: want a guarded compiled form", s.fast)
	}
	cands := fixture(t)
	if _, _, ran, _, _ := evalPaths(s, cands, Request{}, Key{}); !ran {
		t.Error("declined small inputs")
	}
	cands[2].Features = make([]string, s.fast.guard+1)
	if _, _, ran, _, _ := evalPaths(s, cands, Request{}, Key{}); ran {
		t.Error("ran past its guard")
	}
	got, _, err := Select([]*Strategy{s}, cands, Request{}, Key{})
	if err != nil || !slices.Equal(names(got), []string{"openai:gpt-4o", "openai:gpt-4o-mini", "mistral:mistral-small"}) {
		t.Errorf("past the guard: %v, %v", names(got), err)
	}
	// Without a tracker there is no guard.
	if s := mustCompile(t, `ai.models.filter(m, m.provider_id != "x")`)[0]; s.fast == nil || s.fast.guard != 0 {
		t.Errorf("untracked strategy: fast %+v", s.fast)
	}
	// Nested comprehensions stay on cel-go (and its tracker).
	if s := mustCompile(t, `ai.models.filter(a, ai.models.filter(b, b.id == a.id).size() > 0)`)[0]; s.fast != nil {
		t.Error("nested filter compiled")
	}
}

func mustChecked(t testing.TB, src string) *cel.Ast {
	t.Helper()
	env, err := celEnv()
	if err != nil {
		t.Fatal(err)
	}
	checked, iss := env.Compile(src)
	if iss.Err() != nil {
		t.Fatal(iss.Err())
	}
	return checked
}

// Random inputs: few distinct values, so comparisons and lookups hit, and
// the edges (NaN, infinities, int64 extremes, empty strings and lists).

var (
	strPool   = []string{"", "openai", "OpenAI", "anthropic", "mistral", "gpt-4o", "gpt", "tools", "vision", "tier", "premium", "x-tier", "fast", "price", "latency", "ttft", "ü", "plan", "pro", "m"}
	intPool   = []int64{0, 1, -1, 2, 10, 128000, 8192, math.MaxInt64, math.MinInt64, -5}
	floatPool = []float64{0, 1, 0.5, 0.05, 500, 2000, -1, math.Inf(1), math.Inf(-1), math.NaN(), 1e19, -1e19, 9.223372036854775807e18, math.Copysign(0, -1)}
)

func pick[T any](r *rand.Rand, pool []T) T { return pool[r.IntN(len(pool))] }

func randomStrings(r *rand.Rand) []string {
	if r.IntN(4) == 0 {
		return nil
	}
	out := make([]string, r.IntN(4))
	for i := range out {
		out[i] = pick(r, strPool)
	}
	return out
}

func randomMap(r *rand.Rand) map[string]string {
	if r.IntN(4) == 0 {
		return nil
	}
	m := map[string]string{}
	for range r.IntN(4) {
		m[pick(r, strPool)] = pick(r, strPool)
	}
	return m
}

func randomCands(r *rand.Rand, n int) []Candidate {
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = Candidate{
			ID: pick(r, strPool), ProviderID: pick(r, strPool), AuthorID: pick(r, strPool),
			InputPrice: money.PerMillion(r.Int64N(5_000_000_000)), OutputPrice: money.PerMillion(r.Int64N(20_000_000_000)),
			Priced:           r.IntN(5) != 0,
			MaxContextWindow: pick(r, intPool), MaxOutputTokens: pick(r, intPool),
			Features: randomStrings(r), Metadata: randomMap(r),
			Metrics: Metrics{LatencyMsAvg: pick(r, floatPool), LatencyMsP95: pick(r, floatPool), TTFTMsAvg: pick(r, floatPool),
				ErrorRate: pick(r, floatPool), RequestCount: pick(r, intPool)},
		}
		if r.IntN(3) == 0 { // a plausible one
			cs[i].Metrics = Metrics{LatencyMsAvg: float64(r.IntN(2000)), TTFTMsAvg: float64(r.IntN(500)), ErrorRate: r.Float64() / 4, RequestCount: int64(r.IntN(3) * 10)}
			cs[i].MaxContextWindow, cs[i].MaxOutputTokens = int64(r.IntN(200000)), int64(r.IntN(20000))
		}
	}
	return cs
}

func randomRequest(r *rand.Rand) Request {
	req := Request{Model: pick(r, strPool), Stream: r.IntN(2) == 0, MaxTokens: pick(r, intPool), InputTokens: pick(r, intPool)}
	if r.IntN(3) == 0 {
		req.HTTPHeader = http.Header{"X-Tier": {pick(r, strPool)}, "Cookie": {"c"}}
	} else {
		req.Headers = randomMap(r)
	}
	return req
}

func randomKey(r *rand.Rand) Key {
	k := Key{ID: pick(r, strPool), Name: pick(r, strPool)}
	if r.IntN(3) == 0 {
		k.RawMetadata = fmt.Sprintf(`{%q: %q}`, pick(r, strPool), pick(r, strPool))
	} else {
		k.Metadata = randomMap(r)
	}
	return k
}

// gen writes random expressions over the compiled grammar. inModel: the
// filter variable m is in scope.
type gen struct {
	r      *rand.Rand
	random bool // the expression uses randomize
}

func (g *gen) lit() string { return fmt.Sprintf("%q", pick(g.r, strPool)) }

func (g *gen) models(d int) string {
	if d <= 0 {
		return "ai.models"
	}
	switch g.r.IntN(12) {
	case 0, 1, 2, 3:
		return g.models(d-1) + ".filter(m, " + g.boolean(d-1, true) + ")"
	case 4:
		return g.models(d-1) + ".sortBy(" + pick(g.r, []string{`"price"`, `"latency"`, `"ttft"`, "req.model"}) + ")"
	case 5:
		fn := pick(g.r, []string{"onlyProviders", "ignoreProviders"})
		arg := g.str(d-1, false)
		if g.r.IntN(2) == 0 {
			arg = "[" + g.str(d-1, false) + ", " + g.lit() + "]"
		}
		return g.models(d-1) + "." + fn + "(" + arg + ")"
	case 6:
		if g.r.IntN(2) == 0 {
			return g.models(d-1) + ".underCost(" + g.dbl(d-1, false) + ")"
		}
		return g.models(d-1) + ".underCost(" + g.int(d-1, false) + ")"
	case 7:
		return g.models(d-1) + " + " + g.models(d-1)
	case 8:
		return "(" + g.boolean(d-1, false) + " ? " + g.models(d-1) + " : " + g.models(d-1) + ")"
	case 9:
		g.random = true
		return g.models(d-1) + ".randomize()"
	case 10:
		return "[]"
	}
	return "ai.models"
}

func (g *gen) boolean(d int, inModel bool) string {
	if d <= 0 {
		if inModel {
			return pick(g.r, []string{"has(m.pricing)", "has(m.metrics)", "(m.metrics.error_rate < 0.1)", `(m.provider_id == "openai")`, "true", "false", "req.stream"})
		}
		return pick(g.r, []string{"true", "false", "req.stream", `(req.model == "gpt")`})
	}
	switch g.r.IntN(16) {
	case 0:
		return "!(" + g.boolean(d-1, inModel) + ")"
	case 1, 2:
		return "(" + g.boolean(d-1, inModel) + " && " + g.boolean(d-1, inModel) + ")"
	case 3:
		return "(" + g.boolean(d-1, inModel) + " || " + g.boolean(d-1, inModel) + ")"
	case 4:
		return "(" + g.boolean(d-1, inModel) + " ? " + g.boolean(d-1, inModel) + " : " + g.boolean(d-1, inModel) + ")"
	case 5:
		op := pick(g.r, []string{"==", "!=", "<", "<=", ">", ">="})
		return "(" + g.int(d-1, inModel) + " " + op + " " + g.int(d-1, inModel) + ")"
	case 6:
		op := pick(g.r, []string{"==", "!=", "<", "<=", ">", ">="})
		return "(" + g.dbl(d-1, inModel) + " " + op + " " + g.dbl(d-1, inModel) + ")"
	case 7:
		op := pick(g.r, []string{"<", "<=", ">", ">="})
		if g.r.IntN(2) == 0 {
			return "(" + g.int(d-1, inModel) + " " + op + " " + g.dbl(d-1, inModel) + ")"
		}
		return "(" + g.dbl(d-1, inModel) + " " + op + " " + g.int(d-1, inModel) + ")"
	case 8:
		op := pick(g.r, []string{"==", "!=", "<", "<=", ">", ">="})
		return "(" + g.str(d-1, inModel) + " " + op + " " + g.str(d-1, inModel) + ")"
	case 9:
		fn := pick(g.r, []string{"startsWith", "endsWith", "contains"})
		return g.str(d-1, inModel) + "." + fn + "(" + g.str(d-1, inModel) + ")"
	case 10:
		return "(" + g.str(d-1, inModel) + " in " + g.strList(d-1, inModel) + ")"
	case 11:
		return "(" + g.str(d-1, inModel) + " in " + g.strMap(inModel) + ")"
	case 12:
		if inModel {
			return pick(g.r, []string{"has(m.pricing)", "has(m.metrics)", "has(m.supported_features)", "has(m.metadata)", "has(m.id)", "has(m.metrics.error_rate)"})
		}
		return "has(req.headers.tier)"
	case 13:
		return "has(" + g.strMap(inModel) + ".tier)"
	case 14:
		if !inModel {
			return "(size(" + g.models(d-1) + ") > " + g.int(d-1, false) + ")"
		}
		return "(" + g.boolean(d-1, inModel) + " == " + g.boolean(d-1, inModel) + ")"
	}
	return "req.stream"
}

func (g *gen) strList(d int, inModel bool) string {
	if inModel && g.r.IntN(2) == 0 {
		return "m.supported_features"
	}
	n := g.r.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		if g.r.IntN(3) == 0 {
			parts[i] = g.str(d-1, inModel)
		} else {
			parts[i] = g.lit()
		}
	}
	if n == 0 {
		return `["x"]`
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (g *gen) strMap(inModel bool) string {
	if inModel && g.r.IntN(2) == 0 {
		return "m.metadata"
	}
	return pick(g.r, []string{"req.headers", "key.metadata"})
}

func (g *gen) int(d int, inModel bool) string {
	leaves := []string{"0", "1", "-1", "10", "128000", "9223372036854775807", "(-9223372036854775807 - 1)", "req.max_tokens", "req.input_tokens"}
	if inModel {
		leaves = append(leaves, "m.max_context_window", "m.max_output_tokens", "m.metrics.request_count")
	}
	if d <= 0 {
		return pick(g.r, leaves)
	}
	switch g.r.IntN(10) {
	case 0, 1:
		op := pick(g.r, []string{"+", "-", "*", "/", "%"})
		return "(" + g.int(d-1, inModel) + " " + op + " " + g.int(d-1, inModel) + ")"
	case 2:
		return "-(" + g.int(d-1, inModel) + ")"
	case 3:
		return "size(" + g.str(d-1, inModel) + ")"
	case 4:
		if inModel {
			return pick(g.r, []string{"size(m.supported_features)", "m.supported_features.size()", "size(m.metadata)"})
		}
		return "size(" + g.strMap(false) + ")"
	case 5:
		return "(" + g.boolean(d-1, inModel) + " ? " + g.int(d-1, inModel) + " : " + g.int(d-1, inModel) + ")"
	}
	return pick(g.r, leaves)
}

func (g *gen) dbl(d int, inModel bool) string {
	leaves := []string{"0.0", "1.0", "0.5", "-2.5", "1e308", "500.0", "0.15"}
	if inModel {
		leaves = append(leaves, "m.pricing.input", "m.pricing.output", "m.metrics.latency_ms_avg", "m.metrics.latency_ms_p95",
			"m.metrics.ttft_ms_avg", "m.metrics.error_rate")
	}
	if d <= 0 {
		return pick(g.r, leaves)
	}
	switch g.r.IntN(9) {
	case 0, 1:
		op := pick(g.r, []string{"+", "-", "*", "/"})
		return "(" + g.dbl(d-1, inModel) + " " + op + " " + g.dbl(d-1, inModel) + ")"
	case 2:
		return "-(" + g.dbl(d-1, inModel) + ")"
	case 3:
		return "double(" + g.int(d-1, inModel) + ")"
	case 4:
		return "(" + g.boolean(d-1, inModel) + " ? " + g.dbl(d-1, inModel) + " : " + g.dbl(d-1, inModel) + ")"
	}
	return pick(g.r, leaves)
}

func (g *gen) str(d int, inModel bool) string {
	leaves := []string{g.lit(), "req.model", "key.id", "key.name"}
	if inModel {
		leaves = append(leaves, "m.id", "m.provider_id", "m.author_id")
	}
	if d <= 0 {
		return pick(g.r, leaves)
	}
	switch g.r.IntN(10) {
	case 0:
		return "(" + g.str(d-1, inModel) + " + " + g.str(d-1, inModel) + ")"
	case 1:
		return g.strMap(inModel) + "." + pick(g.r, []string{"tier", "plan", "x"})
	case 2:
		return g.strMap(inModel) + "[" + g.str(d-1, inModel) + "]"
	case 3:
		if inModel {
			return "m.supported_features[" + g.int(d-1, inModel) + "]"
		}
	case 4:
		return "(" + g.boolean(d-1, inModel) + " ? " + g.str(d-1, inModel) + " : " + g.str(d-1, inModel) + ")"
	}
	return pick(g.r, leaves)
}

// checkRandom generates one expression and input from seed and compares
// the two paths; it reports the expression for the failure message.
func checkRandom(t *testing.T, seed uint64, depth int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{r: r}
	src := g.models(depth)
	s, err := Compile(src)
	if err != nil {
		// The generator writes only well-typed expressions.
		t.Fatalf("seed %d: Compile(%s): %v", seed, src, err)
	}
	if s.fast == nil {
		_, why := compileFast(mustChecked(t, src))
		t.Fatalf("seed %d: %s: not compiled (%s)", seed, src, why)
	}
	for range 3 {
		var cands []Candidate
		switch r.IntN(4) {
		case 0:
			cands = fixture(t)
		case 1:
			cands = many(50)
		default:
			cands = randomCands(r, r.IntN(10))
		}
		req, key := randomRequest(r), randomKey(r)
		fast, fastErr, ran, slow, slowErr := evalPaths(s, cands, req, key)
		if !ran {
			t.Fatalf("seed %d: %s: the compiled form declined", seed, src)
		}
		if d := sameResult(fast, fastErr, slow, slowErr, g.random, !g.random); d != "" {
			t.Fatalf("seed %d: %s\n%s", seed, src, d)
		}
	}
}

func TestCompiledMatchesCELRandom(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range uint64(n) {
		checkRandom(t, seed, 1+int(seed%5))
	}
}

func FuzzCompiledMatchesCEL(f *testing.F) {
	for seed := range uint64(20) {
		f.Add(seed, uint8(seed%6))
	}
	f.Fuzz(func(t *testing.T, seed uint64, depth uint8) {
		checkRandom(t, seed, int(depth%6))
	})
}
