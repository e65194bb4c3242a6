package selection

import "testing"

func benchSelect(b *testing.B, src string) {
	strategies := mustCompile(b, src)
	cands := many(50)
	req := Request{Model: "auto", MaxTokens: 1000, InputTokens: 500}
	key := Key{ID: "ak_1"}
	b.ReportAllocs()
	for b.Loop() {
		got, winner, err := Select(strategies, cands, req, key)
		if err != nil || winner != 0 || len(got) == 0 {
			b.Fatal(err, winner, len(got))
		}
	}
}

func BenchmarkSelect50CEL(b *testing.B) {
	benchSelect(b, `ai.models.filter(m, m.provider_id != "x" && m.metrics.error_rate < 0.5).sortBy("price")`)
}

func BenchmarkSelect50Named(b *testing.B) { benchSelect(b, Cheapest) }

func BenchmarkSelect50CELAll(b *testing.B) { benchSelect(b, `ai.models`) }

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`ai.models.filter(m, m.provider_id != "x" && m.metrics.error_rate < 0.5).sortBy("price")`); err != nil {
			b.Fatal(err)
		}
	}
}
