package credits

import (
	"context"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Store is where a Ledger keeps its records. The ledger's rules (holds,
// lots drawn oldest first, expiry, idempotent purchases, a request charged
// once) live in this package; an engine only stores records, and gives
// each transaction a consistent view: a Tx sees every record as of its
// start plus its own writes, and commits all of them or none. An engine
// shared by several processes must also serialise transactions that
// change the same account (a row lock on the account record), so two
// settlements never draw the same lot.
//
// internal/store/boltstore implements it; conformance.Run checks an
// implementation against every behaviour the ledger relies on.
type Store interface {
	// ViewLedger runs fn in a read-only transaction.
	ViewLedger(ctx context.Context, fn func(Tx) error) error
	// UpdateLedger runs fn in a read-write transaction, committed when fn
	// returns nil and rolled back when it returns an error.
	UpdateLedger(ctx context.Context, fn func(Tx) error) error
	// BatchLedger is UpdateLedger that may share one commit (and its
	// fsync) with concurrent calls. fn may run more than once when a
	// shared commit fails, so it must depend only on the transaction.
	BatchLedger(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction of a Store. Records it returns are the caller's
// to change; nothing is stored until a Put.
type Tx interface {
	// Account returns an account's balance record; the zero record when
	// the ledger never wrote one.
	Account(accountID string) (AccountRecord, error)
	// PutAccount stores rec's Balance and UpdatedAt. Leased changes only
	// through a Leaser's lease operations (an engine may ignore it here).
	PutAccount(accountID string, rec AccountRecord) error
	// Accounts visits every account record, in id order; fn returns false
	// to stop.
	Accounts(fn func(accountID string, rec AccountRecord) bool) error
	// AccountExists reports whether the management resource of the
	// account exists (see Config.RequireAccount).
	AccountExists(accountID string) (bool, error)

	// OpenLots returns the account's lots with something remaining,
	// oldest first (lot ids are time-ordered).
	OpenLots(accountID string) ([]*Lot, error)
	// PutLot stores a lot, new or changed.
	PutLot(lot *Lot) error

	// PutEntry appends a ledger entry.
	PutEntry(e *Entry) error
	// Entries visits an account's entries newest first, starting after
	// the entry beforeID when it is not empty; fn returns false to stop.
	Entries(accountID, beforeID string, fn func(*Entry) bool) error
	// AllEntries visits every entry, account by account in id order and
	// each account's oldest first; fn returns false to stop.
	AllEntries(fn func(*Entry) bool) error

	// IdempotentPurchase returns the purchase made with an idempotency
	// key of the account, or nil.
	IdempotentPurchase(accountID, key string) (*IdempotentPurchase, error)
	PutIdempotentPurchase(accountID, key string, p *IdempotentPurchase) error

	// Settled reports whether a request was charged already.
	Settled(requestID string) (bool, error)
	// MarkSettled records that a request was charged, by these entries.
	MarkSettled(requestID string, entryIDs []string) error

	// JournalUsage stores usage events with the settlement that charged
	// them, so a committed charge always has its events: in full
	// (stored), or journaled for the usage recorder, which then stores
	// them in full (store.UsageEvent ids are unique).
	JournalUsage(events []*store.UsageEvent) (stored bool, err error)
}

// AccountRecord is an account's stored balance: always the sum of its
// ledger entries.
type AccountRecord struct {
	Balance   money.Nano `json:"balance"`
	UpdatedAt time.Time  `json:"updatedAt"`
	// Leased is the part of Balance leased to gateway nodes (a Leaser's
	// stores keep it; a single node's is always zero).
	Leased money.Nano `json:"leased,omitempty"`
}

// IdempotentPurchase is a purchase made with an idempotency key: the
// amount it was for and what it wrote, returned again when the same key
// is used again.
type IdempotentPurchase struct {
	Amount money.Nano `json:"amount"`
	Entry  Entry      `json:"entry"`
	Lot    Lot        `json:"lot"`
}
