package selection

import "testing"

func benchSelect(b *testing.B, src string) {
	benchStrategies(b, mustCompile(b, src))
}

func benchStrategies(b *testing.B, strategies []*Strategy) {
	cands := many(50)
	req := Request{Model: "auto", MaxTokens: 1000, InputTokens: 500}
	key := Key{ID: "ak_1"}
	b.ReportAllocs()
	cpu0, cpuOK := cpuNanos()
	for b.Loop() {
		got, winner, err := Select(strategies, cands, req, key)
		if err != nil || winner != 0 || len(got) == 0 {
			b.Fatal(err, winner, len(got))
		}
	}
	// CPU time of the whole process (GC included) per operation: on a
	// shared machine closer to what a quiet one measures than ns/op.
	if cpu1, ok := cpuNanos(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkSelect50CEL(b *testing.B) {
	benchSelect(b, `ai.models.filter(m, m.provider_id != "x" && m.metrics.error_rate < 0.5).sortBy("price")`)
}

func BenchmarkSelect50Named(b *testing.B) { benchSelect(b, Cheapest) }

func BenchmarkSelect50CELAll(b *testing.B) { benchSelect(b, `ai.models`) }

// celBenchExprs are the strategies BenchmarkSelectCEL50Compiled and
// BenchmarkSelectCEL50Interpreted run, each over the same 50 candidates.
var celBenchExprs = []struct{ name, src string }{
	{"design", `ai.models.filter(m, m.provider_id != "ollama").sortBy("price")`},
	{"provider_price", `ai.models.filter(m, m.provider_id in ["openai", "anthropic", "mistral"] && m.pricing.input < 0.4).sortBy("price")`},
	{"latency_errors", `ai.models.filter(m, has(m.metrics) && m.metrics.latency_ms_avg < 1000 && m.metrics.error_rate < 0.25).sortBy("latency")`},
	{"features", `ai.models.filter(m, "tools" in m.supported_features && m.max_context_window >= req.input_tokens + req.max_tokens)`},
}

// BenchmarkSelectCEL50Compiled runs the strategies on the compiled fast path.
func BenchmarkSelectCEL50Compiled(b *testing.B) {
	for _, e := range celBenchExprs {
		b.Run(e.name, func(b *testing.B) {
			s := mustCompile(b, e.src)
			if s[0].fast == nil {
				b.Fatal("not compiled")
			}
			benchStrategies(b, s)
		})
	}
}

// BenchmarkSelectCEL50Interpreted runs the same strategies on the cel-go
// program, as every CEL strategy ran before the compiled path.
func BenchmarkSelectCEL50Interpreted(b *testing.B) {
	for _, e := range celBenchExprs {
		b.Run(e.name, func(b *testing.B) {
			s := mustCompile(b, e.src)
			interp := *s[0]
			interp.fast = nil
			benchStrategies(b, []*Strategy{&interp})
		})
	}
}

// BenchmarkSelectOrder50Compiled is BenchmarkSelectCEL50Compiled through
// SelectOrder: positions instead of a copy of the chosen candidates.
func BenchmarkSelectOrder50Compiled(b *testing.B) {
	for _, e := range celBenchExprs {
		b.Run(e.name, func(b *testing.B) {
			s := mustCompile(b, e.src)
			cands := many(50)
			req := Request{Model: "auto", MaxTokens: 1000, InputTokens: 500}
			key := Key{ID: "ak_1"}
			b.ReportAllocs()
			for b.Loop() {
				order, winner, err := SelectOrder(s, cands, req, key)
				if err != nil || winner != 0 || len(order) == 0 {
					b.Fatal(err, winner, len(order))
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`ai.models.filter(m, m.provider_id != "x" && m.metrics.error_rate < 0.5).sortBy("price")`); err != nil {
			b.Fatal(err)
		}
	}
}
