package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// PageSize is the most records an export hands over at once, and so the
// most an import writes in one transaction.
const PageSize = 1000

// Source is the store being moved, read table by table. An export visits
// every record of its table in key order, in pages of at most PageSize;
// fn's error stops it and is returned. The source is not written to
// meanwhile (its gateway is stopped), so the pages add up to the table.
// Its ledger (credits.Store) serves the verification.
type Source interface {
	credits.Store
	// Meta reads a metadata value; ok is false when absent.
	Meta(key string) (val []byte, ok bool, err error)

	// ExportResources visits every management resource (store.Kinds,
	// access keys included), kind by kind.
	ExportResources(ctx context.Context, fn func([]Resource) error) error
	ExportCreditAccounts(ctx context.Context, fn func([]CreditAccount) error) error
	// ExportLots visits every lot, open and exhausted.
	ExportLots(ctx context.Context, fn func([]*credits.Lot) error) error
	ExportEntries(ctx context.Context, fn func([]*credits.Entry) error) error
	ExportIdempotentPurchases(ctx context.Context, fn func([]IdempotentPurchase) error) error
	ExportSettledMarks(ctx context.Context, fn func([]SettledMark) error) error
	// ExportUsage visits every usage event in the order the source keeps
	// them: time order, ties in the order they were stored.
	ExportUsage(ctx context.Context, fn func([]*store.UsageEvent) error) error

	Counter
}

// Target is the store the records move to. Every import is idempotent:
// a record whose key is stored already is replaced (a usage event is
// skipped), so a copy that failed halfway runs again safely. Its ledger
// (credits.Store) serves the verification.
type Target interface {
	credits.Store
	Meta(key string) (val []byte, ok bool, err error)
	// SetMetaIfAbsent stores val under key unless a value exists, and
	// returns the value now stored.
	SetMetaIfAbsent(key string, val []byte) ([]byte, error)

	// ImportResources stores resource documents; access keys with the
	// index of their token hashes (current and previous).
	ImportResources(ctx context.Context, rs []Resource) error
	ImportCreditAccounts(ctx context.Context, as []CreditAccount) error
	ImportLots(ctx context.Context, lots []*credits.Lot) error
	ImportEntries(ctx context.Context, es []*credits.Entry) error
	ImportIdempotentPurchases(ctx context.Context, ps []IdempotentPurchase) error
	ImportSettledMarks(ctx context.Context, ms []SettledMark) error
	// StoreUsage stores usage events in one transaction, skipping ids
	// stored already, in the order given (store.UsageStorer).
	store.UsageStorer

	Counter
}

// Counter counts what a store holds, table by table.
type Counter interface {
	Count(ctx context.Context) (Counts, error)
}

// Resource is one management resource document (JSON).
type Resource struct {
	Kind, ID string
	Doc      []byte
}

// CreditAccount is an account's balance record.
type CreditAccount struct {
	ID string
	credits.AccountRecord
}

// IdempotentPurchase is a purchase made with an idempotency key of an
// account.
type IdempotentPurchase struct {
	AccountID, Key string
	Purchase       *credits.IdempotentPurchase
}

// SettledMark records that a request was charged, by these entries.
type SettledMark struct {
	RequestID string
	EntryIDs  []string
}

// Counts is what a store holds: records per table, and sums of money a
// copy must keep.
type Counts struct {
	Resources map[string]int64 // per kind of store.Kinds, access keys included
	// AccessKeyHashes are the indexed token hashes (current and previous).
	AccessKeyHashes     int64
	CreditAccounts      int64
	Lots, OpenLots      int64 // every lot; those with something remaining
	Entries             int64
	IdempotentPurchases int64
	SettledMarks        int64
	UsageEvents         int64
	// CreditLeases are the leases gateway nodes hold on the store (only
	// a store shared by several nodes has them).
	CreditLeases int64

	Balances      money.Nano // the sum of the account balances
	LotsRemaining money.Nano
	UsageCost     money.Nano
	UsageFees     money.Nano
}

// row is one line of a Counts: a name and its value.
type row struct {
	name  string
	value func(*Counts) int64
	money bool
}

// rows lists what Counts holds, in report order.
func rows() []row {
	var rs []row
	for _, kind := range store.Kinds {
		rs = append(rs, row{name: "resources/" + kind, value: func(c *Counts) int64 { return c.Resources[kind] }})
	}
	return append(rs,
		row{name: "access key token hashes", value: func(c *Counts) int64 { return c.AccessKeyHashes }},
		row{name: "credit accounts", value: func(c *Counts) int64 { return c.CreditAccounts }},
		row{name: "credit lots", value: func(c *Counts) int64 { return c.Lots }},
		row{name: "credit lots open", value: func(c *Counts) int64 { return c.OpenLots }},
		row{name: "ledger entries", value: func(c *Counts) int64 { return c.Entries }},
		row{name: "idempotent purchases", value: func(c *Counts) int64 { return c.IdempotentPurchases }},
		row{name: "settled requests", value: func(c *Counts) int64 { return c.SettledMarks }},
		row{name: "usage events", value: func(c *Counts) int64 { return c.UsageEvents }},
		row{name: "credit leases", value: func(c *Counts) int64 { return c.CreditLeases }},
		row{name: "balances (USD)", value: func(c *Counts) int64 { return int64(c.Balances) }, money: true},
		row{name: "lots remaining (USD)", value: func(c *Counts) int64 { return int64(c.LotsRemaining) }, money: true},
		row{name: "usage cost (USD)", value: func(c *Counts) int64 { return int64(c.UsageCost) }, money: true},
		row{name: "usage fees (USD)", value: func(c *Counts) int64 { return int64(c.UsageFees) }, money: true},
	)
}

func (r row) format(c *Counts) string {
	if r.money {
		return money.Nano(r.value(c)).String()
	}
	return fmt.Sprint(r.value(c))
}

// Empty reports whether the store holds no record at all (metadata
// aside).
func (c *Counts) Empty() bool {
	for _, r := range rows() {
		if !r.money && r.value(c) != 0 {
			return false
		}
	}
	return true
}

// Contents says what a non-empty store holds: "2 resources/accounts,
// 1 credit accounts, …".
func (c *Counts) Contents() string {
	var parts []string
	for _, r := range rows() {
		if n := r.value(c); !r.money && n != 0 && r.name != "credit lots open" {
			parts = append(parts, fmt.Sprintf("%d %s", n, r.name))
		}
	}
	return strings.Join(parts, ", ")
}

// diff lists the lines on which want and got differ.
func diff(want, got *Counts) []string {
	var out []string
	for _, r := range rows() {
		if r.value(want) != r.value(got) {
			out = append(out, fmt.Sprintf("%s: source %s, target %s", r.name, r.format(want), r.format(got)))
		}
	}
	return out
}
