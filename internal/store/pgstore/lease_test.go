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
