package selection

import "testing"

func TestSmoke(t *testing.T) {
	for _, src := range []string{`ai.models.filter(m, m.provider_id != "ollama").sortBy("price")`, `1 + 1`, `"x"`, `foo.bar`, `ai.models.sortBy("prce")`, `ai.models.map(m, m.id)`, `[]`, `ai.models.filter(m, m.metrics.latency_ms_avg < 500)`, `selection.Model{}`, `ai.keys.map(k, k.id)`} {
		_, err := Compile(src)
		t.Logf("%s => %v", src, err)
	}
}
