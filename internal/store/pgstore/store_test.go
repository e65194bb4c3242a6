package pgstore

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var ctx = context.Background()

// open opens url, closed when t ends.
func open(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestConcurrentOpen: nodes starting together on an empty database all
// start, and the migrations are applied once.
func TestConcurrentOpen(t *testing.T) {
	url := testpg.URL(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	dbs := make([]*DB, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(ctx, url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	var applied, maxVersion int
	if err := dbs[0].pool.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_version`).Scan(&applied, &maxVersion); err != nil {
		t.Fatal(err)
	}
	all, _ := migrations()
	if applied != len(all) || maxVersion != SchemaVersion() {
		t.Fatalf("schema_version has %d rows up to %d; want %d up to %d", applied, maxVersion, len(all), SchemaVersion())
	}
}

// TestNewerSchemaRefused: a binary older than the schema does not start,
// and says which versions disagree.
func TestNewerSchemaRefused(t *testing.T) {
	url := testpg.URL(t)
	db := open(t, url)
	newer := SchemaVersion() + 1
	if _, err := db.pool.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, 'from the future')`, newer); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, url)
	if err == nil {
		t.Fatal("opened a database with a newer schema")
	}
	for _, want := range []string{"version " + strconv.Itoa(newer), "version " + strconv.Itoa(SchemaVersion())} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %q", err, want)
		}
	}
	// reopening a database at this binary's version applies nothing
	if _, err := db.pool.Exec(ctx, `DELETE FROM schema_version WHERE version = $1`, newer); err != nil {
		t.Fatal(err)
	}
	open(t, url)
}

