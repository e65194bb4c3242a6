// Package store holds the records every storage engine of the gateway
// keeps, whatever the engine: access keys, usage events and the queries
// over them, the names of the management resource kinds, and the errors
// engines report. It has no engine in it: internal/store/boltstore is the
// embedded one. The interfaces an engine implements are declared by their
// users: manage.Store (resources and usage queries), credits.Store (the
// credit ledger) and the request path's usage recorder; conformance.Run
// checks an engine against all of them.
package store

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
)

// UsageEvent records one upstream attempt. Token fields are normalised so
// each token sits in exactly one priced bucket (see internal/usage).
type UsageEvent struct {
	ID               string     `json:"id"` // "ue_…", unique
	RequestID        string     `json:"requestId"`
	Attempt          int        `json:"attempt"`
	Timestamp        time.Time  `json:"timestamp"` // when the attempt started; the event's place in time
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
	// Fee is the processing or BYOK fee charged for the attempt (credits).
	Fee           money.Nano `json:"fee"`
	ProviderKeyID string     `json:"providerKeyId,omitempty"`
	LatencyMs     int64      `json:"latencyMs"`
	TTFTMs        int64      `json:"ttftMs,omitempty"`
	RetryAction   string     `json:"retryAction"`
	Error         string     `json:"error,omitempty"`
	// VirtualModel is the virtual model the request named, when it did
	// (Model is then the member that served the attempt).
	VirtualModel string `json:"virtualModel,omitempty"`
	// Firewall lists the firewall's decisions about the request (on its
	// first attempt) and about the tool calls of this attempt's answer.
	Firewall []FirewallDecision `json:"firewall,omitempty"`
}

// FirewallDecision is one firewall rule that decided (or could not be
// evaluated) for a request or a tool call.
type FirewallDecision struct {
	Policy   string `json:"policy"`
	Rule     int    `json:"rule"`
	RuleName string `json:"ruleName,omitempty"`
	Action   string `json:"action"` // block, allow, continue
	Mode     string `json:"mode"`   // enforce, dryRun
	Phase    string `json:"phase"`  // request, response
	Tool     string `json:"tool,omitempty"`
	Message  string `json:"message,omitempty"`
}

// Retry actions: what the gateway did after an attempt. After the first
// three it moved on to another attempt of the same request; every other
// action ends the request (its event is the request's final attempt).
const (
	RetryNextKey      = "next_key"
	RetryNextBackend  = "next_backend"
	RetrySameBackend  = "retry_same_backend"
	RetrySucceeded    = "succeeded"
	RetryFailFast     = "fail_fast"     // the provider refused the request itself; its error was passed on
	RetryExhausted    = "exhausted"     // no candidate or key was left to try
	RetryClientClosed = "client_closed" // the client went away
)

// Final reports whether the event is the attempt that ended its request.
func (e *UsageEvent) Final() bool { return FinalAction(e.RetryAction) }

// FinalAction reports whether an attempt that ended with action ended its
// request.
func FinalAction(action string) bool {
	return action != RetryNextKey && action != RetryNextBackend && action != RetrySameBackend
}

// UsageTotals sums usage events.
type UsageTotals struct {
	Requests         int64 // requests whose final attempt is counted here
	FailedRequests   int64 // of those, the ones whose final attempt did not succeed
	Attempts         int64
	InputTokens      int64
	OutputTokens     int64
	CacheReadTokens  int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	Cost             money.Nano
	Fees             money.Nano // processing and BYOK fees charged
}

// AddEvent adds one event (an attempt; a request when it is final).
func (t *UsageTotals) AddEvent(e *UsageEvent) {
	d := UsageTotals{Attempts: 1, InputTokens: e.InputTokens, OutputTokens: e.OutputTokens,
		CacheReadTokens: e.CacheReadTokens, CacheWriteTokens: e.CacheWriteTokens,
		ReasoningTokens: e.ReasoningTokens, Cost: e.Cost, Fees: e.Fee}
	if e.Final() {
		d.Requests = 1
		if e.RetryAction != RetrySucceeded {
			d.FailedRequests = 1
		}
	}
	t.Add(d)
}

// Add adds totals d.
func (t *UsageTotals) Add(d UsageTotals) {
	t.Requests += d.Requests
	t.FailedRequests += d.FailedRequests
	t.Attempts += d.Attempts
	t.InputTokens += d.InputTokens
	t.OutputTokens += d.OutputTokens
	t.CacheReadTokens += d.CacheReadTokens
	t.CacheWriteTokens += d.CacheWriteTokens
	t.ReasoningTokens += d.ReasoningTokens
	t.Cost += d.Cost
	t.Fees += d.Fees
}

// UsageFilter selects events in [From, To) whose fields equal the
// non-empty ones here (providerId and model ignoring case).
type UsageFilter struct {
	From, To    time.Time
	AccessKeyID string
	AccountID   string
	ProviderID  string
	Model       string
}

// Match reports whether an event with these fields passes the filter's
// field tests (not its time range). The fields are bytes so an engine
// can test encoded records without copying them.
func (f *UsageFilter) Match(provider, model, accessKey, account []byte) bool {
	return (f.AccessKeyID == "" || string(accessKey) == f.AccessKeyID) &&
		(f.AccountID == "" || string(account) == f.AccountID) &&
		(f.ProviderID == "" || strings.EqualFold(string(provider), f.ProviderID)) &&
		(f.Model == "" || strings.EqualFold(string(model), f.Model))
}

