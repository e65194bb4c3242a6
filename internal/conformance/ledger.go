package conformance

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// TestLedger checks the credit ledger: lots, holds, settlements, expiry,
// and that what it commits survives a restart.
func TestLedger(t *testing.T, f Factory) {
	t.Run("PurchaseAddsLot", func(t *testing.T) { testPurchase(t, f) })
	t.Run("IdempotentPurchase", func(t *testing.T) { testIdempotentPurchase(t, f) })
	t.Run("OldestLotFirst", func(t *testing.T) { testOldestLotFirst(t, f) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, f) })
	t.Run("HoldsReduceAvailable", func(t *testing.T) { testHolds(t, f) })
	t.Run("ConcurrentReserveSettle", func(t *testing.T) { testConcurrentSpend(t, f) })
	t.Run("ChargeNeverExceedsHold", func(t *testing.T) { testChargeCapped(t, f) })
	t.Run("SettleOnce", func(t *testing.T) { testSettleOnce(t, f) })
	t.Run("Extend", func(t *testing.T) { testExtend(t, f) })
	t.Run("TransactionsPaged", func(t *testing.T) { testTransactionsPaged(t, f) })
	t.Run("SurviveReopen", func(t *testing.T) { testLedgerReopen(t, f) })
	t.Run("SettlementEventsJournaled", func(t *testing.T) { testJournaledEvents(t, f) })
	t.Run("CreditNeedsTheAccount", func(t *testing.T) { testCreditNeedsAccount(t, f) })
}

// testCreditNeedsAccount: with RequireAccount, the ledger's
// transaction sees the management accounts: a credit to an account that
// does not exist is refused and writes nothing; one created through the
// management service is credited.
func testCreditNeedsAccount(t *testing.T, f Factory) {
	db, _ := f(t)
	s := openService(t, db, secrets.NewKey())
	acct := must(s.CreateAccount(patch(t, `{"name":"real"}`)))(t)
	l := must(credits.Open(db, credits.Config{RequireAccount: true}, nil))(t)
	if _, err := l.Purchase("acct_ghost", 5*money.USD, "", ""); !errors.Is(err, credits.ErrUnknownAccount) {
		t.Fatalf("purchase for a missing account: %v", err)
	}
	if _, err := l.Adjust("acct_ghost", credits.Adjustment, -money.USD, ""); !errors.Is(err, credits.ErrUnknownAccount) {
		t.Fatalf("debit of a missing account: %v", err)
	}
	if entries := must(l.Entries())(t); len(entries) != 0 {
		t.Fatalf("refused credits wrote %d entries", len(entries))
	}
	must(l.Purchase(acct.ID, 5*money.USD, "", ""))(t)
	wantBalance(t, l, acct.ID, 5*money.USD, 0)
	verify(t, l)
}

func openLedger(t *testing.T, db Engine, c *clock) *credits.Ledger {
	t.Helper()
	return must(credits.Open(db, credits.Config{Lifetime: 30 * 24 * time.Hour}, c.now))(t)
}

func wantBalance(t *testing.T, l *credits.Ledger, acct string, balance, held money.Nano) credits.Balance {
	t.Helper()
	b := must(l.Balance(acct))(t)
	if b.Balance != balance || b.Held != held || b.Available != balance-held {
		t.Fatalf("balance %s held %s available %s, want %s held %s available %s",
			b.Balance, b.Held, b.Available, balance, held, balance-held)
	}
	return b
}

func verify(t *testing.T, l *credits.Ledger) {
	t.Helper()
	if err := l.Verify(); err != nil {
		t.Fatalf("ledger does not sum to the balances: %v", err)
	}
}

func settle(t *testing.T, h *credits.Hold, reqID string, charges ...money.Nano) credits.Settled {
	t.Helper()
	st := credits.Settlement{RequestID: reqID, AccessKeyID: "ak_test"}
	for i, c := range charges {
		typ := credits.Usage
		if i > 0 {
			typ = credits.Fee
		}
		st.Charges = append(st.Charges, credits.Charge{Type: typ, Amount: c, ProviderID: "openai", Model: "gpt-4o", Tokens: 10})
	}
	return must(h.Settle(st))(t)
}

