// Package migrate moves a single node's state from one storage engine to
// another (bbolt to PostgreSQL: `caddy ai migrate`), then verifies the
// copy. It declares what it reads from a source (Source: every record,
// table by table, in pages) and writes to a target (Target: idempotent
// bulk imports); internal/store/boltstore and internal/store/pgstore
// implement them. It has no engine and no Caddy in it.
//
// Run copies, in order: the secret-key check value, the management
// resources (access keys with their token-hash index), the credit
// accounts, every lot (open and exhausted), every ledger entry, the
// idempotent purchases, the settled marks and the usage events (in time
// order). Each page is one transaction of the target, and every import
// replaces or skips what it finds, so a copy that failed runs again with
// Options.Force. Then it verifies: the counts and sums of every table are
// equal on both sides, the target's ledger entries sum to each account's
// balance (credits.Ledger.Verify), the balances are equal account by
// account, and the target keeps the source's secret-key check value.
package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

// SecretCheckMeta is the metadata key under which a store keeps the value
// that proves which secret key its provider keys are sealed with
// (secrets.Key.Verify; the ai app writes it at start).
const SecretCheckMeta = "secret_key_check"

// Options tune Run.
type Options struct {
	// Force copies into a target that holds records already (a run that
	// failed halfway, or a database a gateway started on): records with
	// the same keys are replaced by the source's. The verification then
	// fails if the target holds records the source does not.
	Force bool
	// Key, when set, is the gateway's secret key. The source's check
	// value must open with it; a target whose check value differs from
	// the source's is then accepted when that value opens with it too
	// (two stores initialised with one key have different check values).
	Key *secrets.Key
	// Progress, when set, is told each table's count once it is copied.
	Progress func(table string, copied int64, took time.Duration)
}

// Report is what Run did.
type Report struct {
	// Source is what the source holds; TargetBefore what the target held
	// before the copy and Target after it.
	Source, TargetBefore, Target Counts
	// Accounts is the number of credit accounts whose balances were
	// compared; EntrySum the sum of the target's ledger entries.
	Accounts int
	EntrySum money.Nano
	// SecretCheck says what happened to the secret-key check value:
	// "copied", "present" (the target had the same value), "kept" (the
	// target had another value that opens with Options.Key), or "absent"
	// (the source has none: no gateway ever started on it).
	SecretCheck string
	// CopyTime and Elapsed are the time the copy took and the whole run.
	CopyTime, Elapsed time.Duration
}

// ErrOtherSecretKey is a target initialised with another secret key than
// the source (or with one the caller could not show to be the same).
var ErrOtherSecretKey = errors.New("the target's secret_key_check differs from the source's: it was initialised with another secret key, " +
	"and the source's provider keys would not open there")

// NotEmptyError is a target that holds records, refused without
// Options.Force.
type NotEmptyError struct {
	Contents string // what the target holds
}

func (e *NotEmptyError) Error() string {
	return "the target is not empty: it holds " + e.Contents
}

// CopyError is a copy that stopped partway: the target holds part of the
// source. Run again with Options.Force to finish it.
type CopyError struct {
	Table  string // the table being copied
	Copied int64  // its records copied before the error
	Err    error
}

func (e *CopyError) Error() string {
	return fmt.Sprintf("copying the %s (%d copied): %v", e.Table, e.Copied, e.Err)
}

func (e *CopyError) Unwrap() error { return e.Err }

// VerifyError lists what differs between the source and the copy.
type VerifyError struct {
	Problems []string
}

func (e *VerifyError) Error() string {
	const show = 20
	var b strings.Builder
	b.WriteString("verification failed:")
	for i, p := range e.Problems {
		if i == show {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Problems)-show)
			break
		}
		b.WriteString("\n  - " + p)
	}
	return b.String()
}

