package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func init() {
	handle("GET /ai/usage", listUsage)
	handle("GET /ai/usage/overview", usageOverview)
	handle("GET /ai/usage/requests/{requestId}", requestUsage)
}

// usageEvent is a usage event as the API shows it: the stored fields
// (absent ones omitted) and the link to its request's attempts.
type usageEvent struct {
	*store.UsageEvent
	RequestURI string `json:"requestUri"`
}

func viewUsageEvents(evs []*store.UsageEvent) []usageEvent {
	out := make([]usageEvent, len(evs))
	for i, e := range evs {
		out[i] = usageEvent{UsageEvent: e, RequestURI: requestUsageURI(e.RequestID)}
	}
	return out
}

func requestUsageURI(id string) string { return "/ai/usage/requests/" + url.PathEscape(id) }

// usageTotals are summed usage events.
type usageTotals struct {
	Requests         int64      `json:"requests"`       // requests whose final attempt is counted here
	FailedRequests   int64      `json:"failedRequests"` // of those, the ones that did not succeed
	Attempts         int64      `json:"attempts"`
	InputTokens      int64      `json:"inputTokens"`
	OutputTokens     int64      `json:"outputTokens"`
	CacheReadTokens  int64      `json:"cacheReadTokens"`
	CacheWriteTokens int64      `json:"cacheWriteTokens"`
	ReasoningTokens  int64      `json:"reasoningTokens"`
	Cost             money.Nano `json:"cost"`
	Fees             money.Nano `json:"fees"`  // processing and BYOK fees
	Spent            money.Nano `json:"spent"` // cost + fees: what was drawn from credits
}

func viewUsageTotals(t store.UsageTotals) usageTotals {
	return usageTotals{Requests: t.Requests, FailedRequests: t.FailedRequests, Attempts: t.Attempts,
		InputTokens: t.InputTokens, OutputTokens: t.OutputTokens, CacheReadTokens: t.CacheReadTokens,
		CacheWriteTokens: t.CacheWriteTokens, ReasoningTokens: t.ReasoningTokens, Cost: t.Cost, Fees: t.Fees, Spent: t.Cost + t.Fees}
}

