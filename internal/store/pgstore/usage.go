package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func moneyOf(n int64) money.Nano { return money.Nano(n) }

// StoreUsage stores events in one transaction, with one statement; an
// event whose id is stored already is skipped (store.UsageStorer).
func (db *DB) StoreUsage(ctx context.Context, events []*store.UsageEvent) error {
	if len(events) == 0 {
		return nil
	}
	return db.inTx(ctx, readWrite, func(t *txn) error {
		if _, err := t.exec(insertUsageSQL, usageArgs(events)...); err != nil {
			return fmt.Errorf("storing %d usage events: %w", len(events), err)
		}
		return nil
	})
}

// usageColumns are the columns of usage_events a query reads, in the
// order scanEvent scans them.
const usageColumns = `id, request_id, attempt, ts, access_key_id, account_id, provider_id, model, endpoint,
	key_source, status, streaming, stop_reason, input_tokens, output_tokens, cache_read_tokens,
	cache_write_tokens, reasoning_tokens, usage_estimated, cost, fee, provider_key_id, latency_ms,
	ttft_ms, retry_action, error, virtual_model, firewall`

// insertUsageSQL inserts events as one multi-row INSERT of column arrays
// (unnest keeps the statement the same whatever the batch size), skipping
// ids stored already; seq numbers them in batch order. usageArgs are its
// arguments.
const insertUsageSQL = `INSERT INTO usage_events (` + usageColumns + `, final)
	SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::text[], $11::int4[], $12::bool[], $13::text[], $14::int8[], $15::int8[],
		$16::int8[], $17::int8[], $18::int8[], $19::bool[], $20::int8[], $21::int8[], $22::text[], $23::int8[],
		$24::int8[], $25::text[], $26::text[], $27::text[], $28::text[], $29::bool[])
	ON CONFLICT (id) DO NOTHING`

func usageArgs(events []*store.UsageEvent) []any {
	n := len(events)
	var (
		id, req, key, acct, prov, model, endpoint, src, stop, pkey, action, errs, vm = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		fw                                            = make([]string, n)
		attempt, status                               = make([]int32, n), make([]int32, n)
		ts                                            = make([]time.Time, n)
		streaming, estimated, final                   = make([]bool, n), make([]bool, n), make([]bool, n)
		in, out, cr, cw, reason, cost, fee, lat, ttft = make([]int64, n), make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	)
	now := time.Now()
	for i, e := range events {
		id[i], req[i], key[i], acct[i], prov[i], model[i] = e.ID, e.RequestID, e.AccessKeyID, e.AccountID, e.ProviderID, e.Model
		endpoint[i], src[i], stop[i], pkey[i], action[i], errs[i] = e.Endpoint, e.KeySource, e.StopReason, e.ProviderKeyID, e.RetryAction, e.Error
		vm[i], fw[i] = e.VirtualModel, firewallJSON(e.Firewall)
		attempt[i], status[i] = int32(e.Attempt), int32(e.Status)
		ts[i] = e.Timestamp
		if ts[i].IsZero() {
			ts[i] = now
		}
		streaming[i], estimated[i], final[i] = e.Streaming, e.UsageEstimated, e.Final()
		in[i], out[i], cr[i], cw[i], reason[i] = e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens
		cost[i], fee[i], lat[i], ttft[i] = int64(e.Cost), int64(e.Fee), e.LatencyMs, e.TTFTMs
	}
	return []any{id, req, attempt, ts, key, acct, prov, model, endpoint, src, status, streaming, stop, in, out, cr, cw, reason,
		estimated, cost, fee, pkey, lat, ttft, action, errs, vm, fw, final}
}

func scanEvent(r pgx.CollectableRow) (*store.UsageEvent, error) {
	e := new(store.UsageEvent)
	var attempt, status int32
	var cost, fee int64
	var fw string
	err := r.Scan(&e.ID, &e.RequestID, &attempt, &e.Timestamp, &e.AccessKeyID, &e.AccountID, &e.ProviderID, &e.Model,
		&e.Endpoint, &e.KeySource, &status, &e.Streaming, &e.StopReason, &e.InputTokens, &e.OutputTokens,
		&e.CacheReadTokens, &e.CacheWriteTokens, &e.ReasoningTokens, &e.UsageEstimated, &cost, &fee,
		&e.ProviderKeyID, &e.LatencyMs, &e.TTFTMs, &e.RetryAction, &e.Error, &e.VirtualModel, &fw)
	if err == nil && fw != "" {
		err = json.Unmarshal([]byte(fw), &e.Firewall)
	}
	e.Attempt, e.Status, e.Cost, e.Fee = int(attempt), int(status), money.Nano(cost), money.Nano(fee)
	e.Timestamp = e.Timestamp.UTC()
	return e, err
}

// where builds a WHERE clause from conditions, numbering the arguments.
type where struct {
	conds []string
	args  []any
}

// add appends a condition in which each ? stands for the next argument.
func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// filter adds the field tests of f (providerId and model ignoring case).
func (w *where) filter(f *store.UsageFilter) {
	if f.AccessKeyID != "" {
		w.add("access_key_id = ?", f.AccessKeyID)
	}
	if f.AccountID != "" {
		w.add("account_id = ?", f.AccountID)
	}
	if f.ProviderID != "" {
		w.add("lower(provider_id) = lower(?)", f.ProviderID)
	}
	if f.Model != "" {
		w.add("lower(model) = lower(?)", f.Model)
	}
}

