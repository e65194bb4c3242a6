package credits

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// memStore is an in-memory Store for the ledger's unit tests: records are
// JSON in sorted maps, a write transaction works on a copy that replaces
// the state when it commits (nothing of a failed one is kept), and one
// lock serialises writers, so a transaction opened inside another
// deadlocks the way it would on bbolt. The engines themselves are checked
// by internal/conformance.
type memStore struct {
	mu       sync.RWMutex
	data     map[string][]byte // "table/key" → JSON
	accounts map[string]bool   // management accounts (AccountExists)
	// lotWrites counts PutLot calls of committed transactions.
	lotWrites int
}

func newMemStore() *memStore {
	return &memStore{data: map[string][]byte{}, accounts: map[string]bool{}}
}

func (m *memStore) ViewLedger(_ context.Context, fn func(Tx) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return fn(&memTx{m: m, data: m.data, readOnly: true})
}

func (m *memStore) UpdateLedger(_ context.Context, fn func(Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{m: m, data: maps.Clone(m.data)}
	if err := fn(tx); err != nil {
		return err
	}
	m.data = tx.data
	m.lotWrites += tx.lotWrites
	return nil
}

func (m *memStore) BatchLedger(ctx context.Context, fn func(Tx) error) error {
	return m.UpdateLedger(ctx, fn)
}

type memTx struct {
	m         *memStore
	data      map[string][]byte
	readOnly  bool
	lotWrites int
}

func (t *memTx) get(table, key string, v any) (bool, error) {
	raw, ok := t.data[table+"/"+key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func (t *memTx) put(table, key string, v any) error {
	if t.readOnly {
		panic("write in a read-only transaction")
	}
	raw, err := json.Marshal(v)
	t.data[table+"/"+key] = raw
	return err
}

// each visits the records whose key starts with prefix, in key order.
func (t *memTx) each(table, prefix string, reverse bool, fn func(key string, raw []byte) bool) {
	var keys []string
	for k := range t.data {
		if strings.HasPrefix(k, table+"/"+prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	for _, k := range keys {
		if !fn(strings.TrimPrefix(k, table+"/"), t.data[k]) {
			return
		}
	}
}

func (t *memTx) Account(id string) (AccountRecord, error) {
	var rec AccountRecord
	_, err := t.get("accounts", id, &rec)
	return rec, err
}

func (t *memTx) PutAccount(id string, rec AccountRecord) error { return t.put("accounts", id, rec) }

func (t *memTx) Accounts(fn func(string, AccountRecord) bool) error {
	var err error
	t.each("accounts", "", false, func(k string, raw []byte) bool {
		var rec AccountRecord
		if err = json.Unmarshal(raw, &rec); err != nil {
			return false
		}
		return fn(k, rec)
	})
	return err
}

func (t *memTx) AccountExists(id string) (bool, error) { return t.m.accounts[id], nil }

func (t *memTx) OpenLots(accountID string) ([]*Lot, error) {
	var out []*Lot
	var err error
	t.each("lots", accountID+"/", false, func(_ string, raw []byte) bool {
		lot := new(Lot)
		if err = json.Unmarshal(raw, lot); err != nil {
			return false
		}
		if lot.Remaining > 0 {
			out = append(out, lot)
		}
		return true
	})
	return out, err
}

func (t *memTx) PutLot(lot *Lot) error {
	t.lotWrites++
	return t.put("lots", lot.AccountID+"/"+lot.ID, lot)
}

func (t *memTx) PutEntry(e *Entry) error { return t.put("ledger", e.AccountID+"/"+e.ID, e) }

func (t *memTx) Entries(accountID, beforeID string, fn func(*Entry) bool) error {
	var err error
	t.each("ledger", accountID+"/", true, func(k string, raw []byte) bool {
		if beforeID != "" && k >= accountID+"/"+beforeID {
			return true
		}
		e := new(Entry)
		if err = json.Unmarshal(raw, e); err != nil {
			return false
		}
		return fn(e)
	})
	return err
}

func (t *memTx) AllEntries(fn func(*Entry) bool) error {
	var err error
	t.each("ledger", "", false, func(_ string, raw []byte) bool {
		e := new(Entry)
		if err = json.Unmarshal(raw, e); err != nil {
			return false
		}
		return fn(e)
	})
	return err
}

func (t *memTx) IdempotentPurchase(accountID, key string) (*IdempotentPurchase, error) {
	p := new(IdempotentPurchase)
	if ok, err := t.get("idem", accountID+"/"+key, p); !ok || err != nil {
		return nil, err
	}
	return p, nil
}

func (t *memTx) PutIdempotentPurchase(accountID, key string, p *IdempotentPurchase) error {
	return t.put("idem", accountID+"/"+key, p)
}

func (t *memTx) Settled(requestID string) (bool, error) {
	_, ok := t.data["settled/"+requestID]
	return ok, nil
}

func (t *memTx) MarkSettled(requestID string, entryIDs []string) error {
	return t.put("settled", requestID, entryIDs)
}

func (t *memTx) JournalUsage(events []*store.UsageEvent) error {
	for _, e := range events {
		if err := t.put("usage", e.ID, e); err != nil {
			return err
		}
	}
	return nil
}

// lots counts an account's stored lots, open or not.
func (m *memStore) lots(accountID string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for k := range m.data {
		if strings.HasPrefix(k, "lots/"+accountID+"/") {
			n++
		}
	}
	return n
}

// journaled returns the usage events journaled with settlements.
func (m *memStore) journaled() []*store.UsageEvent {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*store.UsageEvent
	for k, raw := range m.data {
		if strings.HasPrefix(k, "usage/") {
			e := new(store.UsageEvent)
			if json.Unmarshal(raw, e) == nil {
				out = append(out, e)
			}
		}
	}
	return out
}
