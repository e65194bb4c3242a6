package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// UsageEvent records one upstream attempt. Token fields are normalised so
// each token sits in exactly one priced bucket (see internal/usage).
type UsageEvent struct {
	ID               string     `json:"id"` // "ue_…", time-ordered: the key in bbolt
	RequestID        string     `json:"requestId"`
	Attempt          int        `json:"attempt"`
	Timestamp        time.Time  `json:"timestamp"`
	AccessKeyID      string     `json:"accessKeyId,omitempty"`
	AccountID        string     `json:"accountId,omitempty"`
	ProviderID       string     `json:"providerId"`
	Model            string     `json:"model"`
	Endpoint         string     `json:"endpoint"`
	KeySource        string     `json:"keySource"` // managed | user
	Status           int        `json:"status"`
	Streaming        bool       `json:"streaming"`
	StopReason       string     `json:"stopReason,omitempty"`
	InputTokens      int64      `json:"inputTokens"`
	OutputTokens     int64      `json:"outputTokens"`
	CacheReadTokens  int64      `json:"cacheReadTokens"`
	CacheWriteTokens int64      `json:"cacheWriteTokens"`
	ReasoningTokens  int64      `json:"reasoningTokens"`
	UsageEstimated   bool       `json:"usageEstimated"`
	Cost             money.Nano `json:"cost"`
	LatencyMs        int64      `json:"latencyMs"`
	TTFTMs           int64      `json:"ttftMs,omitempty"`
	RetryAction      string     `json:"retryAction"`
	Error            string     `json:"error,omitempty"`
}

// UsageQuery selects usage events in [From, To).
type UsageQuery struct {
	From, To  time.Time
	RequestID string // when set, only this request's attempts
	Limit     int    // 0: no limit
}

// Usage returns events in time order.
func (db *DB) Usage(q UsageQuery) ([]*UsageEvent, error) {
	var out []*UsageEvent
	start := []byte(ids.At("ue", q.From)[:3+10]) // "ue_" + the 10 time characters
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketUsage).Cursor()
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			var e UsageEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decoding usage event %s: %w", k, err)
			}
			if !q.To.IsZero() && !e.Timestamp.Before(q.To) {
				break
			}
			if e.Timestamp.Before(q.From) || (q.RequestID != "" && e.RequestID != q.RequestID) {
				continue
			}
			out = append(out, &e)
			if q.Limit > 0 && len(out) >= q.Limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// usageKey is the bbolt key of an event: its id, which sorts by time.
func usageKey(e *UsageEvent) []byte { return []byte(e.ID) }
