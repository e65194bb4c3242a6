package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	datamigrate "github.com/caddy-ai-gateway/caddy-ai-gateway/internal/migrate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Count counts the records of every table in one snapshot
// (migrate.Counter): what `caddy ai migrate` checks a copy with, and
// finds a target empty by. Lock placeholders of credit_accounts (NULL
// updated_at) are no records.
func (db *DB) Count(ctx context.Context) (datamigrate.Counts, error) {
	c := datamigrate.Counts{Resources: map[string]int64{}}
	err := db.inTx(ctx, readOnly, func(t *txn) error {
		rows := t.query(`SELECT kind, count(*) FROM resources GROUP BY kind`)
		var kind string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&kind, &n}, func() error {
			c.Resources[kind] = n
			return nil
		}); err != nil {
			return err
		}
		var balances, remaining, cost, fees int64
		err := t.queryRow(`SELECT
			(SELECT count(*) FROM access_key_hashes),
			(SELECT count(*) FROM credit_accounts WHERE updated_at IS NOT NULL),
			(SELECT coalesce(sum(balance), 0)::bigint FROM credit_accounts WHERE updated_at IS NOT NULL),
			(SELECT count(*) FROM credit_lots),
			(SELECT count(*) FROM credit_lots WHERE remaining > 0),
			(SELECT coalesce(sum(remaining) FILTER (WHERE remaining > 0), 0)::bigint FROM credit_lots),
			(SELECT count(*) FROM credit_entries),
			(SELECT count(*) FROM credit_idempotency),
			(SELECT count(*) FROM credit_settled),
			(SELECT count(*) FROM credit_leases),
			(SELECT count(*) FROM usage_events),
			(SELECT coalesce(sum(cost), 0)::bigint FROM usage_events),
			(SELECT coalesce(sum(fee), 0)::bigint FROM usage_events)`).Scan(
			&c.AccessKeyHashes, &c.CreditAccounts, &balances, &c.Lots, &c.OpenLots, &remaining, &c.Entries,
			&c.IdempotentPurchases, &c.SettledMarks, &c.CreditLeases, &c.UsageEvents, &cost, &fees)
		c.Balances, c.LotsRemaining, c.UsageCost, c.UsageFees = money.Nano(balances), money.Nano(remaining), money.Nano(cost), money.Nano(fees)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("counting the records: %w", err)
	}
	return c, nil
}
