package pgstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

// counter counts the statements and batches a pool sends: each is one
// round trip to the server.
type counter struct{ n atomic.Int64 }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestRoundTripsPerRequest counts what a metered request costs the
// database on the hot path of a node on leases: before its first byte,
// nothing while its lease covers it; its settlement (entries, lots,
// balance, lease, usage event, settled mark) a fixed number of round
// trips. The counts are logged for the README; the test fails only if a
// reservation covered by the lease touches the database.
func TestRoundTripsPerRequest(t *testing.T) {
	url := testpg.URL(t)
	var c counter
	db, err := openWith(context.Background(), url, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = &c })
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := credits.OpenLeased(credits.LeaseConfig{Store: db, Node: "n", TTL: time.Hour}, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Purchase("acct", 100*money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	h, err := l.Reserve("acct", money.USD/100) // the first one leases
	if err != nil {
		t.Fatal(err)
	}
	h.Release()
	const n = 50
	var reserve, settle int64
	for i := range n {
		before := c.n.Load()
		h, err := l.Reserve("acct", money.USD/100)
		if err != nil {
			t.Fatal(err)
		}
		mid := c.n.Load()
		ev := &store.UsageEvent{ID: fmt.Sprintf("ue_%d", i), RequestID: fmt.Sprintf("req_%d", i), Attempt: 1, Timestamp: time.Now(),
			ProviderID: "openai", Model: "gpt-4o", Status: 200, RetryAction: store.RetrySucceeded}
		if _, err := h.Settle(credits.Settlement{RequestID: ev.RequestID, Charges: []credits.Charge{{Type: credits.Usage, Amount: money.USD / 200}},
			Events: []*store.UsageEvent{ev}}); err != nil {
			t.Fatal(err)
		}
		reserve += mid - before
		settle += c.n.Load() - mid
	}
	t.Logf("round trips per request, one at a time: reservation %.1f, settlement %.1f (begin and commit included)",
		float64(reserve)/n, float64(settle)/n)
	if reserve != 0 {
		t.Fatalf("reservations covered by the lease made %d round trips", reserve)
	}
}