// Run copies every record of src to dst and verifies the copy. It refuses
// a target initialised with another secret key, and a non-empty target
// unless opt.Force. The report is returned with a VerifyError too.
func Run(ctx context.Context, src Source, dst Target, opt Options) (*Report, error) {
	start := time.Now()
	rep := &Report{}
	var err error
	if rep.Source, err = src.Count(ctx); err != nil {
		return nil, fmt.Errorf("counting the source's records: %w", err)
	}
	if rep.TargetBefore, err = dst.Count(ctx); err != nil {
		return nil, fmt.Errorf("counting the target's records: %w", err)
	}
	check, err := secretCheck(src, dst, opt.Key)
	if err != nil {
		return nil, err
	}
	if !rep.TargetBefore.Empty() && !opt.Force {
		return nil, &NotEmptyError{rep.TargetBefore.Contents()}
	}
	if rep.SecretCheck, err = copySecretCheck(dst, check, opt.Key); err != nil {
		return nil, err
	}
	if err := copyTables(ctx, src, dst, opt); err != nil {
		return nil, err
	}
	rep.CopyTime = time.Since(start)
	err = verify(ctx, src, dst, check, opt.Key, rep)
	rep.Elapsed = time.Since(start)
	return rep, err
}

// secretCheck reads the source's check value (nil when absent) and
// refuses a target initialised with another key.
func secretCheck(src Source, dst Target, key *secrets.Key) ([]byte, error) {
	sv, ok, err := src.Meta(SecretCheckMeta)
	if err != nil {
		return nil, fmt.Errorf("reading the source's secret-key check value: %w", err)
	}
	if !ok {
		return nil, nil
	}
	if key != nil && !opens(*key, sv) {
		return nil, errors.New("the secret key given is not the one the source was created with")
	}
	tv, ok, err := dst.Meta(SecretCheckMeta)
	if err != nil {
		return nil, fmt.Errorf("reading the target's secret-key check value: %w", err)
	}
	if ok && !bytes.Equal(tv, sv) && (key == nil || !opens(*key, tv)) {
		return nil, ErrOtherSecretKey
	}
	return sv, nil
}

// copySecretCheck stores the source's check value unless the target has
// one (secretCheck accepted it).
func copySecretCheck(dst Target, check []byte, key *secrets.Key) (string, error) {
	if check == nil {
		return "absent", nil
	}
	tv, ok, err := dst.Meta(SecretCheckMeta)
	if err != nil {
		return "", fmt.Errorf("reading the target's secret-key check value: %w", err)
	}
	switch {
	case ok && bytes.Equal(tv, check):
		return "present", nil
	case ok:
		return "kept", nil
	}
	kept, err := dst.SetMetaIfAbsent(SecretCheckMeta, check)
	if err != nil {
		return "", fmt.Errorf("copying the secret-key check value: %w", err)
	}
	if !bytes.Equal(kept, check) && (key == nil || !opens(*key, kept)) {
		return "", ErrOtherSecretKey // another process initialised it meanwhile
	}
	return "copied", nil
}

// opens reports whether check was sealed with key.
func opens(key secrets.Key, check []byte) bool {
	return key.Verify(func([]byte) ([]byte, error) { return check, nil }) == nil
}

// copyTables copies every table, page by page.
func copyTables(ctx context.Context, src Source, dst Target, opt Options) error {
	tables := []struct {
		name string
		copy func() (int64, error)
	}{
		{"resources", func() (int64, error) { return copyTable(ctx, src.ExportResources, dst.ImportResources) }},
		{"credit accounts", func() (int64, error) { return copyTable(ctx, src.ExportCreditAccounts, dst.ImportCreditAccounts) }},
		{"credit lots", func() (int64, error) { return copyTable(ctx, src.ExportLots, dst.ImportLots) }},
		{"ledger entries", func() (int64, error) { return copyTable(ctx, src.ExportEntries, dst.ImportEntries) }},
		{"idempotent purchases", func() (int64, error) {
			return copyTable(ctx, src.ExportIdempotentPurchases, dst.ImportIdempotentPurchases)
		}},
		{"settled requests", func() (int64, error) { return copyTable(ctx, src.ExportSettledMarks, dst.ImportSettledMarks) }},
		{"usage events", func() (int64, error) { return copyTable(ctx, src.ExportUsage, dst.StoreUsage) }},
	}
	for _, t := range tables {
		start := time.Now()
		n, err := t.copy()
		if err != nil {
			return &CopyError{Table: t.name, Copied: n, Err: err}
		}
		if opt.Progress != nil {
			opt.Progress(t.name, n, time.Since(start))
		}
	}
	return nil
}

