package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Leases (credits.Leaser): credit_leases holds each node's lease of an
// account, credit_accounts.leased their sum. Every lease operation locks
// the account row first and the lease row second, the order settlements
// use, and expiry is the database's clock.

var (
	_ credits.Leaser  = (*DB)(nil)
	_ credits.LeaseTx = (*txn)(nil)
)

// LeaseCredits moves part of the account's unleased balance into node's
// lease (see credits.Leaser).
func (db *DB) LeaseCredits(ctx context.Context, accountID, node string, need, want money.Nano, share int64, ttl time.Duration) (money.Nano, error) {
	var granted int64
	err := db.inTx(ctx, readWrite, func(t *txn) error {
		granted = 0
		rec, err := t.lockAccount(accountID)
		if err != nil {
			return err
		}
		free := money.SatSub(rec.Balance, rec.Leased)
		if free <= 0 || free < need {
			return nil
		}
		g := min(max(need, min(want, free/money.Nano(max(share, 1)))), free)
		if _, err := t.exec(`UPDATE credit_accounts SET leased = leased + $2 WHERE account_id = $1`, accountID, int64(g)); err != nil {
			return fmt.Errorf("leasing credits of %s: %w", accountID, err)
		}
		if _, err := t.exec(`INSERT INTO credit_leases (account_id, node, amount, expires_at)
			VALUES ($1, $2, $3, now() + $4 * interval '1 microsecond')
			ON CONFLICT (account_id, node) DO UPDATE SET amount = credit_leases.amount + EXCLUDED.amount, expires_at = EXCLUDED.expires_at`,
			accountID, node, int64(g), ttl.Microseconds()); err != nil {
			return fmt.Errorf("leasing credits of %s: %w", accountID, err)
		}
		granted = int64(g)
		return nil
	})
	return money.Nano(granted), err
}

// ReturnCredits gives back up to amount of node's lease of the account.
func (db *DB) ReturnCredits(ctx context.Context, accountID, node string, amount money.Nano) error {
	return db.inTx(ctx, readWrite, func(t *txn) error {
		if _, err := t.lockAccount(accountID); err != nil {
			return err
		}
		var back int64
		err := t.queryRow(`SELECT LEAST(amount, $3) FROM credit_leases WHERE account_id = $1 AND node = $2 FOR UPDATE`,
			accountID, node, int64(amount)).Scan(&back)
		if err != nil {
			return nil // no lease: nothing to give back
		}
		if _, err := t.exec(`UPDATE credit_leases SET amount = amount - $3 WHERE account_id = $1 AND node = $2`, accountID, node, back); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM credit_leases WHERE account_id = $1 AND node = $2 AND amount = 0`, accountID, node); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE credit_accounts SET leased = leased - $2 WHERE account_id = $1`, accountID, back)
		return err
	})
}

// RenewLeases moves every lease of node to expire ttl from now.
func (db *DB) RenewLeases(ctx context.Context, node string, ttl time.Duration) error {
	_, err := db.pool.Exec(ctx, `UPDATE credit_leases SET expires_at = now() + $2 * interval '1 microsecond' WHERE node = $1`,
		node, ttl.Microseconds())
	return err
}

// ReclaimLeases returns to their accounts the leases that expired more
// than grace ago (their node stopped renewing them).
func (db *DB) ReclaimLeases(ctx context.Context, grace time.Duration) (int, error) {
	rows, err := db.pool.Query(ctx, `SELECT account_id, node FROM credit_leases
		WHERE expires_at < now() - $1 * interval '1 microsecond' LIMIT 1000`, grace.Microseconds())
	if err != nil {
		return 0, err
	}
	type lease struct{ account, node string }
	var expired []lease
	for rows.Next() {
		var l lease
		if err := rows.Scan(&l.account, &l.node); err != nil {
			rows.Close()
			return 0, err
		}
		expired = append(expired, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, l := range expired {
		err := db.inTx(ctx, readWrite, func(t *txn) error {
			if _, err := t.lockAccount(l.account); err != nil {
				return err
			}
			var amount int64
			err := t.queryRow(`DELETE FROM credit_leases WHERE account_id = $1 AND node = $2
				AND expires_at < now() - $3 * interval '1 microsecond' RETURNING amount`,
				l.account, l.node, grace.Microseconds()).Scan(&amount)
			if err != nil {
				return nil // renewed or reclaimed meanwhile
			}
			_, err = t.exec(`UPDATE credit_accounts SET leased = leased - $2 WHERE account_id = $1`, l.account, amount)
			if err == nil {
				n++
			}
			return err
		})
		if err != nil {
			return n, fmt.Errorf("reclaiming the lease of node %s on %s: %w", l.node, l.account, err)
		}
	}
	return n, nil
}

// SpendLease takes amount out of node's lease of the account, in a
// settlement's transaction; a lease that is gone or short fails it.
func (t *txn) SpendLease(accountID, node string, amount money.Nano) error {
	if err := t.lock(accountID); err != nil {
		return err
	}
	// Deferred with the settlement's other writes (no round trip of its
	// own): spend_credit_lease (migration 0002) fails the transaction when
	// the lease is gone or short.
	t.later(`SELECT spend_credit_lease($1, $2, $3)`, accountID, node, int64(amount))
	return nil
}
