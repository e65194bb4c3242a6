package credits

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func usd(s string) money.Nano {
	n, err := money.ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return n
}

func newLedger(t testing.TB, cfg Config) (*Ledger, *clock, *memStore) {
	t.Helper()
	db := newMemStore()
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	l, err := Open(db, cfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return l, c, db
}

func TestPurchaseReserveSettle(t *testing.T) {
	l, _, _ := newLedger(t, Config{MinPurchase: usd("5")})
	if _, err := l.Purchase("acct", usd("4.99"), "", ""); !errors.Is(err, ErrBelowMinimum) {
		t.Fatalf("below minimum: %v", err)
	}
	if _, err := l.Purchase("acct", usd("5"), "", ""); err != nil {
		t.Fatal(err)
	}
	h, err := l.Reserve("acct", usd("2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Available("acct"); got != usd("3") {
		t.Fatalf("available %s", got)
	}
	if _, err := l.Reserve("acct", usd("3.000000001")); err == nil {
		t.Fatal("reserved more than available")
	}
	if _, err := h.Settle(Settlement{RequestID: "req_1", AccessKeyID: "ak_1", Charges: []Charge{{Type: Usage, Amount: usd("0.5")}, {Type: Fee, Amount: usd("0.01")}}}); err != nil {
		t.Fatal(err)
	}
	b, _ := l.Balance("acct")
	if b.Balance != usd("4.49") || b.Held != 0 || b.Available != usd("4.49") {
		t.Fatalf("balance %+v", b)
	}
	// settling the same request again charges nothing
	h2, _ := l.Reserve("acct", 0)
	_, _ = h2.Settle(Settlement{RequestID: "req_1", AccessKeyID: "ak_1", Charges: []Charge{{Type: Usage, Amount: usd("0.5")}}})
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	txs, _ := l.Transactions("acct", 0, "")
	if len(txs) != 3 || txs[0].Type != Fee || txs[2].Type != Purchase || txs[0].BalanceAfter != usd("4.49") {
		t.Fatalf("transactions %+v", txs)
	}
	// memory and disk agree (reload)
	l2, _ := Open(l.db, l.Config(), nil)
	if got := l2.Available("acct"); got != usd("4.49") {
		t.Fatalf("reloaded available %s", got)
	}
}

func TestZeroBalanceRefusesAndTopUpRestores(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	if _, err := l.Reserve("acct", 0); err == nil {
		t.Fatal("reserved at zero balance")
	}
	var ie *InsufficientError
	_, err := l.Reserve("acct", 1)
	if !errors.As(err, &ie) || ie.Available != 0 {
		t.Fatalf("%v", err)
	}
	_, _ = l.Purchase("acct", usd("1"), "", "")
	if _, err := l.Reserve("acct", 1); err != nil {
		t.Fatalf("after top-up: %v", err)
	}
}

func TestIdempotentPurchase(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	a, err := l.Purchase("acct", usd("10"), "key-1", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Purchase("acct", usd("10"), "key-1", "")
	if err != nil || !b.Replayed || b.Entry.ID != a.Entry.ID {
		t.Fatalf("replay %+v %v", b, err)
	}
	if _, err := l.Purchase("acct", usd("20"), "key-1", ""); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("conflict: %v", err)
	}
	if _, err := l.Purchase("other", usd("10"), "key-1", ""); err != nil {
		t.Fatalf("keys are per account: %v", err)
	}
	if bal, _ := l.Balance("acct"); bal.Balance != usd("10") {
		t.Fatalf("double-counted: %s", bal.Balance)
	}
}

func TestOldestLotFirstAndExpiry(t *testing.T) {
	l, c, _ := newLedger(t, Config{Lifetime: 48 * time.Hour})
	first, _ := l.Purchase("acct", usd("5"), "", "")
	c.add(24 * time.Hour)
	second, _ := l.Purchase("acct", usd("5"), "", "")
	h, _ := l.Reserve("acct", usd("6"))
	_, _ = h.Settle(Settlement{RequestID: "r1", AccessKeyID: "", Charges: []Charge{{Type: Usage, Amount: usd("6")}}})
	txs, _ := l.Transactions("acct", 1, "")
	if d := txs[0].Draws; len(d) != 2 || d[0].LotID != first.Lot.ID || d[0].Amount != usd("5") || d[1].LotID != second.Lot.ID || d[1].Amount != usd("1") {
		t.Fatalf("draws %+v", d)
	}
	// the first lot is used up; the second expires (48h after its
	// purchase) with 4 USD left
	c.add(47 * time.Hour)
	if err := l.ExpireDue(); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Balance("acct"); b.Balance != usd("4") || b.NextExpiry == nil || b.NextExpiry.ID != second.Lot.ID {
		t.Fatalf("before expiry %+v", b)
	}
	c.add(time.Hour)
	if err := l.ExpireDue(); err != nil {
		t.Fatal(err)
	}
	b, _ := l.Balance("acct")
	if b.Balance != 0 {
		t.Fatalf("after first expiry %+v", b)
	}
	txs, _ = l.Transactions("acct", 1, "")
	if txs[0].Type != Expiry || txs[0].Amount != -usd("4") || txs[0].LotID != second.Lot.ID {
		t.Fatalf("expiry entry %+v", txs[0])
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestExpiryIsLazyOnReserve(t *testing.T) {
	l, c, _ := newLedger(t, Config{Lifetime: time.Hour})
	_, _ = l.Purchase("acct", usd("5"), "", "")
	c.add(time.Hour)
	if _, err := l.Reserve("acct", 1); err == nil {
		t.Fatal("spent expired credits")
	}
}

func TestLowBalanceOncePerCrossing(t *testing.T) {
	var calls []money.Nano
	var mu sync.Mutex
	l, _, _ := newLedger(t, Config{Thresholds: []money.Nano{usd("1"), usd("3")}, OnLowBalance: func(_ string, _, th money.Nano) {
		mu.Lock()
		calls = append(calls, th)
		mu.Unlock()
	}})
	_, _ = l.Purchase("acct", usd("5"), "", "")
	spend := func(req, amt string) {
		h, err := l.Reserve("acct", usd(amt))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = h.Settle(Settlement{RequestID: req, AccessKeyID: "", Charges: []Charge{{Type: Usage, Amount: usd(amt)}}})
	}
	spend("a", "1.5")                           // 3.5
	spend("b", "1")                             // 2.5: crosses 3
	spend("c", "0.5")                           // 2.0
	spend("d", "1.5")                           // 0.5: crosses 1
	_, _ = l.Purchase("acct", usd("5"), "", "") // 5.5: re-arms both
	spend("e", "5")                             // 0.5: crosses both again
	mu.Lock()
	defer mu.Unlock()
	want := []money.Nano{usd("3"), usd("1"), usd("3"), usd("1")}
	if len(calls) != len(want) {
		t.Fatalf("calls %v", calls)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("calls %v want %v", calls, want)
		}
	}
}

// TestConcurrentSpendersNeverOverdraw: 1000 goroutines each reserve and
// settle 0.01 USD from an account holding exactly 5 USD.
func TestConcurrentSpendersNeverOverdraw(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	_, _ = l.Purchase("acct", usd("5"), "", "")
	var served, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h, err := l.Reserve("acct", usd("0.01"))
			if err != nil {
				refused.Add(1)
				return
			}
			if _, err := h.Settle(Settlement{RequestID: "req" + string(rune('a'+i%26)) + time.Now().String() + string(rune(i)), AccessKeyID: "", Charges: []Charge{{Type: Usage, Amount: usd("0.01")}}}); err != nil {
				t.Error(err)
			}
			served.Add(1)
		}(i)
	}
	wg.Wait()
	b, _ := l.Balance("acct")
	if served.Load() != 500 || refused.Load() != 500 || b.Balance != 0 {
		t.Fatalf("served %d refused %d balance %s", served.Load(), refused.Load(), b.Balance)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	if l.Settlements.Load() != 500 {
		t.Fatalf("settlements %d", l.Settlements.Load())
	}
}

func TestChargeNeverExceedsItsHold(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	_, _ = l.Purchase("acct", usd("1"), "", "")
	h, _ := l.Reserve("acct", usd("0.8"))
	// a provider that reported more than the hold's upper bound
	got, err := h.Settle(Settlement{RequestID: "r", Charges: []Charge{{Type: Usage, Amount: usd("0.7")}, {Type: Fee, Amount: usd("0.5")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Charged != usd("0.8") || got.Uncovered != usd("0.4") || !got.Journaled {
		t.Fatalf("settled %+v", got)
	}
	if b, _ := l.Balance("acct"); b.Balance != usd("0.2") || b.Held != 0 {
		t.Fatalf("balance %s held %s", b.Balance, b.Held)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestExtendHold(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	_, _ = l.Purchase("acct", usd("1"), "", "")
	h, _ := l.Reserve("acct", usd("0.5"))
	if err := h.Extend(usd("0.6")); err == nil {
		t.Fatal("extended beyond the available balance")
	}
	if err := h.Extend(usd("0.5")); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Balance("acct"); b.Held != usd("1") || b.Available != 0 {
		t.Fatalf("held %s available %s", b.Held, b.Available)
	}
	got, _ := h.Settle(Settlement{RequestID: "r", Charges: []Charge{{Type: Usage, Amount: usd("0.9")}}})
	if got.Charged != usd("0.9") {
		t.Fatalf("charged %s", got.Charged)
	}
	if err := h.Extend(1); err == nil {
		t.Fatal("extended a settled hold")
	}
	if b, _ := l.Balance("acct"); b.Balance != usd("0.1") || b.Held != 0 {
		t.Fatalf("balance %s held %s", b.Balance, b.Held)
	}
}

func TestDebtIsPaidByTheNextPurchase(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	_, _ = l.Purchase("acct", usd("1"), "", "")
	// an operator's debit beyond the balance is debt
	if _, err := l.Adjust("acct", Adjustment, -usd("1.5"), "correction"); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Balance("acct"); b.Balance != -usd("0.5") {
		t.Fatalf("balance %s", b.Balance)
	}
	p, _ := l.Purchase("acct", usd("5"), "", "")
	if p.Lot.Remaining != usd("4.5") {
		t.Fatalf("lot remaining %s", p.Lot.Remaining)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestAdjustments(t *testing.T) {
	l, _, _ := newLedger(t, Config{})
	if _, err := l.Adjust("acct", Refund, usd("2"), "refund for outage"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Adjust("acct", Adjustment, -usd("0.5"), "correction"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Adjust("acct", Usage, 1, ""); err == nil {
		t.Fatal("usage adjustment accepted")
	}
	if b, _ := l.Balance("acct"); b.Balance != usd("1.5") {
		t.Fatalf("balance %s", b.Balance)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestSpentSince(t *testing.T) {
	l, c, _ := newLedger(t, Config{})
	_, _ = l.Purchase("acct", usd("5"), "", "")
	h, _ := l.Reserve("acct", usd("1"))
	_, _ = h.Settle(Settlement{RequestID: "r1", AccessKeyID: "ak_1", Charges: []Charge{{Type: Usage, Amount: usd("0.3")}, {Type: Fee, Amount: usd("0.01")}}})
	c.add(time.Hour)
	since := c.now()
	h, _ = l.Reserve("acct", usd("1"))
	_, _ = h.Settle(Settlement{RequestID: "r2", AccessKeyID: "ak_1", Charges: []Charge{{Type: Usage, Amount: usd("0.2")}}})
	h, _ = l.Reserve("acct", usd("1"))
	_, _ = h.Settle(Settlement{RequestID: "r3", AccessKeyID: "ak_2", Charges: []Charge{{Type: Usage, Amount: usd("0.1")}}})
	spent, err := l.SpentSince(since)
	if err != nil || spent["ak_1"] != usd("0.2") || spent["ak_2"] != usd("0.1") {
		t.Fatalf("%v %v", spent, err)
	}
}

// TestSettlementTouchesOnlyWhatChanged: a settlement writes back the lots
// it drew from, not every open lot of the account, and journals its usage
// events in its own transaction.
func TestSettlementTouchesOnlyWhatChanged(t *testing.T) {
	l, _, db := newLedger(t, Config{})
	for range 5 {
		if _, err := l.Purchase("acct", usd("1"), "", ""); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		charge    string
		lotWrites int
	}{
		{"0.5", 1},  // from the oldest lot
		{"0.25", 1}, // the same lot again
		{"1", 2},    // the rest of the first lot and part of the second
	}
	for i, c := range cases {
		before := db.lotWrites
		h, err := l.Reserve("acct", usd(c.charge))
		if err != nil {
			t.Fatal(err)
		}
		ev := &store.UsageEvent{ID: fmt.Sprintf("ue_%d", i), RequestID: fmt.Sprintf("req_%d", i)}
		if _, err := h.Settle(Settlement{RequestID: ev.RequestID, Charges: []Charge{{Type: Usage, Amount: usd(c.charge)}},
			Events: []*store.UsageEvent{ev}}); err != nil {
			t.Fatal(err)
		}
		if got := db.lotWrites - before; got != c.lotWrites {
			t.Errorf("settling %s USD wrote %d lots, want %d", c.charge, got, c.lotWrites)
		}
		if got := len(db.journaled()); got != i+1 {
			t.Errorf("after settlement %d: %d events journaled", i, got)
		}
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Balance("acct"); b.Balance != usd("3.25") {
		t.Fatalf("balance %s", b.Balance)
	}
}

func TestAppendAttemptCharges(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tokens    int64
		managed   bool
		cost, fee money.Nano
		want      string // type:amount:description per charge
	}{
		{"no tokens: nothing", 0, true, 5, 1, ""},
		{"managed: cost and processing fee", 10, true, 5, 1, "usage:0.000000005:openai:gpt-4o, 10 tokens|fee:0.000000001:processing fee"},
		{"managed without a fee", 10, true, 5, 0, "usage:0.000000005:openai:gpt-4o, 10 tokens"},
		{"customer key: the BYOK fee only", 10, false, 5, 1, "fee:0.000000001:BYOK fee"},
		{"customer key without a fee", 10, false, 5, 0, ""},
	} {
		var got []string
		for _, c := range AppendAttemptCharges(nil, "openai", "gpt-4o", tc.tokens, tc.managed, tc.cost, tc.fee) {
			if c.ProviderID != "openai" || c.Model != "gpt-4o" || c.Tokens != tc.tokens {
				t.Errorf("%s: %+v", tc.name, c)
			}
			got = append(got, fmt.Sprintf("%s:%s:%s", c.Type, c.Amount, c.Description))
		}
		if strings.Join(got, "|") != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, strings.Join(got, "|"), tc.want)
		}
	}
}