// copyTable imports each page export hands over and counts the records.
func copyTable[T any](ctx context.Context, export func(context.Context, func([]T) error) error,
	put func(context.Context, []T) error) (n int64, err error) {
	err = export(ctx, func(page []T) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := put(ctx, page); err != nil {
			return err
		}
		n += int64(len(page))
		return nil
	})
	return n, err
}

// verify compares the copy with the source.
func verify(ctx context.Context, src Source, dst Target, check []byte, key *secrets.Key, rep *Report) error {
	var err error
	if rep.Target, err = dst.Count(ctx); err != nil {
		return fmt.Errorf("counting the target's records: %w", err)
	}
	problems := diff(&rep.Source, &rep.Target)

	if check != nil {
		tv, ok, err := dst.Meta(SecretCheckMeta)
		switch {
		case err != nil:
			return fmt.Errorf("reading the target's secret-key check value: %w", err)
		case !ok:
			problems = append(problems, "the target has no secret-key check value")
		case !bytes.Equal(tv, check) && (key == nil || !opens(*key, tv)):
			problems = append(problems, "the target's secret-key check value differs from the source's")
		}
	}

	sb, _, err := ledgerOf(ctx, src)
	if err != nil {
		return fmt.Errorf("reading the source's ledger: %w", err)
	}
	tb, sum, err := ledgerOf(ctx, dst)
	if err != nil {
		return fmt.Errorf("reading the target's ledger: %w", err)
	}
	rep.Accounts, rep.EntrySum = len(sb), sum
	problems = append(problems, compareBalances(sb, tb)...)

	if err := verifyLedger(dst); err != nil {
		p := "the target's ledger entries do not sum to its balances: " + err.Error()
		if serr := verifyLedger(src); serr != nil {
			p += " (the source's do not either: " + serr.Error() + ")"
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		return &VerifyError{problems}
	}
	return nil
}

// ledgerOf returns the balance of every account of db and the sum of its
// entries.
func ledgerOf(ctx context.Context, db credits.Store) (balances map[string]money.Nano, entries money.Nano, err error) {
	balances = map[string]money.Nano{}
	err = db.ViewLedger(ctx, func(tx credits.Tx) error {
		if err := tx.Accounts(func(id string, rec credits.AccountRecord) bool {
			balances[id] = rec.Balance
			return true
		}); err != nil {
			return err
		}
		return tx.AllEntries(func(e *credits.Entry) bool {
			entries += e.Amount
			return true
		})
	})
	return balances, entries, err
}

// compareBalances lists the accounts whose balances differ.
func compareBalances(src, dst map[string]money.Nano) []string {
	ids := make([]string, 0, len(src)+len(dst))
	for id := range src {
		ids = append(ids, id)
	}
	for id := range dst {
		if _, ok := src[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []string
	for _, id := range ids {
		s, sok := src[id]
		d, dok := dst[id]
		switch {
		case !dok:
			out = append(out, fmt.Sprintf("account %s: balance %s USD on the source, missing on the target", id, s))
		case !sok:
			out = append(out, fmt.Sprintf("account %s: balance %s USD on the target, missing on the source", id, d))
		case s != d:
			out = append(out, fmt.Sprintf("account %s: balance %s USD on the source, %s USD on the target", id, s, d))
		}
	}
	return out
}

// verifyLedger checks, through a ledger opened over db, that every
// account's entries sum to its balance.
func verifyLedger(db credits.Store) error {
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		return err
	}
	defer l.Close()
	return l.Verify()
}
