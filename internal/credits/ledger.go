// Package credits keeps prepaid balances exact under concurrency and
// crashes. Amounts are int64 nano-USD. Every ledger entry commits in the
// same store transaction as the balance change it causes, so an account's
// entries always sum to its balance, even after kill -9. Requests reserve
// their worst-case cost as a hold before they start (available = balance
// − holds), so concurrent requests can never spend more than the balance;
// settlement debits the real cost through group commit (Store.BatchLedger)
// and releases the hold. The records live in a Store (store.go), which an
// engine such as internal/store/boltstore implements.
package credits

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// EntryType is the kind of a ledger entry.
type EntryType string

// Entry types.
const (
	Purchase   EntryType = "purchase"
	Usage      EntryType = "usage"
	Fee        EntryType = "fee"
	Expiry     EntryType = "expiry"
	Adjustment EntryType = "adjustment"
	Refund     EntryType = "refund"
)

// Entry is one ledger line. Amount is signed: credits positive, debits
// negative; BalanceAfter is the account's balance once it applied.
type Entry struct {
	ID           string     `json:"id"`
	AccountID    string     `json:"accountId"`
	Type         EntryType  `json:"type"`
	Amount       money.Nano `json:"amount"`
	BalanceAfter money.Nano `json:"balanceAfter"`
	LotID        string     `json:"lotId,omitempty"`
	Draws        []Draw     `json:"draws,omitempty"`
	RequestID    string     `json:"requestId,omitempty"`
	AccessKeyID  string     `json:"accessKeyId,omitempty"`
	ProviderID   string     `json:"providerId,omitempty"`
	Model        string     `json:"model,omitempty"`
	Tokens       int64      `json:"tokens,omitempty"`
	Description  string     `json:"description,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
}

// Draw is the part of a debit taken from one lot.
type Draw struct {
	LotID  string     `json:"lotId"`
	Amount money.Nano `json:"amount"`
}

// Lot is one purchase (or credit) that expires.
type Lot struct {
	ID          string     `json:"id"`
	AccountID   string     `json:"accountId"`
	Amount      money.Nano `json:"amount"`
	Remaining   money.Nano `json:"remaining"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	Description string     `json:"description,omitempty"`
}

// Config are the credit settings; they may change at runtime.
type Config struct {
	MinPurchase money.Nano
	// MaxPurchase caps a purchase, and an adjustment either way; 0: only
	// the int64 range limits them.
	MaxPurchase money.Nano
	Lifetime    time.Duration
	// Thresholds trigger OnLowBalance once per downward crossing.
	Thresholds   []money.Nano
	OnLowBalance func(accountID string, balance, threshold money.Nano)
	// RequireAccount: every purchase and adjustment checks, inside its
	// transaction, that the account's management resource exists
	// (Tx.AccountExists), so a credit cannot land on an account deleted
	// meanwhile.
	RequireAccount bool
}

// Errors.
var (
	ErrBelowMinimum        = errors.New("amount below the minimum purchase")
	ErrAboveMaximum        = errors.New("amount above the maximum purchase")
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different amount")
	// ErrOverflow is a credit or debit whose balance would leave the int64
	// nano-USD range; nothing is written.
	ErrOverflow = errors.New("the balance would overflow")
	// ErrLeased is a debit that would take the balance below what gateway
	// nodes have leased (many nodes); it succeeds once they return it.
	ErrLeased = errors.New("the credits are reserved by requests in flight; retry in a few seconds")
	// ErrUnknownAccount is a credit to an account that does not exist
	// (Config.RequireAccount).
	ErrUnknownAccount = errors.New("no such account")
)

// InsufficientError is a reservation the account cannot cover.
type InsufficientError struct {
	Available, Needed money.Nano
}

func (e *InsufficientError) Error() string {
	if e.Available <= 0 {
		return fmt.Sprintf("insufficient credits: available balance is %s USD", e.Available)
	}
	return fmt.Sprintf("insufficient credits: this request may cost up to %s USD and %s USD is available (lower max_tokens or buy credits)", e.Needed, e.Available)
}

// Ledger is the credit ledger of one store.
type Ledger struct {
	db       Store
	now      func() time.Time
	cfg      atomic.Pointer[Config]
	mu       sync.Mutex
	accounts map[string]*account
	// Settlements counts committed settlements (for measurement).
	Settlements atomic.Int64

	// lease is set when several nodes share the store (lease.go).
	lease     *LeaseConfig
	stop      chan struct{}
	loops     sync.WaitGroup
	closeOnce sync.Once
}

