package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

var _ credits.LimitStore = (*DB)(nil)

// errRefused rolls back an admission decide refused.
var errRefused = errors.New("refused")

// AdmitKey checks an admission against every node's admissions of the key
// and records it (credits.LimitStore). A transaction-scoped advisory lock
// on the key serialises admissions of one key across nodes.
func (db *DB) AdmitKey(ctx context.Context, keyID string, at, minuteFrom, dayFrom time.Time, tokens int64, cost money.Nano, decide func(credits.KeyWindow) error) (int64, error) {
	var id int64
	var refusal error
	err := db.inTx(ctx, readWrite, func(t *txn) error {
		refusal = nil
		if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtextextended('key_admissions/' || $1, 0))`, keyID); err != nil {
			return err
		}
		var w credits.KeyWindow
		var oldest *time.Time
		var committed int64
		err := t.queryRow(`SELECT count(*) FILTER (WHERE at > $2), min(at) FILTER (WHERE at > $2),
				coalesce(sum(tokens) FILTER (WHERE at > $2), 0), coalesce(sum(cost) FILTER (WHERE at >= $3), 0)
			FROM key_admissions WHERE key_id = $1 AND at >= least($2, $3)`, keyID, minuteFrom, dayFrom).
			Scan(&w.Requests, &oldest, &w.Tokens, &committed)
		if err != nil {
			return fmt.Errorf("reading the admissions of %s: %w", keyID, err)
		}
		if oldest != nil {
			w.Oldest = *oldest
		}
		w.Committed = money.Nano(committed)
		if refusal = decide(w); refusal != nil {
			return errRefused
		}
		if err := t.queryRow(`INSERT INTO key_admissions (key_id, at, tokens, cost) VALUES ($1, $2, $3, $4) RETURNING id`,
			keyID, at, tokens, int64(cost)).Scan(&id); err != nil {
			return err
		}
		t.later(`DELETE FROM key_admissions WHERE key_id = $1 AND at < $2`, keyID, dayFrom.Add(-24*time.Hour))
		return nil
	})
	if refusal != nil {
		return 0, refusal
	}
	return id, err
}

// SettleKey replaces an admission's reservation with what its request
// used.
func (db *DB) SettleKey(ctx context.Context, id int64, tokens int64, cost money.Nano) error {
	_, err := db.pool.Exec(ctx, `UPDATE key_admissions SET tokens = $2, cost = $3 WHERE id = $1`, id, tokens, int64(cost))
	return err
}
