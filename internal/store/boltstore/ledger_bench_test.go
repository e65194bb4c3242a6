package boltstore

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// BenchmarkSettle is the credit ledger's settlement on this engine (the
// ledger's rules are engine-independent, internal/credits; its speed is
// this engine's group commit): throughput with 64 concurrent settlers
// (entries/s = 2 entries per op × ops/s), and the time of one settlement
// alone ("serial": the c=1 case, bounded below by one fsync).
func BenchmarkSettle(b *testing.B) {
	b.Run("charges", func(b *testing.B) { benchmarkSettle(b, false, 32) })
	b.Run("charges+event", func(b *testing.B) { benchmarkSettle(b, true, 32) })
	b.Run("serial", func(b *testing.B) { benchmarkSettle(b, true, 0) })
}

func benchmarkSettle(b *testing.B, withEvent bool, parallelism int) {
	db, err := Open(filepath.Join(b.TempDir(), "gw.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = l.Purchase("acct", 1_000_000*money.USD, "", "")
	var n atomic.Int64
	settle := func() {
		i := n.Add(1)
		h, err := l.Reserve("acct", money.USD/1000)
		if err != nil {
			b.Fatal(err)
		}
		st := credits.Settlement{RequestID: fmt.Sprintf("req_%d", i), AccessKeyID: "ak", Charges: []credits.Charge{{Type: credits.Usage, Amount: 500}, {Type: credits.Fee, Amount: 10}}}
		if withEvent {
			st.Events = []*store.UsageEvent{{ID: fmt.Sprintf("ue_%d", i), RequestID: st.RequestID, Timestamp: time.Now(), ProviderID: "openai",
				Model: "gpt-4o-mini", Endpoint: "chat.completions", KeySource: "managed", Status: 200, InputTokens: 12, OutputTokens: 9,
				Cost: 500, AccessKeyID: "ak", AccountID: "acct", RetryAction: "succeeded"}}
		}
		if _, err := h.Settle(st); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if parallelism == 0 {
		for range b.N {
			settle()
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				settle()
			}
		})
	}
	b.ReportMetric(float64(b.N*2)/b.Elapsed().Seconds(), "entries/s")
}