// account is the in-memory, authoritative view of what this node may
// spend: on a single node the committed balance plus settlements on their
// way to disk; on many nodes (lease.go) this node's lease. held is the
// holds of requests in flight.
type account struct {
	mu         sync.Mutex
	balance    money.Nano
	held       money.Nano
	nextExpiry time.Time // zero: no lot left to expire (single node)

	// many nodes
	leaseMu      sync.Mutex // one refill at a time
	leaseExpires time.Time  // zero: no lease yet
	lastUse      time.Time
	unsettled    money.Nano // of the lease, spent by settlements that failed
	uncertain    bool       // a lease call failed: the store may hold more than balance
}

// Open loads the ledger from db.
func Open(db Store, cfg Config, now func() time.Time) (*Ledger, error) {
	if now == nil {
		now = time.Now
	}
	l := &Ledger{db: db, now: now, accounts: map[string]*account{}}
	l.SetConfig(cfg)
	err := db.ViewLedger(context.Background(), func(tx Tx) error {
		if err := tx.Accounts(func(id string, rec AccountRecord) bool {
			l.accounts[id] = &account{balance: rec.Balance}
			return true
		}); err != nil {
			return err
		}
		for id, a := range l.accounts {
			lot, err := nextExpiring(tx, id)
			if err != nil {
				return err
			}
			if lot != nil {
				a.nextExpiry = lot.ExpiresAt
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading credit ledger: %w", err)
	}
	return l, nil
}

// SetConfig replaces the settings. The ledger keeps its own copy of the
// thresholds: the caller's slice is neither sorted nor kept.
func (l *Ledger) SetConfig(c Config) {
	if c.Lifetime <= 0 {
		c.Lifetime = 365 * 24 * time.Hour
	}
	c.Thresholds = slices.Clone(c.Thresholds)
	sort.Slice(c.Thresholds, func(i, j int) bool { return c.Thresholds[i] > c.Thresholds[j] })
	l.cfg.Store(&c)
}

// Config returns the settings.
func (l *Ledger) Config() Config { return *l.cfg.Load() }

func (l *Ledger) account(id string) *account {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[id]
	if a == nil {
		a = &account{}
		l.accounts[id] = a
	}
	return a
}

// Hold is a reservation against an account's balance.
type Hold struct {
	l         *Ledger
	accountID string
	a         *account
	amount    money.Nano
	done      atomic.Bool
}

// Amount is what the hold reserves.
func (h *Hold) Amount() money.Nano { return h.amount }

// Reserve holds amount against the account. It fails when the available
// balance (balance − holds) is not positive or cannot cover amount. A
// zero amount still requires a positive available balance.
func (l *Ledger) Reserve(accountID string, amount money.Nano) (*Hold, error) {
	if amount < 0 {
		amount = 0
	}
	a := l.account(accountID)
	if !l.leased() {
		l.expireIfDue(accountID, a) // many nodes: ExpireDue, in the background
	}
	if err := l.take(accountID, a, amount); err != nil {
		return nil, err
	}
	return &Hold{l: l, accountID: accountID, a: a, amount: amount}, nil
}

// FreeHold is a hold that reserves nothing and settles to the account
// without a balance check (BYOK traffic with no fee may run at zero).
func (l *Ledger) FreeHold(accountID string) *Hold {
	return &Hold{l: l, accountID: accountID, a: l.account(accountID)}
}

// Release gives the hold back without charging (idempotent).
func (h *Hold) Release() {
	if h == nil || !h.done.CompareAndSwap(false, true) {
		return
	}
	h.a.mu.Lock()
	h.a.held -= h.amount
	h.a.mu.Unlock()
}

// Extend reserves amount more on the hold (a stream continued on another
// candidate), failing when the account's available balance cannot cover
// it. A settled hold cannot be extended.
func (h *Hold) Extend(amount money.Nano) error {
	if h == nil || amount <= 0 {
		return nil
	}
	if h.done.Load() {
		return errors.New("the hold is already settled")
	}
	if err := h.l.take(h.accountID, h.a, amount); err != nil {
		return err
	}
	h.a.mu.Lock()
	h.amount += amount
	h.a.mu.Unlock()
	return nil
}

// Charge is one debit of a settlement.
type Charge struct {
	Type        EntryType // Usage or Fee
	Amount      money.Nano
	ProviderID  string
	Model       string
	Tokens      int64
	Description string
}

// AppendAttemptCharges appends what one attempt that used tokens of
// providerID's model costs the caller: its provider cost when it ran on
// the operator's (managed) key, and its fee (processing or BYOK) as an
// entry of its own. An attempt that used no tokens costs nothing.
func AppendAttemptCharges(charges []Charge, providerID, model string, tokens int64, managed bool, cost, fee money.Nano) []Charge {
	if tokens == 0 {
		return charges
	}
	what := "BYOK fee"
	if managed {
		what = "processing fee"
		charges = append(charges, Charge{Type: Usage, Amount: cost, ProviderID: providerID, Model: model, Tokens: tokens,
			Description: fmt.Sprintf("%s:%s, %d tokens", providerID, model, tokens)})
	}
	if fee > 0 {
		charges = append(charges, Charge{Type: Fee, Amount: fee, ProviderID: providerID, Model: model, Tokens: tokens, Description: what})
	}
	return charges
}

// Settlement is what a request settles: its charges, and its usage events,
// which commit in the same transaction as the ledger entries.
type Settlement struct {
	RequestID   string
	AccessKeyID string
	Charges     []Charge
	Events      []*store.UsageEvent
}

// errAlreadySettled rolls back a settlement of a request that is charged
// already.
var errAlreadySettled = errors.New("request already settled")

// Settled is the outcome of a settlement.
type Settled struct {
	// Charged is what was debited: the charges, capped at the hold.
	Charged money.Nano
	// Uncovered is what the charges exceeded the hold by (a provider that
	// reported more than its upper bound); it is not debited.
	Uncovered money.Nano
	// Journaled: the events were journaled in the debit's transaction
	// (Tx.JournalUsage). Unless Stored (the engine stored them in full
	// there), the caller hands them to the usage recorder, which does.
	Journaled, Stored bool
}

// Settle debits the settlement's charges, releases the hold, and returns
// once the debit (and the usage events with it) is durable. A charge never
// exceeds its hold: what goes beyond is reported as Uncovered and not
// debited, so no sequence of requests takes a balance below zero. A
// request is charged at most once: settling the same request id again
// changes nothing.
func (h *Hold) Settle(st Settlement) (Settled, error) {
	var out Settled
	if h == nil || !h.done.CompareAndSwap(false, true) {
		return out, nil
	}
	a := h.a
	a.mu.Lock()
	room := h.amount
	kept := st.Charges[:0:0]
	for _, c := range st.Charges {
		if c.Amount <= 0 {
			continue
		}
		take := min(c.Amount, room)
		out.Uncovered = money.SatAdd(out.Uncovered, c.Amount-take)
		if take <= 0 {
			continue
		}
		room -= take
		c.Amount = take
		out.Charged += take
		kept = append(kept, c)
	}
	total := out.Charged
	a.held -= h.amount
	a.balance -= total // the balance, or on many nodes the lease
	a.mu.Unlock()
	if total == 0 {
		return out, nil
	}
	l := h.l
	now := l.now().UTC()
	// A settlement must commit even when its client went away: it runs
	// on its own context.
	var done committed
	err := l.db.BatchLedger(context.Background(), func(tx Tx) error {
		var err error
		done, err = h.commit(tx, st, kept, total, now)
		return err
	})
	if err != nil {
		a.mu.Lock()
		if l.leased() && !errors.Is(err, errAlreadySettled) {
			// Many nodes, the store away: the request is not charged, but
			// its lease stays spent in memory, so an outage serves at most
			// the leases the nodes hold; the store gets the amount back
			// with the lease (returnIdle).
			a.unsettled = money.SatAdd(a.unsettled, total)
		} else {
			// The debit did not reach the disk: undo it in memory so both
			// agree.
			a.balance += total
		}
		a.mu.Unlock()
		if errors.Is(err, errAlreadySettled) {
			// Another hold of the same request was settled: it is charged
			// once, and this settlement changes nothing.
			return Settled{}, nil
		}
		return Settled{}, fmt.Errorf("settling request %s: %w", st.RequestID, err)
	}
	out.Journaled, out.Stored = true, done.stored
	l.Settlements.Add(1)
	l.crossed(h.accountID, done.before, done.after)
	return out, nil
}

// commit writes a settlement: its entries, the lots they draw, the
// account's balance, its usage events (journaled), and the request's
// settled mark. It may run more than once (a failed shared commit is
// retried one function at a time); the settled mark makes that harmless.
func (h *Hold) commit(tx Tx, st Settlement, kept []Charge, total money.Nano, now time.Time) (out committed, err error) {
	if done, err := tx.Settled(st.RequestID); err != nil || done {
		return out, cmp.Or(err, errAlreadySettled)
	}
	if lc := h.l.lease; lc != nil {
		lt, ok := tx.(LeaseTx)
		if !ok {
			return out, errors.New("the store does not support leases")
		}
		if err := lt.SpendLease(h.accountID, lc.Node, total); err != nil {
			return out, err
		}
	}
	rec, err := tx.Account(h.accountID)
	if err != nil {
		return out, err
	}
	out.before = rec.Balance
	lots, err := tx.OpenLots(h.accountID)
	if err != nil {
		return out, err
	}
	var entryIDs []string
	drawn := 0 // lots[:drawn] changed
	for _, c := range kept {
		e := Entry{ID: ids.New("txn"), AccountID: h.accountID, Type: c.Type, Amount: -c.Amount, RequestID: st.RequestID,
			AccessKeyID: st.AccessKeyID, ProviderID: c.ProviderID, Model: c.Model, Tokens: c.Tokens, Description: c.Description, CreatedAt: now}
		e.Draws = drawLots(lots, c.Amount)
		drawn = max(drawn, lastDrawn(lots, e.Draws))
		rec.Balance -= c.Amount
		e.BalanceAfter = rec.Balance
		if err := tx.PutEntry(&e); err != nil {
			return out, err
		}
		entryIDs = append(entryIDs, e.ID)
	}
	if err := putLots(tx, lots[:drawn]); err != nil {
		return out, err
	}
	rec.UpdatedAt = now
	if err := tx.PutAccount(h.accountID, rec); err != nil {
		return out, err
	}
	if out.stored, err = tx.JournalUsage(st.Events); err != nil {
		return out, fmt.Errorf("journaling usage events: %w", err)
	}
	out.after = rec.Balance
	return out, tx.MarkSettled(st.RequestID, entryIDs)
}

// committed is what a settlement's transaction did: the stored balance
// before and after it, and whether its usage events were stored in full.
type committed struct {
	before, after money.Nano
	stored        bool
}

// crossed reports each threshold the balance went below.
func (l *Ledger) crossed(accountID string, before, after money.Nano) {
	cfg := l.cfg.Load()
	if cfg.OnLowBalance == nil {
		return
	}
	for _, t := range cfg.Thresholds {
		if before >= t && after < t {
			cfg.OnLowBalance(accountID, after, t)
		}
	}
}

// PurchaseResult is a committed purchase.
type PurchaseResult struct {
	Entry    Entry
	Lot      Lot
	Replayed bool // an earlier purchase with the same idempotency key
}

// Purchase adds a lot of amount to the account. With an idempotency key,
// repeating the same purchase returns the first one instead of buying
// twice; the same key with another amount is ErrIdempotencyConflict.
func (l *Ledger) Purchase(accountID string, amount money.Nano, idempotencyKey, description string) (*PurchaseResult, error) {
	cfg := l.cfg.Load()
	if amount < cfg.MinPurchase || amount <= 0 {
		return nil, ErrBelowMinimum
	}
	if cfg.MaxPurchase > 0 && amount > cfg.MaxPurchase {
		return nil, ErrAboveMaximum
	}
	return l.credit(accountID, Purchase, amount, idempotencyKey, description)
}

// Adjust credits (amount > 0, as a new lot) or debits (amount < 0, from
// the oldest lots) an account outside of usage: type Adjustment or
// Refund. Its size is capped by Config.MaxPurchase either way
// (ErrAboveMaximum), and a balance it would take out of the int64 range
// is ErrOverflow.
func (l *Ledger) Adjust(accountID string, typ EntryType, amount money.Nano, description string) (*Entry, error) {
	if typ != Adjustment && typ != Refund {
		return nil, fmt.Errorf("adjustment type must be %s or %s", Adjustment, Refund)
	}
	if amount == 0 {
		return nil, errors.New("amount must not be zero")
	}
	size, ok := money.Neg(amount)
	if !ok {
		return nil, ErrOverflow
	}
	size = max(size, amount)
	if cfg := l.cfg.Load(); cfg.MaxPurchase > 0 && size > cfg.MaxPurchase {
		return nil, ErrAboveMaximum
	}
	if amount > 0 {
		r, err := l.credit(accountID, typ, amount, "", description)
		if err != nil {
			return nil, err
		}
		return &r.Entry, nil
	}
	a := l.account(accountID)
	if err := a.checkCredit(amount); err != nil {
		return nil, err
	}
	cfg := l.cfg.Load()
	now := l.now().UTC()
	var e Entry
	var before, after money.Nano
	err := l.db.UpdateLedger(context.Background(), func(tx Tx) error {
		if err := checkAccount(tx, cfg, accountID); err != nil {
			return err
		}
		rec, err := tx.Account(accountID)
		if err != nil {
			return err
		}
		var ok bool
		before = rec.Balance
		after, ok = money.Add(rec.Balance, amount)
		if !ok {
			return ErrOverflow
		}
		if rec.Leased > 0 && after < rec.Leased {
			return ErrLeased
		}
		lots, err := tx.OpenLots(accountID)
		if err != nil {
			return err
		}
		e = Entry{ID: ids.New("txn"), AccountID: accountID, Type: typ, Amount: amount, Description: description, CreatedAt: now}
		e.Draws = drawLots(lots, -amount)
		rec.Balance = after
		e.BalanceAfter = rec.Balance
		rec.UpdatedAt = now
		if err := tx.PutEntry(&e); err != nil {
			return err
		}
		if err := putLots(tx, lots[:lastDrawn(lots, e.Draws)]); err != nil {
			return err
		}
		return tx.PutAccount(accountID, rec)
	})
	if err != nil {
		return nil, err
	}
	if !l.leased() {
		a.mu.Lock()
		a.balance = money.SatAdd(a.balance, amount)
		a.mu.Unlock()
	}
	l.crossed(accountID, before, after)
	return &e, nil
}

// checkCredit refuses early a change of the in-memory balance that would
// overflow it, or its available part (balance − holds), which Reserve
// computes unchecked (the transaction checks the stored balance again).
func (a *account) checkCredit(amount money.Nano) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	after, ok := money.Add(a.balance, amount)
	if ok {
		_, ok = money.Sub(after, a.held)
	}
	if !ok {
		return ErrOverflow
	}
	return nil
}

func (l *Ledger) credit(accountID string, typ EntryType, amount money.Nano, idempotencyKey, description string) (*PurchaseResult, error) {
	cfg := l.cfg.Load()
	a := l.account(accountID)
	if err := a.checkCredit(amount); err != nil {
		return nil, err
	}
	now := l.now().UTC()
	res := &PurchaseResult{}
	err := l.db.UpdateLedger(context.Background(), func(tx Tx) error {
		if err := checkAccount(tx, cfg, accountID); err != nil {
			return err
		}
		if idempotencyKey != "" {
			prev, err := tx.IdempotentPurchase(accountID, idempotencyKey)
			if err != nil {
				return err
			}
			if prev != nil {
				if prev.Amount != amount {
					return ErrIdempotencyConflict
				}
				res.Entry, res.Lot, res.Replayed = prev.Entry, prev.Lot, true
				return nil
			}
		}
		rec, err := tx.Account(accountID)
		if err != nil {
			return err
		}
		after, ok := money.Add(rec.Balance, amount)
		if !ok {
			return ErrOverflow
		}
		lots, err := tx.OpenLots(accountID)
		if err != nil {
			return err
		}
		// A negative balance (a settlement that cost more than its
		// estimate) is debt the new lot pays first.
		var remaining money.Nano
		for _, lot := range lots {
			remaining = money.SatAdd(remaining, lot.Remaining)
		}
		debt := max(money.SatSub(remaining, rec.Balance), 0)
		lot := Lot{ID: ids.New("lot"), AccountID: accountID, Amount: amount, Remaining: amount - min(amount, debt),
			CreatedAt: now, ExpiresAt: now.Add(cfg.Lifetime), Description: description}
		rec.Balance = after
		rec.UpdatedAt = now
		e := Entry{ID: ids.New("txn"), AccountID: accountID, Type: typ, Amount: amount, BalanceAfter: rec.Balance,
			LotID: lot.ID, Description: description, CreatedAt: now}
		if err := tx.PutLot(&lot); err != nil {
			return err
		}
		if err := tx.PutEntry(&e); err != nil {
			return err
		}
		if err := tx.PutAccount(accountID, rec); err != nil {
			return err
		}
		res.Entry, res.Lot = e, lot
		if idempotencyKey != "" {
			return tx.PutIdempotentPurchase(accountID, idempotencyKey, &IdempotentPurchase{Amount: amount, Entry: e, Lot: lot})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.Replayed || l.leased() {
		return res, nil // on many nodes, the lease is what this node holds
	}
	a.mu.Lock()
	a.balance = money.SatAdd(a.balance, amount)
	if res.Lot.Remaining > 0 && (a.nextExpiry.IsZero() || res.Lot.ExpiresAt.Before(a.nextExpiry)) {
		a.nextExpiry = res.Lot.ExpiresAt
	}
	a.mu.Unlock()
	return res, nil
}

// expireIfDue runs expiry for an account whose oldest lot is due.
func (l *Ledger) expireIfDue(accountID string, a *account) {
	_ = l.expireDue(accountID, a)
}

func (l *Ledger) expireDue(accountID string, a *account) error {
	if l.leased() {
		// other nodes buy and expire too: the store says what is due
		var due bool
		err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
			lot, err := nextExpiring(tx, accountID)
			due = lot != nil && !l.now().Before(lot.ExpiresAt)
			return err
		})
		if err != nil || !due {
			return err
		}
		_, err = l.expire(accountID, a)
		return err
	}
	a.mu.Lock()
	due := !a.nextExpiry.IsZero() && !l.now().Before(a.nextExpiry)
	a.mu.Unlock()
	if !due {
		return nil
	}
	_, err := l.expire(accountID, a)
	return err
}

// ExpireIfDue expires the account's lots that are past their expiry (a
// no-op when none is). It runs its own transaction: call it before, never
// inside, a transaction of the ledger's store.
func (l *Ledger) ExpireIfDue(accountID string) error {
	return l.expireDue(accountID, l.account(accountID))
}

// ExpireDue expires the remainders of every lot past its expiry.
func (l *Ledger) ExpireDue() error {
	var ids []string
	if l.leased() {
		// every account of the store, not only those this node served:
		// one read finds the due ones, and only those are written
		now := l.now()
		err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
			var err error
			walkErr := tx.Accounts(func(id string, rec AccountRecord) bool {
				var lot *Lot
				if lot, err = nextExpiring(tx, id); err != nil {
					return false
				}
				if lot != nil && !now.Before(lot.ExpiresAt) {
					ids = append(ids, id)
				}
				return true
			})
			return cmp.Or(err, walkErr)
		})
		if err != nil {
			return err
		}
		var errs []error
		for _, id := range ids {
			if _, err := l.expire(id, l.account(id)); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	l.mu.Lock()
	ids = make([]string, 0, len(l.accounts))
	for id := range l.accounts {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	var errs []error
	for _, id := range ids {
		a := l.account(id)
		a.mu.Lock()
		due := !a.nextExpiry.IsZero() && !l.now().Before(a.nextExpiry)
		a.mu.Unlock()
		if due {
			if _, err := l.expire(id, a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (l *Ledger) expire(accountID string, a *account) (money.Nano, error) {
	now := l.now().UTC()
	var expired, before money.Nano
	var next time.Time
	var changed []*Lot
	err := l.db.UpdateLedger(context.Background(), func(tx Tx) error {
		expired, next, changed = 0, time.Time{}, nil
		rec, err := tx.Account(accountID)
		if err != nil {
			return err
		}
		before = rec.Balance
		// Credit leased to nodes (many nodes) may be spent any moment:
		// only the rest expires now, the remainder on a later pass.
		free := money.Nano(math.MaxInt64)
		if rec.Leased > 0 {
			free = max(money.SatSub(rec.Balance, rec.Leased), 0)
		}
		lots, err := tx.OpenLots(accountID)
		if err != nil {
			return err
		}
		for _, lot := range lots {
			if lot.ExpiresAt.After(now) {
				if next.IsZero() || lot.ExpiresAt.Before(next) {
					next = lot.ExpiresAt
				}
				continue
			}
			amt := min(lot.Remaining, free-expired)
			if amt <= 0 {
				next = now // still due
				continue
			}
			lot.Remaining -= amt
			changed = append(changed, lot)
			var ok bool
			if expired, ok = money.Add(expired, amt); !ok {
				return ErrOverflow
			}
			if rec.Balance, ok = money.Sub(rec.Balance, amt); !ok {
				return ErrOverflow
			}
			e := Entry{ID: ids.New("txn"), AccountID: accountID, Type: Expiry, Amount: -amt, BalanceAfter: rec.Balance,
				LotID: lot.ID, Description: "credits purchased " + lot.CreatedAt.Format(time.RFC3339) + " expired", CreatedAt: now}
			if err := tx.PutEntry(&e); err != nil {
				return err
			}
		}
		if expired == 0 {
			return nil
		}
		if err := putLots(tx, changed); err != nil {
			return err
		}
		rec.UpdatedAt = now
		return tx.PutAccount(accountID, rec)
	})
	if err != nil {
		return 0, fmt.Errorf("expiring credits of %s: %w", accountID, err)
	}
	a.mu.Lock()
	if !l.leased() {
		a.balance = money.SatSub(a.balance, expired)
	}
	a.nextExpiry = next
	a.mu.Unlock()
	if expired > 0 {
		l.crossed(accountID, before, money.SatSub(before, expired))
	}
	return expired, nil
}

// Balance is an account's money.
type Balance struct {
	AccountID  string
	Balance    money.Nano
	Held       money.Nano
	Available  money.Nano
	NextExpiry *Lot // the lot that expires next, if any
}

// Balance returns the account's balance, holds and next expiring lot.
func (l *Ledger) Balance(accountID string) (Balance, error) {
	a := l.account(accountID)
	l.expireIfDue(accountID, a)
	if l.leased() {
		var b Balance
		err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
			var err error
			b, err = l.BalanceTx(tx, accountID)
			return err
		})
		return b, err
	}
	a.mu.Lock()
	b := Balance{AccountID: accountID, Balance: a.balance, Held: a.held, Available: money.SatSub(a.balance, a.held)}
	a.mu.Unlock()
	err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
		var err error
		b.NextExpiry, err = nextExpiring(tx, accountID)
		return err
	})
	return b, err
}

// BalanceTx is Balance for a caller inside a transaction tx of the
// ledger's store (a management change that depends on the balance). It
// opens no transaction and runs no expiry: a second bbolt transaction
// from inside tx's callback would deadlock. Balance is what tx sees
// stored; settlements on their way to disk count as Held. Lots past
// their expiry still count: run ExpireIfDue before the transaction.
func (l *Ledger) BalanceTx(tx Tx, accountID string) (Balance, error) {
	rec, err := tx.Account(accountID)
	if err != nil {
		return Balance{}, err
	}
	if l.leased() {
		// many nodes: what they leased is held (their holds and the
		// unspent rest of their leases, returned when idle)
		b := Balance{AccountID: accountID, Balance: rec.Balance, Held: rec.Leased, Available: money.SatSub(rec.Balance, rec.Leased)}
		b.NextExpiry, err = nextExpiring(tx, accountID)
		return b, err
	}
	a := l.account(accountID)
	a.mu.Lock()
	// The in-memory balance is the stored one minus settlements in flight.
	inFlight := max(money.SatSub(rec.Balance, a.balance), 0)
	b := Balance{AccountID: accountID, Balance: rec.Balance, Held: money.SatAdd(a.held, inFlight)}
	a.mu.Unlock()
	b.Available = money.SatSub(b.Balance, b.Held)
	b.NextExpiry, err = nextExpiring(tx, accountID)
	return b, err
}

// nextExpiring returns the account's open lot that expires first.
func nextExpiring(tx Tx, accountID string) (*Lot, error) {
	lots, err := tx.OpenLots(accountID)
	var next *Lot
	for _, lot := range lots {
		if lot.Remaining > 0 && (next == nil || lot.ExpiresAt.Before(next.ExpiresAt)) {
			next = lot
		}
	}
	return next, err
}

// Available returns balance − holds without touching the disk. On many
// nodes it is this node's unheld lease when positive, else what the store
// has not leased; when the store cannot be read it answers 1 nano-USD, so
// that the reservation that follows reports the store's trouble.
func (l *Ledger) Available(accountID string) money.Nano {
	a := l.account(accountID)
	if !l.leased() {
		l.expireIfDue(accountID, a)
	}
	a.mu.Lock()
	avail := money.SatSub(a.spendable(l.now()), a.held)
	a.mu.Unlock()
	if avail > 0 || !l.leased() {
		return avail
	}
	var rec AccountRecord
	err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
		var err error
		rec, err = tx.Account(accountID)
		return err
	})
	if err != nil {
		return 1
	}
	return money.SatSub(rec.Balance, rec.Leased)
}

// Transactions lists an account's entries, newest first, after the entry
// beforeID (exclusive) when given.
func (l *Ledger) Transactions(accountID string, limit int, beforeID string) ([]Entry, error) {
	var out []Entry
	err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
		return tx.Entries(accountID, beforeID, func(e *Entry) bool {
			out = append(out, *e)
			return limit <= 0 || len(out) < limit
		})
	})
	return out, err
}

