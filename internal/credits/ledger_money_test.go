package credits

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testkit"
)

// ledgerState is what a refused change must leave untouched.
type ledgerState struct {
	balance money.Nano
	entries int
	lots    int
}

func stateOf(t *testing.T, l *Ledger, db *memStore, accountID string) ledgerState {
	t.Helper()
	b, err := l.Balance(accountID)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := l.Entries()
	if err != nil {
		t.Fatal(err)
	}
	lots := db.lots(accountID)
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	return ledgerState{balance: b.Balance, entries: len(entries), lots: lots}
}

// TestCreditOverflowRefused: the purchase that wrapped a $20.30 balance to
// −9223372017.70 is refused, and so is every credit or debit that would
// take the stored balance out of the int64 range; nothing is written.
func TestCreditOverflowRefused(t *testing.T) {
	const maxN = money.Nano(math.MaxInt64)
	l, _, db := newLedger(t, Config{}) // no maximum: only the int64 range
	if _, err := l.Purchase("acct", usd("20.30"), "", ""); err != nil {
		t.Fatal(err)
	}
	was := stateOf(t, l, db, "acct")
	if res, err := l.Purchase("acct", usd("9223372036.00"), "", ""); !errors.Is(err, ErrOverflow) {
		t.Fatalf("overflowing purchase: %+v, %v", res, err)
	}
	if res, err := l.Purchase("acct", usd("9223372036.00"), "idem-1", ""); !errors.Is(err, ErrOverflow) {
		t.Fatalf("overflowing idempotent purchase: %+v, %v", res, err)
	}
	for _, amount := range []money.Nano{maxN, maxN - usd("20.30") + 1} {
		if e, err := l.Adjust("acct", Adjustment, amount, ""); !errors.Is(err, ErrOverflow) {
			t.Fatalf("overflowing adjustment of %d: %+v, %v", amount, e, err)
		}
	}
	if now := stateOf(t, l, db, "acct"); now != was {
		t.Fatalf("refused credits changed the ledger: %+v → %+v", was, now)
	}
	// up to the edge is fine
	if _, err := l.Adjust("acct", Refund, maxN-usd("20.30"), ""); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Balance("acct"); b.Balance != maxN || b.Available != maxN {
		t.Fatalf("balance %d", b.Balance)
	}
	if _, err := l.Purchase("acct", 1, "", ""); !errors.Is(err, ErrOverflow) {
		t.Fatalf("one nano-USD past MaxInt64: %v", err)
	}

	// debits: down to −MaxInt64 is debt, one further is refused
	l2, _, db2 := newLedger(t, Config{})
	if _, err := l2.Adjust("acct", Adjustment, -maxN, ""); err != nil {
		t.Fatal(err)
	}
	was = stateOf(t, l2, db2, "acct")
	for _, amount := range []money.Nano{-2, money.Nano(math.MinInt64), -maxN} {
		if e, err := l2.Adjust("acct", Adjustment, amount, ""); !errors.Is(err, ErrOverflow) {
			t.Fatalf("underflowing adjustment of %d: %+v, %v", amount, e, err)
		}
	}
	if now := stateOf(t, l2, db2, "acct"); now != was {
		t.Fatalf("refused debits changed the ledger: %+v → %+v", was, now)
	}
	if b, _ := l2.Balance("acct"); b.Available != -maxN {
		t.Fatalf("available %d", b.Available)
	}
}

func TestMaxPurchase(t *testing.T) {
	l, _, db := newLedger(t, Config{MinPurchase: usd("5"), MaxPurchase: usd("100000")})
	for _, amount := range []string{"100000.000000001", "9223372036"} {
		if _, err := l.Purchase("acct", usd(amount), "", ""); !errors.Is(err, ErrAboveMaximum) {
			t.Fatalf("purchase of %s: %v", amount, err)
		}
	}
	for _, amount := range []string{"100000.01", "-100000.01"} {
		if _, err := l.Adjust("acct", Adjustment, usd(amount), ""); !errors.Is(err, ErrAboveMaximum) {
			t.Fatalf("adjustment of %s: %v", amount, err)
		}
	}
	if s := stateOf(t, l, db, "acct"); s != (ledgerState{}) {
		t.Fatalf("refused changes wrote %+v", s)
	}
	if _, err := l.Purchase("acct", usd("100000"), "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Adjust("acct", Refund, -usd("100000"), ""); err != nil {
		t.Fatal(err)
	}
}

