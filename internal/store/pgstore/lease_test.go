package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

// TestLeasesAcrossNodes: three nodes (three pools on one database) serve
// 1,000 concurrent requests against a balance that pays for exactly 500:
// at most 500 are served, at least 490; every node's ledger view sums to
// the balance, and once the nodes close nothing is leased.
func TestLeasesAcrossNodes(t *testing.T) {
	url := testpg.URL(t)
	const price = money.USD / 100
	var ls []*credits.Ledger
	var dbs []*DB
	for i := range 3 {
		db := open(t, url)
		dbs = append(dbs, db)
		l, err := credits.OpenLeased(credits.LeaseConfig{Store: db, Node: fmt.Sprintf("node-%d", i)}, credits.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	if _, err := ls[0].Purchase("acct", 500*price, "", ""); err != nil {
		t.Fatal(err)
	}
	var served, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			l := ls[i%3]
			h, err := l.Reserve("acct", price)
			var ie *credits.InsufficientError
			if errors.As(err, &ie) {
				refused.Add(1)
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := h.Settle(credits.Settlement{RequestID: fmt.Sprintf("req_%d", i), Charges: []credits.Charge{{Type: credits.Usage, Amount: price}}}); err != nil {
				t.Error(err)
				return
			}
			served.Add(1)
		})
	}
	wg.Wait()
	if s := served.Load(); s > 500 || s < 490 || s+refused.Load() != 1000 {
		t.Fatalf("served %d, refused %d", s, refused.Load())
	}
	for _, l := range ls {
		l.Close()
	}
	if err := ls[1].Verify(); err != nil {
		t.Fatal(err)
	}
	b, err := ls[2].Balance("acct")
	if err != nil {
		t.Fatal(err)
	}
	if b.Balance != (500-money.Nano(served.Load()))*price || b.Held != 0 {
		t.Fatalf("balance %s held %s after %d served", b.Balance, b.Held, served.Load())
	}
	var rows int
	if err := dbs[0].pool.QueryRow(context.Background(), `SELECT count(*) FROM credit_leases WHERE amount > 0`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d leases left (%v)", rows, err)
	}
}

// TestLeaseReclaimed: the lease of a node that stopped renewing is
// returned by another node once it expired plus the grace period.
func TestLeaseReclaimed(t *testing.T) {
	url := testpg.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	l, err := credits.Open(a, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Purchase("acct", money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	got, err := a.LeaseCredits(ctx, "acct", "dead", money.USD/2, money.USD/2, 1, 50*time.Millisecond)
	if err != nil || got != money.USD/2 {
		t.Fatalf("lease %s %v", got, err)
	}
	if more, _ := b.LeaseCredits(ctx, "acct", "alive", money.USD, money.USD, 1, time.Hour); more != 0 {
		t.Fatalf("leased %s of credit another node holds", more)
	}
	if n, err := b.ReclaimLeases(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("reclaimed %d before expiry (%v)", n, err)
	}
	time.Sleep(100 * time.Millisecond)
	if n, err := b.ReclaimLeases(ctx, 0); err != nil || n != 1 {
		t.Fatalf("reclaimed %d (%v)", n, err)
	}
	if more, err := b.LeaseCredits(ctx, "acct", "alive", money.USD, money.USD, 1, time.Hour); err != nil || more != money.USD {
		t.Fatalf("after reclaiming: leased %s (%v)", more, err)
	}
}