// ListUsage returns up to q.Limit events of [From, To), newest first, and
// whether more follow (manage.UsageStore).
func (db *DB) ListUsage(ctx context.Context, q store.UsageList) (events []*store.UsageEvent, more bool, err error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	err = db.inTx(ctx, readOnly, func(t *txn) error {
		var w where
		w.add("ts >= ?", q.From)
		w.add("ts < ?", q.To)
		w.filter(&q.UsageFilter)
		if !q.IncludeRetries {
			w.add("final")
		}
		if q.BeforeID != "" {
			var ts time.Time
			var seq int64
			err := t.queryRow(`SELECT ts, seq FROM usage_events WHERE id = $1`, q.BeforeID).Scan(&ts, &seq)
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrUnknownCursor
			}
			if err != nil {
				return fmt.Errorf("reading usage event %s: %w", q.BeforeID, err)
			}
			w.add("(ts, seq) < (?, ?)", ts, seq)
		}
		w.args = append(w.args, q.Limit+1)
		rows := t.query(`SELECT `+usageColumns+` FROM usage_events`+w.String()+
			` ORDER BY ts DESC, seq DESC LIMIT $`+strconv.Itoa(len(w.args)), w.args...)
		var err error
		events, err = pgx.CollectRows(rows, scanEvent)
		if err != nil {
			return fmt.Errorf("listing usage events: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if len(events) > q.Limit {
		events, more = events[:q.Limit], true
	}
	return events, more, nil
}

// RequestUsage returns a request's attempts in order; store.ErrNotFound
// when it has none (manage.UsageStore).
func (db *DB) RequestUsage(ctx context.Context, requestID string) ([]*store.UsageEvent, error) {
	var out []*store.UsageEvent
	err := db.inTx(ctx, readOnly, func(t *txn) error {
		rows := t.query(`SELECT `+usageColumns+` FROM usage_events WHERE request_id = $1
			ORDER BY attempt, ts, seq`, requestID)
		var err error
		out, err = pgx.CollectRows(rows, scanEvent)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the usage of request %s: %w", requestID, err)
	}
	if len(out) == 0 {
		return nil, store.ErrNotFound
	}
	return out, nil
}

// Usage returns the events of q (the oldest q.Limit of them) ordered by
// id (manage.UsageStore).
func (db *DB) Usage(ctx context.Context, q store.UsageQuery) ([]*store.UsageEvent, error) {
	var out []*store.UsageEvent
	err := db.inTx(ctx, readOnly, func(t *txn) error {
		var w where
		w.add("ts >= ?", q.From)
		if !q.To.IsZero() {
			w.add("ts < ?", q.To)
		}
		order := "ts, seq"
		if q.RequestID != "" {
			w.add("request_id = ?", q.RequestID)
			order = "attempt, ts, seq"
		}
		sql := `SELECT ` + usageColumns + ` FROM usage_events` + w.String() + ` ORDER BY ` + order
		if q.Limit > 0 {
			w.args = append(w.args, q.Limit)
			sql += ` LIMIT $` + strconv.Itoa(len(w.args))
		}
		rows := t.query(sql, w.args...)
		var err error
		out, err = pgx.CollectRows(rows, scanEvent)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading usage events: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// UsageOverview sums usage over [From, To) per UTC hour or day and group,
// in one GROUP BY query (manage.UsageStore).
func (db *DB) UsageOverview(ctx context.Context, q store.UsageOverviewQuery) (*store.UsageOverview, error) {
	unit := "day"
	if q.Bucket == store.BucketHour {
		unit = "hour"
	}
	// the grouped dimensions; the others read as ''
	dims := [4]string{"''", "''", "''", "''"} // provider, model, access key, account
	switch q.GroupBy {
	case store.GroupByProvider:
		dims[0] = "provider_id"
	case store.GroupByModel:
		dims[0], dims[1] = "provider_id", "model"
	case store.GroupByAccessKey:
		dims[2] = "access_key_id"
	case store.GroupByAccount:
		dims[3] = "account_id"
	}
	var w where
	w.add("ts >= ?", q.From)
	w.add("ts < ?", q.To)
	w.filter(&q.UsageFilter)
	sql := `SELECT date_trunc('` + unit + `', ts, 'UTC') AS bucket, ` + strings.Join(dims[:], ", ") + `,
		count(*) FILTER (WHERE final),
		count(*) FILTER (WHERE final AND retry_action <> '` + store.RetrySucceeded + `'),
		count(*),
		coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint,
		coalesce(sum(cache_read_tokens), 0)::bigint, coalesce(sum(cache_write_tokens), 0)::bigint,
		coalesce(sum(reasoning_tokens), 0)::bigint, coalesce(sum(cost), 0)::bigint, coalesce(sum(fee), 0)::bigint
		FROM usage_events` + w.String() + ` GROUP BY 1, 2, 3, 4, 5`
	out := &store.UsageOverview{}
	err := db.inTx(ctx, readOnly, func(t *txn) error {
		rows := t.query(sql, w.args...)
		var err error
		out.Buckets, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UsageBucket, error) {
			var b store.UsageBucket
			var cost, fees int64
			err := r.Scan(&b.Start, &b.ProviderID, &b.Model, &b.AccessKeyID, &b.AccountID,
				&b.Requests, &b.FailedRequests, &b.Attempts, &b.InputTokens, &b.OutputTokens,
				&b.CacheReadTokens, &b.CacheWriteTokens, &b.ReasoningTokens, &cost, &fees)
			b.Start, b.Cost, b.Fees = b.Start.UTC(), money.Nano(cost), money.Nano(fees)
			return b, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("summing usage: %w", err)
	}
	out.Finish()
	return out, nil
}

var _ store.UsageStorer = (*DB)(nil)

// firewallJSON encodes an event's firewall decisions ("" for none).
func firewallJSON(ds []store.FirewallDecision) string {
	if len(ds) == 0 {
		return ""
	}
	b, _ := json.Marshal(ds) // plain strings and ints: cannot fail
	return string(b)
}