func testPurchase(t *testing.T, f Factory) {
	db, _ := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	r := must(l.Purchase("acct_a", 25*money.USD, "", "invoice 1"))(t)
	if r.Replayed || r.Entry.Type != credits.Purchase || r.Entry.Amount != 25*money.USD || r.Entry.BalanceAfter != 25*money.USD ||
		r.Lot.ID == "" || r.Entry.LotID != r.Lot.ID || r.Lot.Remaining != 25*money.USD || !r.Lot.ExpiresAt.Equal(t0.Add(30*24*time.Hour)) {
		t.Fatalf("purchase: %+v", r)
	}
	b := wantBalance(t, l, "acct_a", 25*money.USD, 0)
	if b.NextExpiry == nil || b.NextExpiry.ID != r.Lot.ID || b.NextExpiry.Remaining != 25*money.USD {
		t.Fatalf("next expiry: %+v", b.NextExpiry)
	}
	wantBalance(t, l, "acct_b", 0, 0)
	verify(t, l)
}

func testIdempotentPurchase(t *testing.T, f Factory) {
	db, reopen := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	first := must(l.Purchase("acct_a", 10*money.USD, "order-1", ""))(t)
	again := must(l.Purchase("acct_a", 10*money.USD, "order-1", ""))(t)
	if !again.Replayed || again.Entry.ID != first.Entry.ID || again.Lot.ID != first.Lot.ID {
		t.Fatalf("repeated purchase: %+v, first %+v", again, first)
	}
	if _, err := l.Purchase("acct_a", 20*money.USD, "order-1", ""); !errors.Is(err, credits.ErrIdempotencyConflict) {
		t.Fatalf("same key, other amount: %v", err)
	}
	// the key is the account's: another account may use it
	if r := must(l.Purchase("acct_b", 20*money.USD, "order-1", ""))(t); r.Replayed {
		t.Fatal("another account's key replayed")
	}
	wantBalance(t, l, "acct_a", 10*money.USD, 0)
	l = openLedger(t, reopen(), c)
	if r := must(l.Purchase("acct_a", 10*money.USD, "order-1", ""))(t); !r.Replayed || r.Entry.ID != first.Entry.ID {
		t.Fatalf("after a restart the key bought again: %+v", r)
	}
	wantBalance(t, l, "acct_a", 10*money.USD, 0)
	verify(t, l)
}

func testOldestLotFirst(t *testing.T, f Factory) {
	db, _ := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	lotA := must(l.Purchase("acct", 10*money.USD, "", "a"))(t).Lot
	c.advance(time.Hour)
	lotB := must(l.Purchase("acct", 10*money.USD, "", "b"))(t).Lot
	h := must(l.Reserve("acct", 15*money.USD))(t)
	if s := settle(t, h, "req_1", 15*money.USD); s.Charged != 15*money.USD {
		t.Fatalf("settled %+v", s)
	}
	entries := must(l.Transactions("acct", 1, ""))(t)
	if len(entries) != 1 || entries[0].Type != credits.Usage || len(entries[0].Draws) != 2 ||
		entries[0].Draws[0] != (credits.Draw{LotID: lotA.ID, Amount: 10 * money.USD}) ||
		entries[0].Draws[1] != (credits.Draw{LotID: lotB.ID, Amount: 5 * money.USD}) {
		t.Fatalf("usage drew %+v, want all of %s then 5.00 of %s", entries, lotA.ID, lotB.ID)
	}
	b := wantBalance(t, l, "acct", 5*money.USD, 0)
	if b.NextExpiry == nil || b.NextExpiry.ID != lotB.ID || b.NextExpiry.Remaining != 5*money.USD {
		t.Fatalf("next expiry %+v, want what is left of %s", b.NextExpiry, lotB.ID)
	}
	verify(t, l)
}