// Entries returns every entry (for audits and tests), account by account
// in entry order.
func (l *Ledger) Entries() ([]Entry, error) {
	var out []Entry
	err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
		return tx.AllEntries(func(e *Entry) bool {
			out = append(out, *e)
			return true
		})
	})
	return out, err
}

// Verify checks, from the store, that every account's entries sum to its
// stored balance. It is the invariant the crash tests check after every
// kill -9.
func (l *Ledger) Verify() error {
	return l.db.ViewLedger(context.Background(), func(tx Tx) error {
		sums := map[string]money.Nano{}
		if err := tx.AllEntries(func(e *Entry) bool {
			sums[e.AccountID] += e.Amount
			return true
		}); err != nil {
			return err
		}
		var errs []error
		seen := map[string]bool{}
		if err := tx.Accounts(func(id string, rec AccountRecord) bool {
			seen[id] = true
			if rec.Balance != sums[id] {
				errs = append(errs, fmt.Errorf("account %s: balance %s but entries sum to %s", id, rec.Balance, sums[id]))
			}
			return true
		}); err != nil {
			return err
		}
		for id, s := range sums {
			if !seen[id] && s != 0 {
				errs = append(errs, fmt.Errorf("account %s: entries sum to %s without a balance", id, s))
			}
		}
		return errors.Join(errs...)
	})
}