// UsageList selects a page of events, newest first.
type UsageList struct {
	UsageFilter
	// IncludeRetries lists every attempt; otherwise only each request's
	// final attempt.
	IncludeRetries bool
	// BeforeID continues after this event (the last of the previous page).
	BeforeID string
	Limit    int // default 100
}

// ErrUnknownCursor is returned when UsageList.BeforeID names no event.
var ErrUnknownCursor = errors.New("no such usage event")

// UsageQuery selects usage events in [From, To) (To zero: no end).
type UsageQuery struct {
	From, To  time.Time
	RequestID string // when set, only this request's attempts
	Limit     int    // 0: no limit; the oldest events are kept
}

// UsageBucketSize is the width of an overview bucket.
type UsageBucketSize string

// Bucket sizes: UTC hours and UTC days.
const (
	BucketHour UsageBucketSize = "hour"
	BucketDay  UsageBucketSize = "day"
)

// UsageGroupBy is the dimension an overview splits its buckets by.
type UsageGroupBy string

// Dimensions. GroupByModel groups by provider and model: the same model
// name at two providers is two groups.
const (
	GroupByNone      UsageGroupBy = ""
	GroupByProvider  UsageGroupBy = "provider"
	GroupByModel     UsageGroupBy = "model"
	GroupByAccessKey UsageGroupBy = "accessKey"
	GroupByAccount   UsageGroupBy = "account"
)

// UsageOverviewQuery selects an overview.
type UsageOverviewQuery struct {
	UsageFilter
	Bucket  UsageBucketSize // default day
	GroupBy UsageGroupBy
}

// UsageBucket is one time bucket of one group. Only the dimensions
// grouped by are set.
type UsageBucket struct {
	Start       time.Time
	ProviderID  string
	Model       string
	AccessKeyID string
	AccountID   string
	UsageTotals
}

// UsageOverview is usage summed per bucket and group, in time order then
// group order, with the totals of the whole range.
type UsageOverview struct {
	Buckets []UsageBucket
	Totals  UsageTotals
}

// Finish sums the buckets into Totals and sorts them in the overview's
// order: by start, then provider, model, access key and account.
func (o *UsageOverview) Finish() {
	o.Totals = UsageTotals{}
	for _, b := range o.Buckets {
		o.Totals.Add(b.UsageTotals)
	}
	slices.SortFunc(o.Buckets, func(a, b UsageBucket) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ProviderID, b.ProviderID), cmp.Compare(a.Model, b.Model),
			cmp.Compare(a.AccessKeyID, b.AccessKeyID), cmp.Compare(a.AccountID, b.AccountID))
	})
}

// AccessKey is a gateway access key as stored. The token itself is never
// stored: only its SHA-256 hash.
type AccessKey struct {
	ID                       string     `json:"id"`
	Name                     string     `json:"name"`
	Description              string     `json:"description"`
	Metadata                 string     `json:"metadata"`
	AccountID                string     `json:"accountId"`
	AccessKeyConfigurationID string     `json:"accessKeyConfigurationId,omitempty"`
	Disabled                 bool       `json:"disabled"`
	ExpiresAt                *time.Time `json:"expiresAt,omitempty"`
	TokenHash                string     `json:"tokenHash"` // hex SHA-256
	// After a rotation the previous token keeps working until
	// PreviousValidUntil (the grace period).
	PreviousTokenHash  string     `json:"previousTokenHash,omitempty"`
	PreviousValidUntil *time.Time `json:"previousValidUntil,omitempty"`
	KeyRedacted        string     `json:"keyRedacted"`
	LastUsed           *time.Time `json:"lastUsed,omitempty"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
}

// Hash returns the decoded token hash.
func (k *AccessKey) Hash() (secrets.Hash, error) { return DecodeHash(k.ID, k.TokenHash) }

// PreviousHash returns the hash of the token replaced by the last
// rotation, if any.
func (k *AccessKey) PreviousHash() (secrets.Hash, bool) {
	if k.PreviousTokenHash == "" {
		return secrets.Hash{}, false
	}
	h, err := DecodeHash(k.ID, k.PreviousTokenHash)
	return h, err == nil
}

// DecodeHash decodes the hex token hash of access key id.
func DecodeHash(id, hexHash string) (secrets.Hash, error) {
	var h secrets.Hash
	b, err := hex.DecodeString(hexHash)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%s: malformed token hash", id)
	}
	copy(h[:], b)
	return h, nil
}

// Resource kinds: the management resources other than access keys, which
// engines store as JSON documents by id. They are few and change rarely;
// the gateway keeps them in memory and reloads them after every change.
const (
	Accounts         = "accounts"
	Configurations   = "access_key_configurations"
	CustomProviders  = "custom_providers"
	ProviderKeys     = "provider_keys"
	APIKeys          = "api_keys"
	VirtualModels    = "virtual_models"
	FirewallPolicies = "firewall_policies"
	Settings         = "settings" // singletons such as the gateway config
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// AccessKeys is the kind of access keys (for reads; writes go through
// the engine's PutAccessKey and DeleteAccessKey, which keep the token
// hash index).
const AccessKeys = "access_keys"

// Kinds lists every resource kind, access keys included.
var Kinds = []string{Accounts, Configurations, CustomProviders, ProviderKeys, APIKeys, VirtualModels, FirewallPolicies, Settings, AccessKeys}
