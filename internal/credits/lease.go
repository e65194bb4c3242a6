package credits

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Many nodes, one balance: leases.
//
// When several gateway nodes share one store, no node can keep an
// account's balance in memory. Each node instead leases a slice of the
// account's balance not yet leased (a row-locked transfer in the store),
// reserves holds against its lease in memory as a single node does
// against the balance, and settles: a settlement debits the balance and
// the node's lease together. So the leases of all nodes never exceed the
// balance, and no request can spend money another node reserved.
//
// A lease is refilled when a hold does not fit (one store round trip for
// many requests: it grants up to leaseChunk holds' worth, at most
// leaseShare of what is not leased, so the last cents are not stranded on
// one node: near the end, leases shrink to single requests), returned
// when the account is idle, and renewed every LeaseTTL/3. A node that dies
// stops renewing: ReclaimLeases, run by every node, returns its leases to
// their accounts once they expired plus a grace period. A node that cannot
// renew (the store is away) stops reserving against its leases when they
// expire locally; requests then fail with ErrStorage.

// Leaser is a Store shared by several nodes.
type Leaser interface {
	Store
	// LeaseCredits moves into node's lease of the account at least need
	// and at most max(need, min(want, unleased/share)) of the balance not
	// leased; it grants 0 when less than need is free. The lease expires
	// ttl from now unless renewed.
	LeaseCredits(ctx context.Context, accountID, node string, need, want money.Nano, share int64, ttl time.Duration) (money.Nano, error)
	// ReturnCredits gives back up to amount of node's lease.
	ReturnCredits(ctx context.Context, accountID, node string, amount money.Nano) error
	// RenewLeases moves the expiry of every lease of node to ttl from now.
	RenewLeases(ctx context.Context, node string, ttl time.Duration) error
	// ReclaimLeases ends the leases that expired more than grace ago and
	// returns their amounts to their accounts; it reports how many ended.
	ReclaimLeases(ctx context.Context, grace time.Duration) (int, error)
}

// LeaseTx is a transaction of a Leaser.
type LeaseTx interface {
	// SpendLease takes amount out of node's lease of the account (a
	// settlement: the balance drops by the same amount in the same
	// transaction). Spending more than the lease holds is an error.
	SpendLease(accountID, node string, amount money.Nano) error
}

// ErrStorage is a reservation the node cannot make because the store is
// unreachable and its lease expired, or the store refused the lease.
var ErrStorage = errors.New("the credit store is unavailable")

// Lease tuning.
const (
	// DefaultLeaseTTL is how long a lease lives without renewal: the time
	// a dead node's unspent credit stays out of reach.
	DefaultLeaseTTL = 15 * time.Second
	// leaseGrace is added to a lease's expiry before another node
	// reclaims it (clock skew between nodes and the store).
	leaseGrace = 5 * time.Second
	// leaseChunk: a refill asks for this many of the hold that needed it.
	leaseChunk = 32
	// leaseShare: a refill takes at most 1/leaseShare of what is free.
	leaseShare = 8
	// leaseIdle: a lease of an account with no hold for this long is
	// returned.
	leaseIdle = 2 * time.Second
)

// LeaseConfig turns on leases for a Ledger over a shared store.
type LeaseConfig struct {
	Store Leaser
	// Node names this process among the nodes (unique, stable for its
	// lifetime).
	Node string
	// TTL is the lease lifetime without renewal; DefaultLeaseTTL if zero.
	TTL    time.Duration
	OnLost func(error) // called when renewing or reclaiming fails
}

// OpenLeased opens a ledger over a store shared by several nodes; Close
// returns its leases.
func OpenLeased(lc LeaseConfig, cfg Config, now func() time.Time) (*Ledger, error) {
	if lc.Node == "" {
		return nil, errors.New("leases need a node name")
	}
	if lc.TTL <= 0 {
		lc.TTL = DefaultLeaseTTL
	}
	if now == nil {
		now = time.Now
	}
	l := &Ledger{db: lc.Store, now: now, accounts: map[string]*account{}, lease: &lc, stop: make(chan struct{})}
	l.SetConfig(cfg)
	l.loops.Add(1)
	go l.leaseLoop()
	return l, nil
}

// leased reports whether the ledger runs on leases.
func (l *Ledger) leased() bool { return l.lease != nil }

// take reserves amount on a (a hold or its extension): against the
// balance on one node, against the lease (refilled when short) on many.
func (l *Ledger) take(accountID string, a *account, amount money.Nano) error {
	for attempt := 0; ; attempt++ {
		a.mu.Lock()
		avail := money.SatSub(a.spendable(l.now()), a.held)
		if avail > 0 && amount <= avail {
			a.held += amount
			a.lastUse = l.now()
			a.mu.Unlock()
			return nil
		}
		a.mu.Unlock()
		// On many nodes, refill and try again; a refill that finds the
		// lease covered (another hold's refill) returns at once, and one
		// that finds nothing free ends the loop.
		if !l.leased() || attempt == maxRefills {
			return &InsufficientError{Available: max(avail, 0), Needed: amount}
		}
		if err := l.refill(accountID, a, amount); err != nil {
			return err
		}
	}
}

// maxRefills bounds the refills of one reservation (each either grants
// credit or finds another hold's refill did).
const maxRefills = 64

