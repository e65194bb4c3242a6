package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

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

// TestSpendLeaseBeyondTheLease: a settlement that would spend more than
// its node's lease, or a lease that is gone, fails and writes nothing.
func TestSpendLeaseBeyondTheLease(t *testing.T) {
	db := open(t, testpg.URL(t))
	ctx := context.Background()
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Purchase("acct", money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	if got, err := db.LeaseCredits(ctx, "acct", "n1", money.USD/4, money.USD/4, 1, time.Hour); err != nil || got != money.USD/4 {
		t.Fatalf("lease %s %v", got, err)
	}
	for _, tc := range []struct {
		node   string
		amount money.Nano
	}{{"n1", money.USD/4 + 1}, {"n2", 1}} {
		err := db.UpdateLedger(ctx, func(tx credits.Tx) error { return tx.(credits.LeaseTx).SpendLease("acct", tc.node, tc.amount) })
		if err == nil {
			t.Errorf("node %s spent %s beyond its lease", tc.node, tc.amount)
		}
	}
	err = db.UpdateLedger(ctx, func(tx credits.Tx) error { return tx.(credits.LeaseTx).SpendLease("acct", "n1", money.USD/4) })
	if err != nil {
		t.Fatalf("spending the whole lease: %v", err)
	}
	if err := db.ViewLedger(ctx, func(tx credits.Tx) error {
		rec, err := tx.Account("acct")
		if err == nil && rec.Leased != 0 {
			t.Errorf("leased %s after spending the lease", rec.Leased)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