// testExpiry: a lot's remainder leaves through its own expiry entry once
// the clock passes its expiry; a lot not yet due stays.
func testExpiry(t *testing.T, f Factory) {
	db, reopen := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	lotA := must(l.Purchase("acct", 10*money.USD, "", "a"))(t).Lot
	h := must(l.Reserve("acct", 3*money.USD))(t)
	settle(t, h, "req_1", 3*money.USD)
	c.advance(10 * 24 * time.Hour)
	lotB := must(l.Purchase("acct", 6*money.USD, "", "b"))(t).Lot
	c.t = lotA.ExpiresAt.Add(-time.Second)
	wantBalance(t, l, "acct", 13*money.USD, 0)
	c.t = lotA.ExpiresAt
	b := wantBalance(t, l, "acct", 6*money.USD, 0)
	if b.NextExpiry == nil || b.NextExpiry.ID != lotB.ID {
		t.Fatalf("next expiry %+v, want %s", b.NextExpiry, lotB.ID)
	}
	e := must(l.Transactions("acct", 1, ""))(t)
	if len(e) != 1 || e[0].Type != credits.Expiry || e[0].Amount != -7*money.USD || e[0].LotID != lotA.ID || e[0].BalanceAfter != 6*money.USD {
		t.Fatalf("expiry entry %+v", e)
	}
	// nothing expires twice, and a restart keeps it
	wantBalance(t, l, "acct", 6*money.USD, 0)
	l = openLedger(t, reopen(), c)
	if err := l.ExpireDue(); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, l, "acct", 6*money.USD, 0)
	c.t = lotB.ExpiresAt
	if err := l.ExpireDue(); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, l, "acct", 0, 0)
	if _, err := l.Reserve("acct", 0); err == nil {
		t.Fatal("an expired account reserved")
	}
	verify(t, l)
}

func testHolds(t *testing.T, f Factory) {
	db, _ := f(t)
	l := openLedger(t, db, &clock{t0})
	must(l.Purchase("acct", 10*money.USD, "", ""))(t)
	h1 := must(l.Reserve("acct", 3*money.USD))(t)
	h2 := must(l.Reserve("acct", 5*money.USD))(t)
	wantBalance(t, l, "acct", 10*money.USD, 8*money.USD)
	if a := l.Available("acct"); a != 2*money.USD {
		t.Fatalf("available %s", a)
	}
	var ie *credits.InsufficientError
	if _, err := l.Reserve("acct", 3*money.USD); !errors.As(err, &ie) || ie.Available != 2*money.USD || ie.Needed != 3*money.USD {
		t.Fatalf("reserving beyond available: %v", err)
	}
	h1.Release()
	h1.Release() // idempotent
	wantBalance(t, l, "acct", 10*money.USD, 5*money.USD)
	settle(t, h2, "req_1", money.USD)
	wantBalance(t, l, "acct", 9*money.USD, 0)
	verify(t, l)
}