// usageBucket is one time bucket of one group: only the dimensions
// grouped by are set.
type usageBucket struct {
	Start       time.Time `json:"start"`
	ProviderID  string    `json:"providerId,omitempty"`
	Model       string    `json:"model,omitempty"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	AccountID   string    `json:"accountId,omitempty"`
	usageTotals
}

// usageOverviewView is the answer of GET /ai/usage/overview.
type usageOverviewView struct {
	URI     string        `json:"uri"`
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Bucket  string        `json:"bucket"`  // hour | day
	GroupBy *string       `json:"groupBy"` // null: not grouped
	Buckets []usageBucket `json:"buckets"` // in time order, then group order
	Totals  usageTotals   `json:"totals"`  // over the whole range
	// Credits is the account's balance now, when filtered by accountId.
	Credits *creditsView `json:"credits,omitempty"`
}

type creditsView struct {
	Balance   money.Nano `json:"balance"`
	Held      money.Nano `json:"held"`
	Available money.Nano `json:"available"`
}

// requestUsageView is the answer of GET /ai/usage/requests/{requestId}.
type requestUsageView struct {
	RequestID string       `json:"requestId"`
	URI       string       `json:"uri"`
	Outcome   *string      `json:"outcome"` // the final attempt's retryAction; null while none is recorded
	Cost      money.Nano   `json:"cost"`    // of every attempt
	Attempts  []usageEvent `json:"attempts"`
}

// usageQuery reads a usage query string strictly: only the parameters
// named, each at most once. An empty value is the same as none.
func usageQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apiError(http.StatusBadRequest, "malformed query string: "+err.Error())
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case len(allowed) == 0:
			return nil, apiError(http.StatusBadRequest, k+": unknown parameter (this resource takes none)")
		case !slices.Contains(allowed, k):
			return nil, apiError(http.StatusBadRequest, fmt.Sprintf("%s: unknown parameter (allowed: %s)", k, strings.Join(allowed, ", ")))
		case len(q[k]) > 1:
			return nil, apiError(http.StatusBadRequest, k+": given more than once")
		}
	}
	return q, nil
}

// usageTime parses a required RFC 3339 time parameter. A space stands for
// a '+' of a UTC offset that was not URL-encoded (…T10:00:00+02:00).
func usageTime(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, apiError(http.StatusBadRequest, name+": required, an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	if err != nil {
		return time.Time{}, apiError(http.StatusBadRequest, name+": must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// usageFilter reads from, to and the dimension filters.
func usageFilter(q url.Values) (store.UsageFilter, error) {
	var f store.UsageFilter
	var err error
	if f.From, err = usageTime(q, "from"); err != nil {
		return f, err
	}
	if f.To, err = usageTime(q, "to"); err != nil {
		return f, err
	}
	if !f.To.After(f.From) {
		return f, apiError(http.StatusBadRequest, "to: must be after from")
	}
	f.AccessKeyID, f.AccountID = q.Get("accessKeyId"), q.Get("accountId")
	f.ProviderID, f.Model = q.Get("providerId"), q.Get("model")
	return f, nil
}

// filterValues is f as query parameters, for the next page's link.
func filterValues(f store.UsageFilter) url.Values {
	v := url.Values{}
	v.Set("from", f.From.UTC().Format(time.RFC3339Nano))
	v.Set("to", f.To.UTC().Format(time.RFC3339Nano))
	for name, val := range map[string]string{"accessKeyId": f.AccessKeyID, "accountId": f.AccountID, "providerId": f.ProviderID, "model": f.Model} {
		if val != "" {
			v.Set(name, val)
		}
	}
	return v
}

var usageFilterParams = []string{"from", "to", "accessKeyId", "accountId", "providerId", "model"}

// listUsage: GET /ai/usage — events newest first, by default only each
// request's final attempt; ?includeRetries=true lists every attempt.
func listUsage(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	q, err := usageQuery(r, slices.Concat(usageFilterParams, []string{"includeRetries", "limit", "beforeId"})...)
	if err != nil {
		return err
	}
	f, err := usageFilter(q)
	if err != nil {
		return err
	}
	limit, beforeID, err := paging(r)
	if err != nil {
		return err
	}
	list := store.UsageList{UsageFilter: f, BeforeID: beforeID, Limit: limit}
	if s := q.Get("includeRetries"); s != "" {
		if list.IncludeRetries, err = strconv.ParseBool(s); err != nil {
			return apiError(http.StatusBadRequest, "includeRetries: must be true or false")
		}
	}
	evs, more, err := app.Manage().ListUsage(r.Context(), list)
	if err != nil {
		return storeError(err)
	}
	var next *string
	if more {
		v := filterValues(f)
		if list.IncludeRetries {
			v.Set("includeRetries", "true")
		}
		v.Set("limit", strconv.Itoa(limit))
		v.Set("beforeId", evs[len(evs)-1].ID)
		u := "/ai/usage?" + v.Encode()
		next = &u
	}
	return writeJSON(w, http.StatusOK, map[string]any{"usage": viewUsageEvents(evs), "uri": "/ai/usage", "nextPageUri": next})
}

// usageOverview: GET /ai/usage/overview — usage summed per UTC hour or
// day (?bucket=, default day), optionally per ?groupBy= dimension, with
// the totals of the range.
func usageOverview(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	q, err := usageQuery(r, slices.Concat(usageFilterParams, []string{"bucket", "groupBy"})...)
	if err != nil {
		return err
	}
	f, err := usageFilter(q)
	if err != nil {
		return err
	}
	oq := store.UsageOverviewQuery{UsageFilter: f, Bucket: store.BucketDay, GroupBy: store.UsageGroupBy(q.Get("groupBy"))}
	switch b := q.Get("bucket"); b {
	case "":
	case string(store.BucketHour), string(store.BucketDay):
		oq.Bucket = store.UsageBucketSize(b)
	default:
		return apiError(http.StatusBadRequest, "bucket: must be hour or day")
	}
	o, err := app.Manage().UsageOverview(r.Context(), oq)
	if err != nil {
		return storeError(err)
	}
	buckets := make([]usageBucket, len(o.Buckets))
	for i, b := range o.Buckets {
		buckets[i] = usageBucket{Start: b.Start, ProviderID: b.ProviderID, Model: b.Model, AccessKeyID: b.AccessKeyID,
			AccountID: b.AccountID, usageTotals: viewUsageTotals(b.UsageTotals)}
	}
	var groupBy *string
	if oq.GroupBy != store.GroupByNone {
		g := string(oq.GroupBy)
		groupBy = &g
	}
	view := usageOverviewView{URI: "/ai/usage/overview", From: f.From, To: f.To,
		Bucket: string(oq.Bucket), GroupBy: groupBy, Buckets: buckets, Totals: viewUsageTotals(o.Totals)}
	if f.AccountID != "" {
		// the account's credits now, beside what the range spent
		if b, err := app.Manage().CreditBalance(f.AccountID); err == nil {
			view.Credits = &creditsView{Balance: b.Balance, Held: b.Held, Available: b.Available}
		}
	}
	return writeJSON(w, http.StatusOK, view)
}

// requestUsage: GET /ai/usage/requests/{requestId} — the request's
// attempts in order; each one's retryAction says why the gateway moved
// on, and the last one's how the request ended.
func requestUsage(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	if _, err := usageQuery(r); err != nil {
		return err
	}
	id := r.PathValue("requestId")
	evs, err := app.Manage().RequestUsage(r.Context(), id)
	if err != nil {
		return storeError(err)
	}
	var outcome *string
	var cost money.Nano
	for _, e := range evs {
		cost += e.Cost
		if e.Final() {
			action := e.RetryAction
			outcome = &action
		}
	}
	return writeJSON(w, http.StatusOK, requestUsageView{RequestID: id, URI: requestUsageURI(id), Outcome: outcome,
		Cost: cost, Attempts: viewUsageEvents(evs)})
}
