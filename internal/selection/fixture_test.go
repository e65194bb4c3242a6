package selection

import (
	"fmt"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// price parses a USD-per-1M price for fixtures.
func price(t testing.TB, s string) money.PerMillion {
	t.Helper()
	p, err := money.ParsePerMillion(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture is a mixed candidate set, in this order:
//
//	pos  model                      $/1M in/out  latency ttft  errors  requests
//	0    openai:gpt-4o              2.50/10.00   800     300   0.02    100
//	1    openai:gpt-4o-mini         0.15/0.60    400     150   0.01    50
//	2    anthropic:claude-sonnet    3.00/15.00   1200    500   0.20    10
//	3    ollama:llama3:8b           0/0          (no data)
//	4    meta:llama-unpriced        unpriced     300     -     0.00    5
//	5    mistral:mistral-small      0.20/0.60    600     200   0.01    20
func fixture(t testing.TB) []Candidate {
	return []Candidate{
		{ID: "gpt-4o", ProviderID: "openai", AuthorID: "openai",
			InputPrice: price(t, "2.50"), OutputPrice: price(t, "10.00"), Priced: true,
			MaxContextWindow: 128000, MaxOutputTokens: 16384, Features: []string{"tools", "vision"},
			Metadata: map[string]string{"tier": "premium"},
			Metrics:  Metrics{LatencyMsAvg: 800, LatencyMsP95: 1500, TTFTMsAvg: 300, ErrorRate: 0.02, RequestCount: 100}},
		{ID: "gpt-4o-mini", ProviderID: "openai", AuthorID: "openai",
			InputPrice: price(t, "0.15"), OutputPrice: price(t, "0.60"), Priced: true,
			MaxContextWindow: 128000, MaxOutputTokens: 16384, Features: []string{"tools"},
			Metrics: Metrics{LatencyMsAvg: 400, LatencyMsP95: 900, TTFTMsAvg: 150, ErrorRate: 0.01, RequestCount: 50}},
		{ID: "claude-sonnet", ProviderID: "anthropic", AuthorID: "anthropic",
			InputPrice: price(t, "3.00"), OutputPrice: price(t, "15.00"), Priced: true,
			MaxContextWindow: 200000, MaxOutputTokens: 64000, Features: []string{"tools", "vision"},
			Metrics: Metrics{LatencyMsAvg: 1200, LatencyMsP95: 3000, TTFTMsAvg: 500, ErrorRate: 0.2, RequestCount: 10}},
		{ID: "llama3:8b", ProviderID: "ollama", AuthorID: "meta",
			Priced: true, MaxContextWindow: 8192, MaxOutputTokens: 2048},
		{ID: "llama-unpriced", ProviderID: "meta", AuthorID: "meta",
			MaxContextWindow: 32000, MaxOutputTokens: 4096,
			Metrics: Metrics{LatencyMsAvg: 300, LatencyMsP95: 400, ErrorRate: 0, RequestCount: 5}},
		{ID: "mistral-small", ProviderID: "mistral", AuthorID: "mistral",
			InputPrice: price(t, "0.20"), OutputPrice: price(t, "0.60"), Priced: true,
			MaxContextWindow: 32000, MaxOutputTokens: 8192, Features: []string{"tools"},
			Metrics: Metrics{LatencyMsAvg: 600, LatencyMsP95: 1000, TTFTMsAvg: 200, ErrorRate: 0.01, RequestCount: 20}},
	}
}

// names lists candidates as "provider:id".
func names(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ProviderID + ":" + c.ID
	}
	return out
}

// many makes n priced candidates with metrics, spread over a few providers.
func many(n int) []Candidate {
	providers := []string{"openai", "anthropic", "mistral", "groq", "together"}
	cs := make([]Candidate, n)
	for i := range cs {
		p := providers[i%len(providers)]
		cs[i] = Candidate{
			ID: fmt.Sprintf("model-%d", i), ProviderID: p, AuthorID: p,
			InputPrice: money.PerMillion((n - i) * 10_000_000), OutputPrice: money.PerMillion((i%7 + 1) * 100_000_000), Priced: i%10 != 9,
			MaxContextWindow: 128000, MaxOutputTokens: 8192, Features: []string{"tools", "streaming"},
			Metrics: Metrics{LatencyMsAvg: float64(300 + (i*37)%900), TTFTMsAvg: float64(100 + (i*13)%300),
				ErrorRate: float64(i%5) / 10, RequestCount: int64(i % 4 * 10)},
		}
	}
	return cs
}
