package manage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// Limits of the usage queries. A list pages through any range; an
// overview answers in one response, so its range is bounded.
const (
	maxHourlyOverview  = 31 * 24 * time.Hour  // 744 hour buckets
	maxDailyOverview   = 366 * 24 * time.Hour // a year of day buckets
	maxOverviewBuckets = 50_000               // buckets × groups in one answer
)

// UsageEvents returns recorded usage events in the order they were
// recorded; for tests and tools (the management API uses ListUsage).
func (s *Service) UsageEvents(ctx context.Context, q store.UsageQuery) ([]*store.UsageEvent, error) {
	return s.db.Usage(ctx, q)
}

// ListUsage returns a page of usage events, newest first, and whether
// more follow.
func (s *Service) ListUsage(ctx context.Context, q store.UsageList) ([]*store.UsageEvent, bool, error) {
	if err := checkUsageRange(q.From, q.To); err != nil {
		return nil, false, err
	}
	evs, more, err := s.db.ListUsage(ctx, q)
	if errors.Is(err, store.ErrUnknownCursor) {
		return nil, false, &InvalidError{"beforeId", fmt.Sprintf("no usage event %q", q.BeforeID)}
	}
	if err != nil {
		return nil, false, fmt.Errorf("listing usage: %w", err)
	}
	return evs, more, nil
}

// UsageOverview sums usage per UTC hour or day, optionally per provider,
// model, access key or account.
func (s *Service) UsageOverview(ctx context.Context, q store.UsageOverviewQuery) (*store.UsageOverview, error) {
	if err := checkUsageRange(q.From, q.To); err != nil {
		return nil, err
	}
	switch q.GroupBy {
	case store.GroupByNone, store.GroupByProvider, store.GroupByModel, store.GroupByAccessKey, store.GroupByAccount:
	default:
		return nil, &InvalidError{"groupBy", "must be provider, model, accessKey or account"}
	}
	switch {
	case q.Bucket == store.BucketHour && q.To.Sub(q.From) > maxHourlyOverview:
		return nil, &InvalidError{"to", "with bucket=hour the range is at most 31 days"}
	case q.Bucket == store.BucketDay && q.To.Sub(q.From) > maxDailyOverview:
		return nil, &InvalidError{"to", "with bucket=day the range is at most 366 days"}
	case q.Bucket != store.BucketHour && q.Bucket != store.BucketDay:
		return nil, &InvalidError{"bucket", "must be hour or day"}
	}
	o, err := s.db.UsageOverview(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("summing usage: %w", err)
	}
	if len(o.Buckets) > maxOverviewBuckets {
		return nil, &InvalidError{"to", fmt.Sprintf("the overview has %d buckets, more than %d: use a shorter range, bucket=day or a filter",
			len(o.Buckets), maxOverviewBuckets)}
	}
	return o, nil
}

// RequestUsage returns a request's attempts in order; ErrNotFound when
// none is recorded.
func (s *Service) RequestUsage(ctx context.Context, requestID string) ([]*store.UsageEvent, error) {
	evs, err := s.db.RequestUsage(ctx, requestID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("reading usage of request %s: %w", requestID, err)
	}
	return evs, err
}

func checkUsageRange(from, to time.Time) error {
	switch {
	case from.IsZero():
		return &InvalidError{"from", "required"}
	case to.IsZero():
		return &InvalidError{"to", "required"}
	case !to.After(from):
		return &InvalidError{"to", "must be after from"}
	}
	return nil
}
