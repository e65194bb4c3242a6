package relay

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/provider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/sse"
)

// TestRelayCopyIsBounded: a passed-through stream keeps at most maxReplay
// of raw copy, however long the answer, and a continuation still knows
// the whole text delivered — from the copy, or past the bound from the
// shadow translator — for answers below, at and far above the bound.
func TestRelayCopyIsBounded(t *testing.T) {
	for _, chunks := range []int{1, 100, 2000, 20000} {
		t.Run(fmt.Sprint(chunks), func(t *testing.T) {
			rl := New(provider.OpenAI, provider.OpenAI, false)
			var passed int
			sw := &Writer{Hold: func(_ string, _, raw []byte) {
				if raw == nil {
					t.Fatal("a pass-through event was rewritten")
				}
				passed++
			}}
			var want strings.Builder
			for i := range chunks {
				word := fmt.Sprintf("w%d ", i)
				want.WriteString(word)
				data := fmt.Sprintf(`{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":%q}}]}`, word)
				raw := []byte("data: " + data + "\n\n")
				if err := rl.Event(sse.Event{Data: []byte(data), Raw: raw}, sw); err != nil {
					t.Fatal(err)
				}
				if len(rl.replay) > 64<<10 { // the goal: at most 64 KiB per open stream
					t.Fatalf("copy of %d bytes after %d chunks", len(rl.replay), i+1)
				}
			}
			if passed != chunks {
				t.Fatalf("%d of %d events passed through", passed, chunks)
			}
			ts := rl.Translator()
			if ts == nil || ts.Text() != want.String() {
				t.Fatalf("the continuation knows %d bytes of text, %d delivered", len(ts.Text()), want.Len())
			}
			if rl.replay != nil || rl.shadow != nil {
				t.Fatal("the copy outlived the translator")
			}
		})
	}
}