// TestWatchChanges: a change committed through one handle reaches a
// watcher on another; a rolled-back one does not.
func TestWatchChanges(t *testing.T) {
	url := testpg.URL(t)
	// pool parameters in the URL are the pool's, not the listener's
	a, b := open(t, url), open(t, withParam(t, url, "pool_max_conns", "2"))
	calls := make(chan struct{}, 16)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.WatchChanges(wctx, func() { calls <- struct{}{} })
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatalf("no call for %s", what)
		}
	}
	wait("the connection") // once after connecting
	boom := errors.New("boom")
	if err := a.UpdateResources(ctx, func(tx manage.ResourceTx) error {
		if err := tx.Put(store.Accounts, "acct_rolled_back", map[string]string{"id": "acct_rolled_back"}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := a.UpdateResources(ctx, func(tx manage.ResourceTx) error {
		return tx.Put(store.Accounts, "acct_1", map[string]string{"id": "acct_1"})
	}); err != nil {
		t.Fatal(err)
	}
	wait("a committed change")
	select {
	case <-calls:
		t.Fatal("more than one call: the rolled-back change was notified")
	case <-time.After(200 * time.Millisecond):
	}

	// a dropped connection: reconnected, with a call after it
	if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	wait("the reconnection")
	if err := a.UpdateResources(ctx, func(tx manage.ResourceTx) error { return tx.Delete(store.Accounts, "acct_1") }); err != nil {
		t.Fatal(err)
	}
	wait("a change after reconnecting")

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("WatchChanges did not return when its context ended")
	}
}

func withParam(t *testing.T, raw, key, val string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, val)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestOpenUnreachable: a server that does not answer is an error naming
// it, without the password.
func TestOpenUnreachable(t *testing.T) {
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := Open(octx, "postgres://gw:hunter2@127.0.0.1:1/gateway?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "connecting to postgres://gw@127.0.0.1:1/gateway") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("opening an unreachable server: %v", err)
	}
}

// TestTokenHashUnique: a token hash belongs to one access key; a key's
// replaced hashes are released.
func TestTokenHashUnique(t *testing.T) {
	db := open(t, testpg.URL(t))
	h1, h2 := strings.Repeat("11", 32), strings.Repeat("22", 32)
	put := func(k *store.AccessKey) error {
		return db.UpdateResources(ctx, func(tx manage.ResourceTx) error { return tx.PutAccessKey(k) })
	}
	k1 := &store.AccessKey{ID: "ak_1", TokenHash: h1}
	if err := put(k1); err != nil {
		t.Fatal(err)
	}
	if err := put(k1); err != nil {
		t.Fatalf("storing a key again: %v", err)
	}
	if err := put(&store.AccessKey{ID: "ak_2", TokenHash: h1}); err == nil || !strings.Contains(err.Error(), "ak_1") {
		t.Fatalf("a second key with ak_1's hash: %v", err)
	}
	// rotated: the old hash stays ak_1's during the grace period
	until := time.Now().Add(time.Hour)
	if err := put(&store.AccessKey{ID: "ak_1", TokenHash: h2, PreviousTokenHash: h1, PreviousValidUntil: &until}); err != nil {
		t.Fatal(err)
	}
	if err := put(&store.AccessKey{ID: "ak_2", TokenHash: h1}); err == nil {
		t.Fatal("ak_2 took ak_1's previous hash")
	}
	// the grace period ended: the old hash is free
	if err := put(&store.AccessKey{ID: "ak_1", TokenHash: h2}); err != nil {
		t.Fatal(err)
	}
	if err := put(&store.AccessKey{ID: "ak_2", TokenHash: h1}); err != nil {
		t.Fatalf("a released hash: %v", err)
	}
	if err := db.UpdateResources(ctx, func(tx manage.ResourceTx) error { return tx.DeleteAccessKey("ak_1") }); err != nil {
		t.Fatal(err)
	}
	if err := put(&store.AccessKey{ID: "ak_3", TokenHash: h2}); err != nil {
		t.Fatalf("the hash of a deleted key: %v", err)
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM access_key_hashes`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d hashes indexed (%v), want 2", n, err)
	}
}

// TestSetMetaIfAbsent: nodes racing to initialise a value agree on one.
func TestSetMetaIfAbsent(t *testing.T) {
	url := testpg.URL(t)
	dbs := []*DB{open(t, url), open(t, url)}
	const n = 16
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := dbs[i%2].SetMetaIfAbsent("check", []byte(fmt.Sprint("value ", i)))
			if err != nil {
				t.Error(err)
			}
			got[i] = string(v)
		}()
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] || v == "" {
			t.Fatalf("nodes disagree: %q", got)
		}
	}
	if v, ok, err := dbs[0].Meta("check"); err != nil || !ok || string(v) != got[0] {
		t.Fatalf("Meta: %q %v %v", v, ok, err)
	}
	if _, ok, err := dbs[0].Meta("missing"); ok || err != nil {
		t.Fatalf("Meta of a missing key: %v %v", ok, err)
	}
}

// TestLedgerAcrossNodes: two handles (two nodes) drawing from one lot at
// once never draw the same money: the account's row lock orders them.
func TestLedgerAcrossNodes(t *testing.T) {
	url := testpg.URL(t)
	nodes := []*DB{open(t, url), open(t, url)}
	lot := &credits.Lot{ID: "lot_1", AccountID: "acct", Amount: 1000, Remaining: 1000}
	if err := nodes[0].UpdateLedger(ctx, func(tx credits.Tx) error {
		if err := tx.PutLot(lot); err != nil {
			return err
		}
		return tx.PutAccount("acct", credits.AccountRecord{Balance: 1000, UpdatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	const per = 40
	var wg sync.WaitGroup
	for i := range 2 * per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := nodes[i%2]
			run := db.UpdateLedger
			if i%4 < 2 {
				run = db.BatchLedger
			}
			err := run(ctx, func(tx credits.Tx) error {
				rec, err := tx.Account("acct")
				if err != nil {
					return err
				}
				lots, err := tx.OpenLots("acct")
				if err != nil {
					return err
				}
				if len(lots) != 1 {
					return fmt.Errorf("%d open lots", len(lots))
				}
				lots[0].Remaining--
				rec.Balance--
				if err := tx.PutLot(lots[0]); err != nil {
					return err
				}
				if err := tx.PutEntry(&credits.Entry{ID: fmt.Sprintf("txn_%03d", i), AccountID: "acct", Amount: -1, BalanceAfter: rec.Balance}); err != nil {
					return err
				}
				return tx.PutAccount("acct", rec)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	err := nodes[1].ViewLedger(ctx, func(tx credits.Tx) error {
		rec, err := tx.Account("acct")
		if err != nil {
			return err
		}
		lots, err := tx.OpenLots("acct")
		if err != nil {
			return err
		}
		if rec.Balance != 1000-2*per || lots[0].Remaining != 1000-2*per {
			t.Fatalf("balance %d, lot %d; want %d", rec.Balance, lots[0].Remaining, 1000-2*per)
		}
		seen := map[money.Nano]bool{}
		return tx.Entries("acct", "", func(e *credits.Entry) bool {
			if seen[e.BalanceAfter] {
				t.Errorf("two entries left the balance at %d", e.BalanceAfter)
			}
			seen[e.BalanceAfter] = true
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSettledOnceAcrossNodes: two nodes settling the same request at once
// both pass Settled; one commits and the other, run again, sees the mark.
func TestSettledOnceAcrossNodes(t *testing.T) {
	url := testpg.URL(t)
	nodes := []*DB{open(t, url), open(t, url)}
	already := errors.New("already settled")
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, db := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = db.UpdateLedger(ctx, func(tx credits.Tx) error {
				if done, err := tx.Settled("req_1"); err != nil || done {
					return cmpOr(err, already)
				}
				time.Sleep(50 * time.Millisecond) // both are past Settled
				if _, err := tx.Account("acct"); err != nil {
					return err
				}
				return tx.MarkSettled("req_1", []string{fmt.Sprint("txn_", i)})
			})
		}()
	}
	close(start)
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, already):
			dup++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || dup != 1 {
		t.Fatalf("errors %v; want one settlement and one already settled", errs)
	}
}

func cmpOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// TestBatchFailsAlone: a failing function of a shared commit fails only
// its caller; the others commit.
func TestBatchFailsAlone(t *testing.T) {
	db := open(t, testpg.URL(t))
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.BatchLedger(ctx, func(tx credits.Tx) error {
				if err := tx.MarkSettled(fmt.Sprint("req_", i), nil); err != nil {
					return err
				}
				if i == 7 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != errors.Is(err, boom) || (i != 7 && err != nil) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	err := db.ViewLedger(ctx, func(tx credits.Tx) error {
		for i := range errs {
			done, err := tx.Settled(fmt.Sprint("req_", i))
			if err != nil {
				return err
			}
			if done != (i != 7) {
				t.Errorf("req_%d settled: %v", i, done)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
