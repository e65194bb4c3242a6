package credits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
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
	now       func() time.Time // lease expiry clock; time.Now if nil
	down      atomic.Bool      // lease calls fail (the store is away)
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
	if m.down.Load() {
		return errors.New("connection refused")
	}
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

func (t *memTx) JournalUsage(events []*store.UsageEvent) (bool, error) {
	for _, e := range events {
		if err := t.put("usage", e.ID, e); err != nil {
			return false, err
		}
	}
	return false, nil
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

// memStore as a Leaser (many nodes): leases are records of the same
// transactional map ("leases/<account>/<node>").

type memLease struct {
	Amount  money.Nano `json:"amount"`
	Expires time.Time  `json:"expires"`
}

func (m *memStore) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

func (m *memStore) LeaseCredits(ctx context.Context, accountID, node string, need, want money.Nano, share int64, ttl time.Duration) (money.Nano, error) {
	if m.down.Load() {
		return 0, errors.New("connection refused")
	}
	var granted money.Nano
	err := m.UpdateLedger(ctx, func(tx Tx) error {
		t := tx.(*memTx)
		rec, _ := t.Account(accountID)
		free := rec.Balance - rec.Leased
		if free < need || free <= 0 {
			return nil
		}
		granted = min(max(need, min(want, free/money.Nano(share))), free)
		rec.Leased += granted
		var l memLease
		_, _ = t.get("leases", accountID+"/"+node, &l)
		l.Amount += granted
		l.Expires = m.clock().Add(ttl)
		if err := t.put("leases", accountID+"/"+node, l); err != nil {
			return err
		}
		return t.PutAccount(accountID, rec)
	})
	return granted, err
}

func (m *memStore) ReturnCredits(ctx context.Context, accountID, node string, amount money.Nano) error {
	if m.down.Load() {
		return errors.New("connection refused")
	}
	return m.UpdateLedger(ctx, func(tx Tx) error {
		t := tx.(*memTx)
		var l memLease
		if ok, _ := t.get("leases", accountID+"/"+node, &l); !ok {
			return nil
		}
		amount = min(amount, l.Amount)
		l.Amount -= amount
		rec, _ := t.Account(accountID)
		rec.Leased -= amount
		if err := t.put("leases", accountID+"/"+node, l); err != nil {
			return err
		}
		return t.PutAccount(accountID, rec)
	})
}

func (m *memStore) RenewLeases(ctx context.Context, node string, ttl time.Duration) error {
	if m.down.Load() {
		return errors.New("connection refused")
	}
	return m.UpdateLedger(ctx, func(tx Tx) error {
		t := tx.(*memTx)
		var err error
		t.each("leases", "", false, func(k string, raw []byte) bool {
			if strings.HasSuffix(k, "/"+node) {
				var l memLease
				_ = json.Unmarshal(raw, &l)
				l.Expires = m.clock().Add(ttl)
				err = t.put("leases", k, l)
			}
			return err == nil
		})
		return err
	})
}

func (m *memStore) ReclaimLeases(ctx context.Context, grace time.Duration) (int, error) {
	if m.down.Load() {
		return 0, errors.New("connection refused")
	}
	n := 0
	err := m.UpdateLedger(ctx, func(tx Tx) error {
		t := tx.(*memTx)
		var expired []string
		t.each("leases", "", false, func(k string, raw []byte) bool {
			var l memLease
			_ = json.Unmarshal(raw, &l)
			if l.Amount > 0 && m.clock().After(l.Expires.Add(grace)) {
				expired = append(expired, k)
			}
			return true
		})
		for _, k := range expired {
			var l memLease
			_, _ = t.get("leases", k, &l)
			acct := k[:strings.LastIndex(k, "/")]
			rec, _ := t.Account(acct)
			rec.Leased -= l.Amount
			if err := t.PutAccount(acct, rec); err != nil {
				return err
			}
			delete(t.data, "leases/"+k)
			n++
		}
		return nil
	})
	return n, err
}

func (t *memTx) SpendLease(accountID, node string, amount money.Nano) error {
	var l memLease
	if ok, _ := t.get("leases", accountID+"/"+node, &l); !ok || l.Amount < amount {
		return fmt.Errorf("node %s spends %s of a lease of %s", node, amount, l.Amount)
	}
	l.Amount -= amount
	rec, _ := t.Account(accountID)
	rec.Leased -= amount
	if err := t.put("leases", accountID+"/"+node, l); err != nil {
		return err
	}
	return t.PutAccount(accountID, rec)
}

// leased returns the store's leased total of an account and the sum of
// its lease records.
func (m *memStore) leased(accountID string) (total, records money.Nano) {
	_ = m.ViewLedger(context.Background(), func(tx Tx) error {
		t := tx.(*memTx)
		rec, _ := t.Account(accountID)
		total = rec.Leased
		t.each("leases", accountID+"/", false, func(_ string, raw []byte) bool {
			var l memLease
			_ = json.Unmarshal(raw, &l)
			records += l.Amount
			return true
		})
		return nil
	})
	return total, records
}

var (
	_ Leaser  = (*memStore)(nil)
	_ LeaseTx = (*memTx)(nil)
)
