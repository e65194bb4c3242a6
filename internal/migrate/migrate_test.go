package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/migrate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/pgstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var ctx = context.Background()

// env is the smallest configuration a management service serves.
type env struct{}

func (env) ConfiguredProvider(id string) bool                     { return id == "openai" || id == "anthropic" }
func (env) Provider(_ *manage.Snapshot, id string) bool           { return id == "openai" || id == "anthropic" }
func (env) CatalogModel(string) bool                              { return true }
func (env) PurchaseLimits(*manage.Snapshot) (min, max money.Nano) { return money.USD, 0 }
func (env) GatewayConfigChanged()                                 {}

// clock is the ledger's time, kept to the microsecond (PostgreSQL's
// timestamps) so records compare equal on both engines.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

const providerKeyValue = "sk-migrate-test-0123456789abcdef"

// fixture is what fill put in a bbolt file.
type fixture struct {
	path          string
	key           secrets.Key
	account       string
	token         string // an access key's token
	oldToken      string // a rotated key's previous token, valid for an hour
	providerKeyID string
	requestID     string // a settled request with two attempts
	from, to      time.Time
}

func patch(t *testing.T, body string) manage.Patch {
	t.Helper()
	p, err := manage.ParsePatch([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// fill writes a gateway's state into a new bbolt file through the real
// APIs: resources through the management service (an account, two access
// keys, one rotated, a provider key), credits through the ledger (an
// idempotent purchase, an expired lot, settlements with their usage
// events) and more usage events through a usage Writer.
func fill(t *testing.T) fixture {
	t.Helper()
	f := fixture{path: filepath.Join(t.TempDir(), "gateway.db"), key: secrets.NewKey()}
	db, err := boltstore.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := f.key.Verify(func(check []byte) ([]byte, error) { return db.SetMetaIfAbsent(migrate.SecretCheckMeta, check) }); err != nil {
		t.Fatal(err)
	}
	st := must[*manage.State](t)(manage.Open(db, f.key, zap.NewNop()))
	clk := &clock{t: time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour)}
	f.from = clk.t.Add(-time.Hour)
	ledger := must[*credits.Ledger](t)(credits.Open(db, credits.Config{Lifetime: time.Hour}, clk.now))
	svc := manage.NewService(st, ledger, env{})

	f.account = must[*manage.Account](t)(svc.CreateAccount(patch(t, `{"name":"team"}`))).ID
	k, token, err := svc.CreateAccessKey(patch(t, `{"name":"ci","accountId":"`+f.account+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	f.token = token
	k2, oldToken, err := svc.CreateAccessKey(patch(t, `{"name":"rotated"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RotateAccessKey(k2.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.oldToken = oldToken
	f.providerKeyID = must[*manage.ProviderKey](t)(svc.CreateProviderKey(patch(t,
		`{"providerId":"openai","name":"main","value":"`+providerKeyValue+`"}`))).ID

	// a lot that expires: bought now, expired two hours later
	if _, err := ledger.Purchase(f.account, 3*money.USD, "", "trial"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(2 * time.Hour)
	if err := ledger.ExpireDue(); err != nil {
		t.Fatal(err)
	}
	ledger.SetConfig(credits.Config{})
	for range 2 { // the second is a replay
		if _, err := svc.Purchase(patch(t, `{"accountId":"`+f.account+`","amount":"20"}`), "order-7/a"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ledger.Purchase(manage.DefaultAccountID, 10*money.USD, "", ""); err != nil {
		t.Fatal(err)
	}

	w := store.NewWriter(db, store.WriterOptions{OnError: func(err error, lost int) { t.Errorf("storing %d usage events: %v", lost, err) }})
	event := func(req string, attempt int, ts time.Time, model, action string, cost money.Nano) *store.UsageEvent {
		return &store.UsageEvent{ID: fmt.Sprintf("ue_%s_%d", req, attempt), RequestID: req, Attempt: attempt, Timestamp: ts,
			AccessKeyID: k.ID, AccountID: f.account, ProviderID: "openai", Model: model, Endpoint: "chat", KeySource: "managed",
			Status: 200, InputTokens: 100, OutputTokens: 50, Cost: cost, Fee: cost / 10, ProviderKeyID: f.providerKeyID,
			LatencyMs: 120, RetryAction: action}
	}
	for i := range 40 {
		clk.t = clk.t.Add(97 * time.Second)
		req := fmt.Sprintf("req_%03d", i)
		events := []*store.UsageEvent{event(req, 1, clk.t, "gpt-4o", store.RetrySucceeded, money.USD/50)}
		if i%5 == 0 { // a retried request: the first attempt failed on the same timestamp
			events[0].Attempt, events[0].ID = 2, "ue_"+req+"_2"
			first := event(req, 1, clk.t, "gpt-4o-mini", store.RetryNextBackend, 0)
			first.Status, first.Error = 429, "rate limited"
			events = append([]*store.UsageEvent{first}, events...)
			f.requestID = req
		}
		h, err := ledger.Reserve(f.account, money.USD)
		if err != nil {
			t.Fatal(err)
		}
		var charges []credits.Charge
		charges = credits.AppendAttemptCharges(charges, "openai", "gpt-4o", 150, true, money.USD/50, money.USD/500)
		if _, err := h.Settle(credits.Settlement{RequestID: req, AccessKeyID: k.ID, Charges: charges, Events: events}); err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			w.RecordUsage(e)
		}
	}
	// attempts that were not charged (a user's own key), over two models
	for i := range 2500 {
		e := event(fmt.Sprintf("byok_%04d", i), 1, clk.t.Add(time.Duration(i)*time.Second), []string{"gpt-4o", "o3"}[i%2], store.RetrySucceeded, 0)
		e.KeySource, e.ProviderKeyID = "user", ""
		w.RecordUsage(e)
	}
	w.Close()
	f.to = clk.t.Add(3 * time.Hour)
	if err := ledger.Verify(); err != nil {
		t.Fatal(err)
	}
	return f
}

func openPG(t *testing.T, url string) *pgstore.DB {
	t.Helper()
	db, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openBolt(t *testing.T, path string) *boltstore.DB {
	t.Helper()
	db, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrate(t *testing.T) {
	f := fill(t)
	src := openBolt(t, f.path)
	url := testpg.URL(t)
	dst := openPG(t, url)

	rep, err := migrate.Run(ctx, src, dst, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.Write(&out, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", out.String())
	if !reflect.DeepEqual(rep.Source, rep.Target) {
		t.Fatalf("counts differ:\nsource %+v\ntarget %+v", rep.Source, rep.Target)
	}
	c := rep.Target
	for what, got := range map[string]int64{
		"access keys": c.Resources[store.AccessKeys], "token hashes": c.AccessKeyHashes, "provider keys": c.Resources[store.ProviderKeys],
		"accounts": c.Resources[store.Accounts], "credit accounts": c.CreditAccounts, "lots": c.Lots, "open lots": c.OpenLots,
		"idempotent purchases": c.IdempotentPurchases, "settled": c.SettledMarks, "usage events": c.UsageEvents,
	} {
		want := map[string]int64{"access keys": 2, "token hashes": 3, "provider keys": 1, "accounts": 2, "credit accounts": 2,
			"lots": 3, "open lots": 2, "idempotent purchases": 1, "settled": 40, "usage events": 2548}[what]
		if got != want {
			t.Errorf("%s: %d copied, want %d", what, got, want)
		}
	}
	if rep.SecretCheck != "copied" {
		t.Errorf("secret check %q, want copied", rep.SecretCheck)
	}

	// the target serves as the gateway would open it: access keys
	// authenticate by their token's hash, the provider key unseals
	st := must[*manage.State](t)(manage.Open(dst, f.key, zap.NewNop()))
	now := time.Now()
	if k := st.LookupKey(secrets.HashToken(f.token), now); k == nil || k.AccountID != f.account {
		t.Errorf("the access key's token does not authenticate on the target: %+v", k)
	}
	if k := st.LookupKey(secrets.HashToken(f.oldToken), now); k == nil {
		t.Error("the rotated key's previous token does not authenticate during its grace period")
	}
	if pk := st.Snapshot().ProviderKeys[f.providerKeyID]; pk == nil || pk.Value() != providerKeyValue {
		t.Errorf("the provider key does not unseal on the target: %+v", pk)
	}
	if _, err := manage.Open(dst, secrets.NewKey(), zap.NewNop()); err == nil {
		t.Error("the target's provider keys open with another key")
	}

	// the ledger: entries, balances and open lots equal; Verify passes
	sl := must[*credits.Ledger](t)(credits.Open(src, credits.Config{}, nil))
	tl := must[*credits.Ledger](t)(credits.Open(dst, credits.Config{}, nil))
	if err := tl.Verify(); err != nil {
		t.Fatal(err)
	}
	se, te := must[[]credits.Entry](t)(sl.Entries()), must[[]credits.Entry](t)(tl.Entries())
	if len(se) != 2+1+1+40*2 || !reflect.DeepEqual(se, te) {
		t.Errorf("entries differ: %d on the source, %d on the target", len(se), len(te))
	}
	for _, id := range []string{f.account, manage.DefaultAccountID} {
		sb, tb := must[credits.Balance](t)(sl.Balance(id)), must[credits.Balance](t)(tl.Balance(id))
		if !reflect.DeepEqual(sb, tb) {
			t.Errorf("account %s: balance %+v on the source, %+v on the target", id, sb, tb)
		}
		if !reflect.DeepEqual(openLots(t, src, id), openLots(t, dst, id)) {
			t.Errorf("account %s: open lots differ", id)
		}
	}
	var replay *credits.IdempotentPurchase
	if err := dst.ViewLedger(ctx, func(tx credits.Tx) (err error) {
		replay, err = tx.IdempotentPurchase(f.account, "order-7/a")
		return err
	}); err != nil || replay == nil || replay.Amount != 20*money.USD {
		t.Errorf("the idempotent purchase is not on the target: %+v, %v", replay, err)
	}

	sameUsage(t, f, src, dst)

	// a second run is refused (the target is not empty), and with Force
	// it copies nothing twice
	_, err = migrate.Run(ctx, src, dst, migrate.Options{})
	var nee *migrate.NotEmptyError
	if !errors.As(err, &nee) || !strings.Contains(err.Error(), "2548 usage events") {
		t.Fatalf("second run: %v, want a NotEmptyError naming what the target holds", err)
	}
	rep2, err := migrate.Run(ctx, src, dst, migrate.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep2.Target, rep.Target) || rep2.SecretCheck != "present" {
		t.Fatalf("a forced run changed the counts:\nfirst  %+v\nsecond %+v", rep.Target, rep2.Target)
	}
	sameUsage(t, f, src, dst)
}

func openLots(t *testing.T, db credits.Store, account string) []*credits.Lot {
	t.Helper()
	var lots []*credits.Lot
	if err := db.ViewLedger(ctx, func(tx credits.Tx) (err error) {
		lots, err = tx.OpenLots(account)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return lots
}

// sameUsage checks that the usage queries answer the same on both
// engines.
func sameUsage(t *testing.T, f fixture, src, dst manage.UsageStore) {
	t.Helper()
	for _, q := range []store.UsageList{
		{UsageFilter: store.UsageFilter{From: f.from, To: f.to}, IncludeRetries: true, Limit: 5000},
		{UsageFilter: store.UsageFilter{From: f.from, To: f.to}, Limit: 10},
		{UsageFilter: store.UsageFilter{From: f.from, To: f.to, Model: "GPT-4O-MINI"}, IncludeRetries: true},
	} {
		se, smore := listUsage(t, src, q)
		te, tmore := listUsage(t, dst, q)
		if len(se) == 0 || !reflect.DeepEqual(se, te) || smore != tmore {
			t.Errorf("ListUsage %+v: %d events on the source, %d on the target (or they differ)", q, len(se), len(te))
		}
	}
	for _, q := range []store.UsageOverviewQuery{
		{UsageFilter: store.UsageFilter{From: f.from, To: f.to}, Bucket: store.BucketHour, GroupBy: store.GroupByModel},
		{UsageFilter: store.UsageFilter{From: f.from, To: f.to, AccountID: f.account}, GroupBy: store.GroupByAccessKey},
	} {
		so := must[*store.UsageOverview](t)(src.UsageOverview(ctx, q))
		to := must[*store.UsageOverview](t)(dst.UsageOverview(ctx, q))
		if so.Totals.Attempts == 0 || !reflect.DeepEqual(so, to) {
			t.Errorf("UsageOverview %+v:\nsource %+v\ntarget %+v", q, so, to)
		}
	}
	sr := must[[]*store.UsageEvent](t)(src.RequestUsage(ctx, f.requestID))
	tr := must[[]*store.UsageEvent](t)(dst.RequestUsage(ctx, f.requestID))
	if len(sr) != 2 || !reflect.DeepEqual(sr, tr) {
		t.Errorf("RequestUsage: %d attempts on the source, %d on the target (or they differ)", len(sr), len(tr))
	}
}

func listUsage(t *testing.T, db manage.UsageStore, q store.UsageList) ([]*store.UsageEvent, bool) {
	t.Helper()
	events, more, err := db.ListUsage(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	return events, more
}

func TestSecretKeyCheck(t *testing.T) {
	f := fill(t)
	src := openBolt(t, f.path)

	// a target initialised with another key is refused, and nothing is copied
	other := openPG(t, testpg.URL(t))
	otherKey := secrets.NewKey()
	if err := otherKey.Verify(func(c []byte) ([]byte, error) { return other.SetMetaIfAbsent(migrate.SecretCheckMeta, c) }); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Run(ctx, src, other, migrate.Options{}); !errors.Is(err, migrate.ErrOtherSecretKey) {
		t.Fatalf("got %v, want ErrOtherSecretKey", err)
	}
	if _, err := migrate.Run(ctx, src, other, migrate.Options{Force: true, Key: &f.key}); !errors.Is(err, migrate.ErrOtherSecretKey) {
		t.Fatalf("with the source's key: got %v, want ErrOtherSecretKey", err)
	}
	if c := must[migrate.Counts](t)(other.Count(ctx)); !c.Empty() {
		t.Fatalf("a refused migration wrote %s", c.Contents())
	}
	if _, err := migrate.Run(ctx, src, other, migrate.Options{Key: &otherKey}); err == nil || !strings.Contains(err.Error(), "not the one the source was created with") {
		t.Fatalf("a key that does not open the source: got %v", err)
	}

	// a target a gateway with the same key started on has another check
	// value: refused without the key, accepted with it
	same := openPG(t, testpg.URL(t))
	if err := f.key.Verify(func(c []byte) ([]byte, error) { return same.SetMetaIfAbsent(migrate.SecretCheckMeta, c) }); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Run(ctx, src, same, migrate.Options{}); !errors.Is(err, migrate.ErrOtherSecretKey) {
		t.Fatalf("got %v, want ErrOtherSecretKey", err)
	}
	rep, err := migrate.Run(ctx, src, same, migrate.Options{Key: &f.key})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SecretCheck != "kept" {
		t.Errorf("secret check %q, want kept", rep.SecretCheck)
	}
	st := must[*manage.State](t)(manage.Open(same, f.key, zap.NewNop()))
	if pk := st.Snapshot().ProviderKeys[f.providerKeyID]; pk == nil || pk.Value() != providerKeyValue {
		t.Errorf("the provider key does not unseal on the target: %+v", pk)
	}
}

// TestVerifyFails checks that a target that holds more than the source
// (a forced copy over another gateway's data) fails the verification,
// naming what differs.
func TestVerifyFails(t *testing.T) {
	f := fill(t)
	src := openBolt(t, f.path)
	dst := openPG(t, testpg.URL(t))
	l := must[*credits.Ledger](t)(credits.Open(dst, credits.Config{}, nil))
	if _, err := l.Purchase("acct_elsewhere", 7*money.USD, "", ""); err != nil {
		t.Fatal(err)
	}
	rep, err := migrate.Run(ctx, src, dst, migrate.Options{Force: true})
	var ve *migrate.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a VerifyError", err)
	}
	for _, want := range []string{"credit accounts: source 2, target 3", "account acct_elsewhere: balance 7.00 USD on the target, missing on the source"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}
	if rep == nil || rep.Target.CreditAccounts != 3 {
		t.Errorf("report %+v", rep)
	}
}

// failingTarget fails the usage import after its first page, as a lost
// connection would.
type failingTarget struct {
	*pgstore.DB
	pages int
}

var errLost = errors.New("connection lost")

func (f *failingTarget) StoreUsage(ctx context.Context, events []*store.UsageEvent) error {
	if f.pages++; f.pages > 1 {
		return errLost
	}
	return f.DB.StoreUsage(ctx, events)
}

// TestRerunAfterFailure checks that a copy that stopped partway is
// finished by a run with Force, without duplicates.
func TestRerunAfterFailure(t *testing.T) {
	f := fill(t)
	src := openBolt(t, f.path)
	dst := openPG(t, testpg.URL(t))
	_, err := migrate.Run(ctx, src, &failingTarget{DB: dst}, migrate.Options{})
	var ce *migrate.CopyError
	if !errors.As(err, &ce) || !errors.Is(err, errLost) || ce.Table != "usage events" || ce.Copied != migrate.PageSize {
		t.Fatalf("got %v, want a CopyError of the usage events after one page", err)
	}
	if _, err := migrate.Run(ctx, src, dst, migrate.Options{}); err == nil {
		t.Fatal("a partial copy was not refused as a non-empty target")
	}
	rep, err := migrate.Run(ctx, src, dst, migrate.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TargetBefore.UsageEvents != migrate.PageSize || rep.Target.UsageEvents != rep.Source.UsageEvents {
		t.Errorf("usage events: %d before, %d after, %d on the source", rep.TargetBefore.UsageEvents, rep.Target.UsageEvents, rep.Source.UsageEvents)
	}
	sameUsage(t, f, src, dst)
}