// checkAccount refuses a credit to an account that does not exist, when
// the configuration asks for the check.
func checkAccount(tx Tx, cfg *Config, accountID string) error {
	if !cfg.RequireAccount {
		return nil
	}
	ok, err := tx.AccountExists(accountID)
	if err == nil && !ok {
		err = ErrUnknownAccount
	}
	return err
}

// drawLots takes amount from the oldest lots first; what they cannot
// cover becomes debt (the balance goes below the lots' total).
func drawLots(lots []*Lot, amount money.Nano) []Draw {
	var draws []Draw
	for _, lot := range lots {
		if amount <= 0 {
			break
		}
		take := min(lot.Remaining, amount)
		if take <= 0 {
			continue
		}
		lot.Remaining -= take
		amount -= take
		draws = append(draws, Draw{LotID: lot.ID, Amount: take})
	}
	return draws
}

// lastDrawn is how many of lots (oldest first) reach the last lot draws
// took from: the lots a settlement changed are lots[:lastDrawn], and only
// those are written back.
func lastDrawn(lots []*Lot, draws []Draw) int {
	if len(draws) == 0 {
		return 0
	}
	last := draws[len(draws)-1].LotID
	for i, lot := range lots {
		if lot.ID == last {
			return i + 1
		}
	}
	return len(lots)
}

func putLots(tx Tx, lots []*Lot) error {
	for _, lot := range lots {
		if err := tx.PutLot(lot); err != nil {
			return err
		}
	}
	return nil
}

// SpentSince sums, per access key, the usage and fee debits since t (the
// limiter's spendPerDay survives a restart this way). It reads each
// account's entries newest first and stops at t.
func (l *Ledger) SpentSince(t time.Time) (map[string]money.Nano, error) {
	l.mu.Lock()
	accounts := make([]string, 0, len(l.accounts))
	for id := range l.accounts {
		accounts = append(accounts, id)
	}
	l.mu.Unlock()
	out := map[string]money.Nano{}
	err := l.db.ViewLedger(context.Background(), func(tx Tx) error {
		for _, id := range accounts {
			err := tx.Entries(id, "", func(e *Entry) bool {
				if e.CreatedAt.Before(t) {
					return false
				}
				if (e.Type == Usage || e.Type == Fee) && e.AccessKeyID != "" {
					out[e.AccessKeyID] = money.SatSub(out[e.AccessKeyID], e.Amount)
				}
				return true
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