// spendable is the balance holds may take: the balance on one node; the
// lease on many, while it is valid. a.mu is held.
func (a *account) spendable(now time.Time) money.Nano {
	if a.leaseExpires.IsZero() || now.Before(a.leaseExpires) {
		return a.balance
	}
	return 0
}

// refill leases enough for a hold of amount, and more for the next ones.
func (l *Ledger) refill(accountID string, a *account, amount money.Nano) error {
	a.leaseMu.Lock() // one refill per account at a time
	defer a.leaseMu.Unlock()
	now := l.now()
	a.mu.Lock()
	avail := money.SatSub(a.spendable(now), a.held)
	expired := !a.leaseExpires.IsZero() && !now.Before(a.leaseExpires)
	a.mu.Unlock()
	if avail > 0 && amount <= avail {
		return nil // another refill covered it meanwhile
	}
	need := max(money.SatSub(amount, max(avail, 0)), 1)
	if expired {
		// the lease outlived its renewal: it may be reclaimed any time, so
		// nothing of it counts; lease the whole amount again
		need = max(amount, 1)
	}
	want := money.SatMul(max(amount, 1), leaseChunk)
	ctx, cancel := context.WithTimeout(context.Background(), l.lease.TTL/3)
	defer cancel()
	granted, err := l.lease.Store.LeaseCredits(ctx, accountID, l.lease.Node, need, want, leaseShare, l.lease.TTL)
	if err != nil {
		// the lease may have committed anyway (the answer was lost): the
		// next idle return gives back whatever the store holds for us
		a.mu.Lock()
		a.uncertain = true
		a.mu.Unlock()
		return fmt.Errorf("%w: leasing credits of %s: %v", ErrStorage, accountID, err)
	}
	if granted <= 0 {
		return &InsufficientError{Available: max(avail, 0), Needed: amount}
	}
	a.mu.Lock()
	if expired {
		a.balance = 0 // what the old lease held is the store's again
	}
	a.balance = money.SatAdd(a.balance, granted)
	a.leaseExpires = now.Add(l.lease.TTL)
	a.mu.Unlock()
	return nil
}

// leaseLoop renews this node's leases, returns idle ones and reclaims
// those of nodes that died, until Close.
func (l *Ledger) leaseLoop() {
	defer l.loops.Done()
	t := time.NewTicker(l.lease.TTL / 3)
	defer t.Stop()
	idle := time.NewTicker(leaseIdle / 2)
	defer idle.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-idle.C:
			l.returnIdle(false)
		case <-t.C:
			l.renew()
		}
	}
}

func (l *Ledger) lost(err error) {
	if l.lease.OnLost != nil {
		l.lease.OnLost(err)
	}
}

// renew extends this node's leases and ends those of dead nodes.
func (l *Ledger) renew() {
	ctx, cancel := context.WithTimeout(context.Background(), l.lease.TTL/3)
	defer cancel()
	now := l.now()
	if err := l.lease.Store.RenewLeases(ctx, l.lease.Node, l.lease.TTL); err != nil {
		l.lost(fmt.Errorf("renewing credit leases: %w", err))
	} else {
		l.mu.Lock()
		for _, a := range l.accounts {
			a.mu.Lock()
			if !a.leaseExpires.IsZero() && now.Before(a.leaseExpires) {
				a.leaseExpires = now.Add(l.lease.TTL)
			}
			a.mu.Unlock()
		}
		l.mu.Unlock()
	}
	if _, err := l.lease.Store.ReclaimLeases(ctx, leaseGrace); err != nil {
		l.lost(fmt.Errorf("reclaiming expired credit leases: %w", err))
	}
}

// returnIdle gives back the unheld part of leases of accounts without a
// hold for leaseIdle (all of them with all=true, at Close).
func (l *Ledger) returnIdle(all bool) {
	now := l.now()
	type back struct {
		id                string
		a                 *account
		amount, unsettled money.Nano
	}
	var backs []back
	l.mu.Lock()
	for id, a := range l.accounts {
		a.mu.Lock()
		if (a.balance > 0 || a.unsettled > 0 || a.uncertain) && a.held == 0 && (all || now.Sub(a.lastUse) >= leaseIdle) {
			backs = append(backs, back{id, a, a.balance, a.unsettled})
			a.balance, a.unsettled, a.uncertain = 0, 0, false // no hold may take it while it goes back
		}
		a.mu.Unlock()
	}
	l.mu.Unlock()
	for _, b := range backs {
		ctx, cancel := context.WithTimeout(context.Background(), l.lease.TTL/3)
		// Without holds, all the store holds for this node is unspent: give
		// it all back, whatever this node knows of it (a lease whose answer
		// was lost, settlements that could not commit).
		err := l.lease.Store.ReturnCredits(ctx, b.id, l.lease.Node, math.MaxInt64)
		cancel()
		if err != nil {
			// still leased in the store: keep using it (or let it expire)
			b.a.mu.Lock()
			b.a.balance = money.SatAdd(b.a.balance, b.amount)
			b.a.unsettled = money.SatAdd(b.a.unsettled, b.unsettled)
			b.a.uncertain = true
			b.a.mu.Unlock()
			l.lost(fmt.Errorf("returning credit leases: %w", err))
		}
	}
}

// Close stops a leased ledger's background work and returns its leases;
// a single-node ledger has nothing to close.
func (l *Ledger) Close() {
	if !l.leased() {
		return
	}
	l.closeOnce.Do(func() {
		close(l.stop)
		l.loops.Wait()
		l.returnIdle(true)
	})
}
