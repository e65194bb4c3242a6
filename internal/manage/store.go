package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Store is where the management service keeps the resources and finds the
// usage events. The rules (validation, references, PATCH semantics) live
// in this package; an engine stores JSON documents by kind and id in
// transactions that see a consistent state and commit all or nothing.
// internal/store/boltstore implements it; conformance.Run checks an
// implementation against every behaviour the service relies on.
type Store interface {
	// ViewResources runs fn in a read-only transaction.
	ViewResources(ctx context.Context, fn func(ResourceTx) error) error
	// UpdateResources runs fn in a read-write transaction, committed when
	// fn returns nil and rolled back when it returns an error. Engines
	// shared by several processes serialise these transactions, so a
	// check (a referenced resource exists) and the change it guards
	// commit together.
	UpdateResources(ctx context.Context, fn func(ResourceTx) error) error
	UsageStore
}

// ResourceTx is one transaction of a Store. kind is one of store.Kinds.
type ResourceTx interface {
	// Get decodes the document id of kind into v; store.ErrNotFound when
	// absent.
	Get(kind, id string, v any) error
	Exists(kind, id string) (bool, error)
	// Put stores v (encoded as JSON) as the document id of kind. Access
	// keys are written with PutAccessKey instead.
	Put(kind, id string, v any) error
	// Delete removes a document; store.ErrNotFound when absent.
	Delete(kind, id string) error
	// List visits the documents of kind in id order; fn's error stops it.
	List(kind string, fn func(id string, doc []byte) error) error

	// PutAccessKey inserts or replaces an access key, keeping the index of
	// its token hashes (current and previous) unique.
	PutAccessKey(k *store.AccessKey) error
	DeleteAccessKey(id string) error

	// Ledger is this transaction as the credit ledger sees it, for a
	// change that depends on a balance (deleting an account).
	Ledger() credits.Tx
}

// UsageStore answers the usage queries.
type UsageStore interface {
	// ListUsage returns up to q.Limit events, newest first, and whether
	// more follow; store.ErrUnknownCursor when q.BeforeID names no event.
	ListUsage(ctx context.Context, q store.UsageList) (events []*store.UsageEvent, more bool, err error)
	// Usage returns the events of q in the order they were recorded.
	Usage(ctx context.Context, q store.UsageQuery) ([]*store.UsageEvent, error)
	// UsageOverview sums usage over [From, To) per bucket and group.
	UsageOverview(ctx context.Context, q store.UsageOverviewQuery) (*store.UsageOverview, error)
	// RequestUsage returns a request's attempts in order;
	// store.ErrNotFound when it has none.
	RequestUsage(ctx context.Context, requestID string) ([]*store.UsageEvent, error)
}

// all decodes every document of a kind, in id order.
func all[T any](tx ResourceTx, kind string) ([]*T, error) {
	var out []*T
	err := tx.List(kind, func(id string, doc []byte) error {
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return fmt.Errorf("decoding %s/%s: %w", kind, id, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// touchAccessKeys records last-used times of several access keys in one
// transaction (the gateway batches them instead of writing per request).
func touchAccessKeys(ctx context.Context, db Store, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	return db.UpdateResources(ctx, func(tx ResourceTx) error {
		for id, t := range lastUsed {
			var k store.AccessKey
			if err := tx.Get(store.AccessKeys, id, &k); err == store.ErrNotFound {
				continue // deleted meanwhile
			} else if err != nil {
				return err
			}
			if k.LastUsed != nil && !t.After(*k.LastUsed) {
				continue
			}
			t := t.UTC()
			k.LastUsed = &t
			if err := tx.PutAccessKey(&k); err != nil {
				return err
			}
		}
		return nil
	})
}