// testConcurrentSpend: 200 requests reserve and settle at once against a
// balance that pays for 100; none takes available below zero, exactly the
// balance is spent, and the ledger sums to it.
func testConcurrentSpend(t *testing.T, f Factory) {
	db, reopen := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	must(l.Purchase("acct", 10*money.USD, "", ""))(t)
	const n = 200
	price := money.USD / 10
	var served, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := l.Reserve("acct", price)
			if err != nil {
				var ie *credits.InsufficientError
				if !errors.As(err, &ie) {
					errs <- err
				}
				refused.Add(1)
				return
			}
			if a := l.Available("acct"); a < 0 {
				errs <- fmt.Errorf("available %s below zero", a)
			}
			st, err := h.Settle(credits.Settlement{RequestID: fmt.Sprintf("req_%d", i), AccessKeyID: "ak",
				Charges: []credits.Charge{{Type: credits.Usage, Amount: price * 7 / 10}, {Type: credits.Fee, Amount: price * 3 / 10}}})
			if err != nil || st.Charged != price {
				errs <- fmt.Errorf("settle: %+v %v", st, err)
			}
			served.Add(1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if served.Load() != 100 || refused.Load() != 100 {
		t.Fatalf("served %d, refused %d; want 100 each", served.Load(), refused.Load())
	}
	wantBalance(t, l, "acct", 0, 0)
	verify(t, l)
	l = openLedger(t, reopen(), c)
	wantBalance(t, l, "acct", 0, 0)
	verify(t, l)
	entries := must(l.Entries())(t)
	if len(entries) != 1+2*100 {
		t.Fatalf("%d entries, want the purchase and 200 debits", len(entries))
	}
}

// testChargeCapped: charges beyond the hold are reported as Uncovered and
// not debited.
func testChargeCapped(t *testing.T, f Factory) {
	db, _ := f(t)
	l := openLedger(t, db, &clock{t0})
	must(l.Purchase("acct", 10*money.USD, "", ""))(t)
	h := must(l.Reserve("acct", money.USD))(t)
	s := settle(t, h, "req_1", 800*money.USD/1000, 500*money.USD/1000)
	if s.Charged != money.USD || s.Uncovered != 300*money.USD/1000 {
		t.Fatalf("settled %+v, want 1.00 charged and 0.30 uncovered", s)
	}
	wantBalance(t, l, "acct", 9*money.USD, 0)
	// a hold of everything: the balance reaches zero, never below
	h = must(l.Reserve("acct", 9*money.USD))(t)
	if s := settle(t, h, "req_2", 20*money.USD); s.Charged != 9*money.USD || s.Uncovered != 11*money.USD {
		t.Fatalf("settled %+v", s)
	}
	wantBalance(t, l, "acct", 0, 0)
	verify(t, l)
}

// testSettleOnce: settling a hold twice, or the same request id on
// another hold, charges the request once, in the store and in memory.
func testSettleOnce(t *testing.T, f Factory) {
	db, reopen := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	must(l.Purchase("acct", 10*money.USD, "", ""))(t)
	h := must(l.Reserve("acct", money.USD))(t)
	settle(t, h, "req_1", money.USD)
	if s := settle(t, h, "req_1", money.USD); s.Charged != 0 {
		t.Fatalf("second settle of a hold charged %s", s.Charged)
	}
	wantBalance(t, l, "acct", 9*money.USD, 0)
	h2 := must(l.Reserve("acct", money.USD))(t)
	if s := settle(t, h2, "req_1", money.USD); s.Charged != 0 || s.Journaled {
		t.Fatalf("settling req_1 on a second hold: %+v", s)
	}
	wantBalance(t, l, "acct", 9*money.USD, 0) // in memory too
	l = openLedger(t, reopen(), c)
	wantBalance(t, l, "acct", 9*money.USD, 0)
	n := 0
	for _, e := range must(l.Entries())(t) {
		if e.RequestID == "req_1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("request req_1 has %d entries, want 1", n)
	}
	verify(t, l)
}

// testExtend: a hold grows by what the available balance covers, and a
// settled hold does not grow.
func testExtend(t *testing.T, f Factory) {
	db, _ := f(t)
	l := openLedger(t, db, &clock{t0})
	must(l.Purchase("acct", 10*money.USD, "", ""))(t)
	h := must(l.Reserve("acct", money.USD))(t)
	if err := h.Extend(5 * money.USD); err != nil {
		t.Fatal(err)
	}
	if h.Amount() != 6*money.USD {
		t.Fatalf("hold %s after extending", h.Amount())
	}
	wantBalance(t, l, "acct", 10*money.USD, 6*money.USD)
	var ie *credits.InsufficientError
	if err := h.Extend(5 * money.USD); !errors.As(err, &ie) {
		t.Fatalf("extending beyond available: %v", err)
	}
	if h.Amount() != 6*money.USD {
		t.Fatalf("a refused extension changed the hold to %s", h.Amount())
	}
	if s := settle(t, h, "req_1", 7*money.USD); s.Charged != 6*money.USD || s.Uncovered != money.USD {
		t.Fatalf("settled %+v", s)
	}
	if err := h.Extend(money.USD); err == nil {
		t.Fatal("a settled hold was extended")
	}
	wantBalance(t, l, "acct", 4*money.USD, 0)
	verify(t, l)
}

// testTransactionsPaged: an account's entries, newest first, paged by
// limit and beforeId, none of another account's.
func testTransactionsPaged(t *testing.T, f Factory) {
	db, _ := f(t)
	l := openLedger(t, db, &clock{t0})
	var want []string
	for i := range 5 {
		r := must(l.Purchase("acct", money.Nano(i+5)*money.USD, "", ""))(t)
		want = append([]string{r.Entry.ID}, want...)
		must(l.Purchase("other", 5*money.USD, "", ""))(t)
	}
	var got []string
	before := ""
	for range 3 {
		p := must(l.Transactions("acct", 2, before))(t)
		for _, e := range p {
			if e.AccountID != "acct" {
				t.Fatalf("another account's entry %+v", e)
			}
			got = append(got, e.ID)
		}
		if len(p) == 0 {
			break
		}
		before = p[len(p)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
	if all := must(l.Transactions("acct", 0, ""))(t); len(all) != 5 {
		t.Fatalf("%d entries without a limit", len(all))
	}
}

// testLedgerReopen: balances, lots and entries survive a restart.
func testLedgerReopen(t *testing.T, f Factory) {
	db, reopen := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	lot := must(l.Purchase("acct", 10*money.USD, "", ""))(t).Lot
	h := must(l.Reserve("acct", 2*money.USD))(t)
	settle(t, h, "req_1", money.USD, money.USD/2)
	if _, err := l.Adjust("acct", credits.Refund, money.USD, "outage"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Adjust("acct", credits.Adjustment, -money.USD/4, "correction"); err != nil {
		t.Fatal(err)
	}
	want := must(l.Transactions("acct", 0, ""))(t)
	l = openLedger(t, reopen(), c)
	b := wantBalance(t, l, "acct", 10*money.USD-3*money.USD/2+money.USD-money.USD/4, 0)
	if b.NextExpiry == nil || b.NextExpiry.ID != lot.ID {
		t.Fatalf("next expiry after reopen %+v", b.NextExpiry)
	}
	got := must(l.Transactions("acct", 0, ""))(t)
	if len(got) != len(want) || len(got) != 5 {
		t.Fatalf("%d entries after reopen, %d before", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Amount != want[i].Amount || got[i].BalanceAfter != want[i].BalanceAfter {
			t.Fatalf("entry %d after reopen %+v, before %+v", i, got[i], want[i])
		}
	}
	verify(t, l)
}

// testJournaledEvents: a settlement's usage events commit with it, so they
// are usage events after a restart even when the Writer never got them
// (the process died between the settlement and the Writer's commit), and
// counted once when it did.
func testJournaledEvents(t *testing.T, f Factory) {
	db, reopen := f(t)
	c := &clock{t0}
	l := openLedger(t, db, c)
	must(l.Purchase("acct", 10*money.USD, "", ""))(t)
	events := func(req string) []*store.UsageEvent {
		return []*store.UsageEvent{
			event("ue_"+req+"_1", req, 1, t0.Add(time.Minute), "ak_1", "acct", store.RetryNextBackend),
			event("ue_"+req+"_2", req, 2, t0.Add(2*time.Minute), "ak_1", "acct", store.RetrySucceeded),
		}
	}
	crashed, written := events("req_crash"), events("req_written")
	for _, st := range []credits.Settlement{
		{RequestID: "req_crash", AccessKeyID: "ak_1", Charges: []credits.Charge{{Type: credits.Usage, Amount: money.USD}}, Events: crashed},
		{RequestID: "req_written", AccessKeyID: "ak_1", Charges: []credits.Charge{{Type: credits.Usage, Amount: money.USD}}, Events: written},
	} {
		h := must(l.Reserve("acct", money.USD))(t)
		s := must(h.Settle(st))(t)
		if !s.Journaled {
			t.Fatalf("settlement %s not journaled", st.RequestID)
		}
		// events the engine says it stored in full are there at once:
		// the gateway does not hand them to the usage writer
		if evs, err := db.RequestUsage(ctx, st.RequestID); s.Stored && (err != nil || len(evs) != 2) {
			t.Fatalf("settlement %s reports its events stored, but reads %d (%v)", st.RequestID, len(evs), err)
		}
	}
	// only the second request's events reach the Writer, as on the
	// gateway's path; the first's are only in the journal
	w := store.NewWriter(db, store.WriterOptions{})
	for _, e := range written {
		w.RecordUsage(e)
	}
	w.Close()

	db = reopen()
	for _, req := range []string{"req_crash", "req_written"} {
		evs, err := db.RequestUsage(ctx, req)
		if err != nil || len(evs) != 2 || evs[0].Attempt != 1 || evs[1].Attempt != 2 || evs[1].OutputTokens != 100 {
			t.Fatalf("%s after reopen: %+v %v", req, evs, err)
		}
	}
	list, _ := must2(db.ListUsage(ctx, store.UsageList{
		UsageFilter: store.UsageFilter{From: t0, To: t0.Add(time.Hour)}, IncludeRetries: true}))(t)
	if len(list) != 4 {
		t.Fatalf("%d usage events listed after reopen, want 4", len(list))
	}
	o := must(db.UsageOverview(ctx, store.UsageOverviewQuery{UsageFilter: store.UsageFilter{From: t0, To: t0.Add(time.Hour)}, Bucket: store.BucketHour}))(t)
	if o.Totals.Attempts != 4 || o.Totals.Requests != 2 {
		t.Fatalf("overview after reopen counts %d attempts and %d requests, want 4 and 2", o.Totals.Attempts, o.Totals.Requests)
	}
	l = openLedger(t, db, c)
	wantBalance(t, l, "acct", 8*money.USD, 0)
	verify(t, l)
}