// TestSetConfigCopiesThresholds: the caller's slice (the gateway config's
// snapshot, read by request goroutines) is neither sorted in place nor
// kept: under -race, its owner reading and writing it while the ledger
// sorts and reads its thresholds is not a data race.
func TestSetConfigCopiesThresholds(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	_, _ = l.Purchase("acct", usd("20"), "", "")
	shared := []money.Nano{usd("1"), usd("10"), usd("5")}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the slice's owner reads it while SetConfig runs
		defer wg.Done()
		for i := 0; i < 1000; i++ {
			var sum money.Nano
			for _, v := range shared {
				sum += v
			}
			_ = sum
		}
	}()
	crossings := 0
	for i := 0; i < 20; i++ {
		l.SetConfig(Config{Thresholds: shared, OnLowBalance: func(string, money.Nano, money.Nano) { crossings++ }})
	}
	wg.Wait()
	if shared[0] != usd("1") || shared[1] != usd("10") || shared[2] != usd("5") {
		t.Fatalf("SetConfig reordered the caller's thresholds: %v", shared)
	}
	wg.Add(1)
	go func() { // ... and later reuses it, while the ledger reads its thresholds
		defer wg.Done()
		for i := range shared {
			shared[i] = 0
		}
	}()
	for i := 0; i < 4; i++ {
		if _, err := l.Adjust("acct", Adjustment, -usd("4"), ""); err != nil { // 16, 12, 8, 4: crosses 10 and 5
			t.Fatal(err)
		}
	}
	wg.Wait()
	if crossings != 2 {
		t.Fatalf("%d crossings, want 2", crossings)
	}
	if got := l.Config().Thresholds; len(got) != 3 || got[0] != usd("10") || got[1] != usd("5") || got[2] != usd("1") {
		t.Fatalf("ledger thresholds %v", got)
	}
}

// TestBalanceTxInsideATransaction: with a lot just expired, a management
// change reads the balance inside its own bbolt write transaction without
// opening a second one (Balance there would deadlock on expiry's Update).
func TestBalanceTxInsideATransaction(t *testing.T) {
	l, c, db := newLedger(t, Config{Lifetime: time.Hour})
	if _, err := l.Purchase("acct", usd("5"), "", ""); err != nil {
		t.Fatal(err)
	}
	c.add(time.Hour + time.Second) // the lot is due, not yet expired
	var b Balance
	testkit.Within(t, 5*time.Second, "BalanceTx inside Update", func() {
		if err := db.UpdateLedger(context.Background(), func(tx Tx) error {
			var err error
			b, err = l.BalanceTx(tx, "acct")
			return err
		}); err != nil {
			t.Error(err)
		}
	})
	if b.Balance != usd("5") || b.NextExpiry == nil {
		t.Fatalf("before expiry: %+v", b)
	}
	testkit.Within(t, 5*time.Second, "ExpireIfDue", func() {
		if err := l.ExpireIfDue("acct"); err != nil {
			t.Error(err)
		}
	})
	testkit.Within(t, 5*time.Second, "BalanceTx inside Update", func() {
		_ = db.UpdateLedger(context.Background(), func(tx Tx) error {
			b, _ = l.BalanceTx(tx, "acct")
			return nil
		})
	})
	if b.Balance != 0 || b.Held != 0 || b.NextExpiry != nil {
		t.Fatalf("after expiry: %+v", b)
	}
	// holds count
	_, _ = l.Purchase("acct", usd("5"), "", "")
	h, err := l.Reserve("acct", usd("2"))
	if err != nil {
		t.Fatal(err)
	}
	_ = db.ViewLedger(context.Background(), func(tx Tx) error { b, _ = l.BalanceTx(tx, "acct"); return nil })
	if b.Balance != usd("5") || b.Held != usd("2") || b.Available != usd("3") {
		t.Fatalf("with a hold: %+v", b)
	}
	h.Release()
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestCreditNeedsTheAccount: with AccountExists set, a credit to an
// account deleted meanwhile is refused in the transaction that would
// write it.
func TestCreditNeedsTheAccount(t *testing.T) {
	l, _, db := newLedger(t, Config{})
	db.accounts["acct"] = true
	l.SetConfig(Config{RequireAccount: true})
	if _, err := l.Purchase("ghost", usd("5"), "", ""); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("purchase: %v", err)
	}
	for _, amount := range []string{"5", "-5"} {
		if _, err := l.Adjust("ghost", Adjustment, usd(amount), ""); !errors.Is(err, ErrUnknownAccount) {
			t.Fatalf("adjustment of %s: %v", amount, err)
		}
	}
	if s := stateOf(t, l, db, "ghost"); s != (ledgerState{}) {
		t.Fatalf("refused credits wrote %+v", s)
	}
	if _, err := l.Purchase("acct", usd("5"), "", ""); err != nil {
		t.Fatal(err)
	}
}

// TestDebitKeepsAvailableInRange: with a hold in flight, a debit that
// would take balance − holds below MinInt64 is refused (Reserve computes
// it unchecked, and a wrapped value would read as plenty available).
func TestDebitKeepsAvailableInRange(t *testing.T) {
	const maxN = money.Nano(math.MaxInt64)
	l, _, _ := newLedger(t, Config{})
	if _, err := l.Purchase("acct", usd("10"), "", ""); err != nil {
		t.Fatal(err)
	}
	h, err := l.Reserve("acct", usd("5"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	// balance 10 − (MaxInt64 nano + 10) = −MaxInt64 nano fits; minus the 5 held does not
	if _, err := l.Adjust("acct", Adjustment, -maxN, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Adjust("acct", Adjustment, -usd("10"), ""); !errors.Is(err, ErrOverflow) {
		t.Fatalf("debit past the available range: %v", err)
	}
	if _, err := l.Reserve("acct", 0); err == nil {
		t.Fatal("reserved on a balance deep in debt")
	}
	if b, _ := l.Balance("acct"); b.Balance != usd("10")-maxN || b.Available >= 0 {
		t.Fatalf("balance %+v", b)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}
