package credits

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// nodes opens n leased ledgers ("nodes") over one store.
func nodes(t *testing.T, db *memStore, c *clock, n int) []*Ledger {
	t.Helper()
	var out []*Ledger
	for i := range n {
		l, err := OpenLeased(LeaseConfig{Store: db, Node: fmt.Sprintf("node-%d", i), TTL: time.Hour}, Config{}, c.now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		out = append(out, l)
	}
	return out
}

// TestLeasesNeverOverspend: three nodes serve 1,000 concurrent requests
// against a balance that pays for exactly 500: at most 500 are served and
// (the last cents not stranded on one node) at least 490; afterwards the
// ledger sums to the balance and, the leases returned, nothing is held or
// leased.
func TestLeasesNeverOverspend(t *testing.T) {
	db := newMemStore()
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	db.now = c.now
	ns := nodes(t, db, c, 3)
	const price = money.USD / 100
	if _, err := ns[0].Purchase("acct", 500*price, "", ""); err != nil {
		t.Fatal(err)
	}
	var served, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			l := ns[i%3]
			h, err := l.Reserve("acct", price)
			var ie *InsufficientError
			if errors.As(err, &ie) {
				refused.Add(1)
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := h.Settle(Settlement{RequestID: fmt.Sprintf("req_%d", i), Charges: []Charge{{Type: Usage, Amount: price}}}); err != nil {
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
	if err := ns[0].Verify(); err != nil {
		t.Fatal(err)
	}
	b, _ := ns[1].Balance("acct")
	if b.Balance != (500-money.Nano(served.Load()))*price {
		t.Fatalf("balance %s after %d served", b.Balance, served.Load())
	}
	for _, l := range ns {
		l.Close()
	}
	if total, records := db.leased("acct"); total != 0 || records != 0 {
		t.Fatalf("after every node closed: leased %s, lease records %s", total, records)
	}
}

// TestLeaseOfADeadNodeComesBack: a node that stops without returning its
// lease (kill -9) keeps it until the lease expires; then any node reclaims
// it and the money is spendable again.
func TestLeaseOfADeadNodeComesBack(t *testing.T) {
	db := newMemStore()
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	db.now = c.now
	ttl := 15 * time.Second
	mk := func(node string) *Ledger {
		l, err := OpenLeased(LeaseConfig{Store: db, Node: node, TTL: ttl}, Config{}, c.now)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	dead, alive := mk("dead"), mk("alive")
	defer alive.Close()
	if _, err := alive.Purchase("acct", money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	h, err := dead.Reserve("acct", money.USD/10)
	if err != nil {
		t.Fatal(err)
	}
	_ = h // in flight when the node died
	close(dead.stop)
	dead.loops.Wait() // the node is gone: no renewal, no return
	leasedByDead, _ := db.leased("acct")
	if leasedByDead == 0 {
		t.Fatal("the dead node leased nothing")
	}
	// until its lease expires, the rest is all another node can spend
	if _, err := alive.Reserve("acct", money.USD-leasedByDead+1); err == nil {
		t.Fatal("a node spent credit leased to another")
	}
	c.add(ttl + leaseGrace + time.Second)
	alive.renew()
	if total, records := db.leased("acct"); total != records {
		t.Fatalf("leased %s but lease records hold %s", total, records)
	}
	h2, err := alive.Reserve("acct", money.USD)
	if err != nil {
		t.Fatalf("after the dead node's lease expired: %v", err)
	}
	h2.Release()
}

// TestLeaseStoreAway: with the store unreachable, a node without a lease
// refuses with ErrStorage, not a 402.
func TestLeaseStoreAway(t *testing.T) {
	db := newMemStore()
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	db.now = c.now
	ns := nodes(t, db, c, 1)
	if _, err := ns[0].Purchase("acct", money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	db.down.Store(true)
	if _, err := ns[0].Reserve("acct", money.USD/10); !errors.Is(err, ErrStorage) {
		t.Fatalf("reserve with the store away: %v", err)
	}
	db.down.Store(false)
	h, err := ns[0].Reserve("acct", money.USD/10)
	if err != nil {
		t.Fatal(err)
	}
	h.Release()
}

// TestLeaseOutageServesAtMostTheLease: with the store away, settlements
// fail and their requests go uncharged, but each spends the node's lease
// in memory: the node serves at most its lease, then answers ErrStorage;
// once the store is back, the lease (spent part included) goes back to the
// account and the balance is untouched.
func TestLeaseOutageServesAtMostTheLease(t *testing.T) {
	db := newMemStore()
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	db.now = c.now
	l, err := OpenLeased(LeaseConfig{Store: db, Node: "n", TTL: time.Hour}, Config{}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	const price = money.USD / 100
	if _, err := l.Purchase("acct", 100*price, "", ""); err != nil {
		t.Fatal(err)
	}
	h, err := l.Reserve("acct", price) // takes a lease
	if err != nil {
		t.Fatal(err)
	}
	h.Release()
	lease, _ := db.leased("acct")
	db.down.Store(true)
	served := 0
	for i := range 200 {
		h, err := l.Reserve("acct", price)
		if errors.Is(err, ErrStorage) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Settle(Settlement{RequestID: fmt.Sprint("req_", i), Charges: []Charge{{Type: Usage, Amount: price}}}); err == nil {
			t.Fatal("a settlement committed with the store away")
		}
		served++
	}
	if money.Nano(served) != lease/price { // every whole request the lease covers, no more
		t.Fatalf("served %d requests during the outage on a lease of %s", served, lease)
	}
	db.down.Store(false)
	l.Close()
	if total, _ := db.leased("acct"); total != 0 {
		t.Fatalf("after the outage: %s still leased", total)
	}
	if b, _ := l.Balance("acct"); b.Balance != 100*price {
		t.Fatalf("balance %s: requests that could not settle were charged", b.Balance)
	}
}
