package selection

import (
	"fmt"
	"testing"
)

func TestCompileCached(t *testing.T) {
	a, err := CompileCached([]string{Cheapest, "ai.models"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := CompileCached([]string{Cheapest})
	if err != nil || b[0] != a[0] {
		t.Fatalf("a second compile of the same text: %v, %v", b, err)
	}
	if _, err := CompileCached([]string{"ai.models +"}); err == nil {
		t.Fatal("a broken strategy compiled")
	}
	for i := 0; i < maxCachedStrategies+10; i++ {
		if _, err := CompileCached([]string{fmt.Sprintf("ai.models.filter(m, m.id != 'x%d')", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strategyCacheSize.Load(); n > maxCachedStrategies {
		t.Fatalf("cache holds %d strategies, bound %d", n, maxCachedStrategies)
	}
}
