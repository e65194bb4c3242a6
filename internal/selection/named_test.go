package selection

import (
	"slices"
	"testing"
)

func TestNamedStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		stream   bool
		want     []string
	}{
		// Free ollama first; unpriced meta last.
		{Cheapest, false, []string{"ollama:llama3:8b", "openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "meta:llama-unpriced"}},
		// Lowest average latency; ollama has no data, so last.
		{Fastest, false, []string{"meta:llama-unpriced", "openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "ollama:llama3:8b"}},
		// Streaming orders by time to first token; meta measured none,
		// ollama nothing: both last, in their given order.
		{Fastest, true, []string{"openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "ollama:llama3:8b", "meta:llama-unpriced"}},
		// Lowest error rate among models with data; gpt-4o-mini and
		// mistral-small tie at 0.01 and the faster one goes first; the
		// untried ollama model last.
		{MostReliable, false, []string{"meta:llama-unpriced", "openai:gpt-4o-mini", "mistral:mistral-small", "openai:gpt-4o", "anthropic:claude-sonnet", "ollama:llama3:8b"}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			got, winner, err := Select(mustCompile(t, tc.strategy), fixture(t), Request{Stream: tc.stream}, Key{})
			if err != nil || winner != 0 {
				t.Fatalf("winner %d, err %v", winner, err)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("got  %v\nwant %v", names(got), tc.want)
			}
		})
	}
}

// Ties and unknowns keep the given order, in the named strategies and in
// sortBy alike.
func TestSortStability(t *testing.T) {
	p := price(t, "1.00")
	cands := []Candidate{
		{ID: "a", ProviderID: "x"}, // unpriced, no data
		{ID: "b", ProviderID: "x", InputPrice: p, OutputPrice: p, Priced: true}, // no data
		{ID: "c", ProviderID: "x", Metrics: Metrics{RequestCount: 3, LatencyMsAvg: 5, TTFTMsAvg: 2, ErrorRate: 0.5}},
		{ID: "d", ProviderID: "x", InputPrice: p, OutputPrice: p, Priced: true, Metrics: Metrics{RequestCount: 1, LatencyMsAvg: 5, ErrorRate: 0.5}},
		{ID: "e", ProviderID: "x"},
		{ID: "f", ProviderID: "x", Metrics: Metrics{RequestCount: 9, ErrorRate: 0.5}}, // error data, no latency
	}
	for _, tc := range []struct {
		strategy string
		stream   bool
		want     []string
	}{
		{Cheapest, false, []string{"b", "d", "a", "c", "e", "f"}},
		{`ai.models.sortBy("price")`, false, []string{"b", "d", "a", "c", "e", "f"}},
		{Fastest, false, []string{"c", "d", "a", "b", "e", "f"}},
		{`ai.models.sortBy("latency")`, false, []string{"c", "d", "a", "b", "e", "f"}},
		{Fastest, true, []string{"c", "a", "b", "d", "e", "f"}},
		{`ai.models.sortBy("ttft")`, false, []string{"c", "a", "b", "d", "e", "f"}},
		{MostReliable, false, []string{"c", "d", "f", "a", "b", "e"}},
	} {
		got, _, err := Select(mustCompile(t, tc.strategy), cands, Request{Stream: tc.stream}, Key{})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(got))
		for i, c := range got {
			ids[i] = c.ID
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s (stream %v): got %v, want %v", tc.strategy, tc.stream, ids, tc.want)
		}
	}
}
