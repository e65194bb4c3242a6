package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func init() {
	handle("GET /ai/usage", listUsage)
	handle("GET /ai/usage/overview", usageOverview)
	handle("GET /ai/usage/requests/{requestId}", requestUsage)
}

// usageEvent is a usage event as the API shows it: the stored fields
// (absent ones omitted), the link to its request's attempts, and the
// same facts under ngrok.ai's names (eventTime, attemptNumber, …) so an
// ngrok.ai client reads it unchanged. Fields both APIs name alike
// (stopReason, cacheReadTokens, keySource, usageEstimated, …) appear once.
type usageEvent struct {
	*store.UsageEvent
	RequestURI string `json:"requestUri"`

	EventTime      time.Time  `json:"eventTime"`      // = timestamp
	Provider       string     `json:"provider"`       // = providerId
	AttemptNumber  int        `json:"attemptNumber"`  // = attempt
	IsFinalAttempt bool       `json:"isFinalAttempt"` // the attempt that ended its request
	StatusCode     int        `json:"statusCode"`     // = status
	TimedOut       bool       `json:"timedOut"`       // a gateway timeout ended it
	IsError        bool       `json:"isError"`        // it did not answer in full
	IsStreaming    bool       `json:"isStreaming"`    // = streaming
	TotalCost      money.Nano `json:"totalCost"`      // cost + fee: what the attempt drew
	// The attempt in ngrok.ai's request-attempts terms: whether its answer
	// went to the client, how it ended and how long the upstream took.
	Served             bool   `json:"served"`
	Completion         string `json:"completion"`
	UpstreamDurationMs int64  `json:"upstreamDurationMs"` // = latencyMs
}

// Completions: how an attempt ended (usageEvent.Completion).
const (
	completionCompleted    = "completed"      // answered in full
	completionInterrupted  = "interrupted"    // a stream that broke or stalled after it started
	completionTimeout      = "timeout"        // a gateway timeout, before or during the answer
	completionUpstreamErr  = "upstream_error" // the provider answered with an error status
	completionNetworkErr   = "network_error"  // no answer: the connection failed
	completionClientClosed = "client_closed"  // the client went away
)

// gatewayTimeouts start the error texts of attempts a gateway timeout
// ended (per_request_timeout, first_token_timeout, stream_idle_timeout,
// total_timeout).
var gatewayTimeouts = []string{"no answer within ", "no first token within ", "stream stalled ("}

func timedOut(e *store.UsageEvent) bool {
	for _, p := range gatewayTimeouts {
		if strings.HasPrefix(e.Error, p) {
			return true
		}
	}
	return false
}

func completion(e *store.UsageEvent) string {
	switch {
	case e.RetryAction == store.RetrySucceeded:
		return completionCompleted
	case e.RetryAction == store.RetryClientClosed:
		return completionClientClosed
	case timedOut(e):
		return completionTimeout
	case e.Status >= 400:
		return completionUpstreamErr
	case e.Status >= 200 && e.Status < 300:
		return completionInterrupted
	}
	return completionNetworkErr
}

func viewUsageEvent(e *store.UsageEvent) usageEvent {
	final := e.Final()
	return usageEvent{UsageEvent: e, RequestURI: requestUsageURI(e.RequestID),
		EventTime: e.Timestamp, Provider: e.ProviderID, AttemptNumber: e.Attempt, IsFinalAttempt: final,
		StatusCode: e.Status, TimedOut: timedOut(e), IsError: e.RetryAction != store.RetrySucceeded,
		IsStreaming: e.Streaming, TotalCost: e.Cost + e.Fee,
		Served:     final && e.Status >= 200 && e.Status < 300,
		Completion: completion(e), UpstreamDurationMs: e.LatencyMs}
}

func viewUsageEvents(evs []*store.UsageEvent) []usageEvent {
	out := make([]usageEvent, len(evs))
	for i, e := range evs {
		out[i] = viewUsageEvent(e)
	}
	return out
}

func requestUsageURI(id string) string { return "/ai/usage/requests/" + url.PathEscape(id) }

// usageTotals are summed usage events.
type usageTotals struct {
	Requests         int64      `json:"requests"`       // requests whose final attempt is counted here
	FailedRequests   int64      `json:"failedRequests"` // of those, the ones that did not succeed
	Errors           int64      `json:"errors"`         // = failedRequests (ngrok.ai's name)
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
	return usageTotals{Requests: t.Requests, FailedRequests: t.FailedRequests, Errors: t.FailedRequests, Attempts: t.Attempts,
		InputTokens: t.InputTokens, OutputTokens: t.OutputTokens, CacheReadTokens: t.CacheReadTokens,
		CacheWriteTokens: t.CacheWriteTokens, ReasoningTokens: t.ReasoningTokens, Cost: t.Cost, Fees: t.Fees, Spent: t.Cost + t.Fees}
}

// usageBucket is one time bucket of one group: only the dimensions
// grouped by are set.
type usageBucket struct {
	Start       time.Time `json:"start"`
	BucketStart time.Time `json:"bucketStart"`        // = start (ngrok.ai's name)
	GroupKey    string    `json:"groupKey,omitempty"` // the group's value: a provider, provider:model, access key or account id
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

// Parameters that ngrok.ai names differently: each pair names one
// thing, either spelling is accepted, and both at once must agree.
var usageAliases = [...]struct{ ours, ngrok string }{
	{"from", "startTime"},
	{"to", "endTime"},
	{"beforeId", "cursor"},
}

// aliased returns the value of the parameter spelled ours or ngrok, the
// name it was given by (ours when neither), and an error when both are
// given and differ (same compares two values).
func aliased(q url.Values, ours, ngrok string, same func(a, b string) bool) (val, name string, err error) {
	a, b := q.Get(ours), q.Get(ngrok)
	switch {
	case b == "":
		return a, ours, nil
	case a == "":
		return b, ngrok, nil
	case !same(a, b):
		return "", "", apiError(http.StatusBadRequest, fmt.Sprintf("%s and %s name the same thing (ours and ngrok.ai's spelling): give one, or both alike", ours, ngrok))
	}
	return a, ours, nil
}

// parseUsageTime parses an RFC 3339 time parameter. A space stands for
// a '+' of a UTC offset that was not URL-encoded (…T10:00:00+02:00).
func parseUsageTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	if err != nil {
		return time.Time{}, apiError(http.StatusBadRequest, name+": must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// sameTime reports whether two time parameters name the same instant
// (either unparsable: compared as written, the parse reports it).
func sameTime(a, b string) bool {
	ta, ea := time.Parse(time.RFC3339Nano, strings.ReplaceAll(a, " ", "+"))
	tb, eb := time.Parse(time.RFC3339Nano, strings.ReplaceAll(b, " ", "+"))
	if ea != nil || eb != nil {
		return a == b
	}
	return ta.Equal(tb)
}

func sameString(a, b string) bool { return a == b }

// usageWindow is a usage query's time range and filters, and whether it
// was asked in ngrok.ai's spelling (startTime…), which its links keep.
type usageWindow struct {
	store.UsageFilter
	ngrok bool
}

// usageFilter reads the range (from or startTime, required; to or
// endTime, required but for startTime, whose end defaults to now as in
// ngrok.ai) and the dimension filters.
func usageFilter(q url.Values) (usageWindow, error) {
	var w usageWindow
	from, fromName, err := aliased(q, "from", "startTime", sameTime)
	if err != nil {
		return w, err
	}
	to, toName, err := aliased(q, "to", "endTime", sameTime)
	if err != nil {
		return w, err
	}
	w.ngrok = fromName == "startTime" || toName == "endTime"
	if from == "" {
		return w, apiError(http.StatusBadRequest, fromName+": required, an RFC 3339 time such as 2026-01-02T15:04:05Z (startTime is accepted for from)")
	}
	if w.From, err = parseUsageTime(fromName, from); err != nil {
		return w, err
	}
	switch {
	case to != "":
		if w.To, err = parseUsageTime(toName, to); err != nil {
			return w, err
		}
	case fromName == "startTime": // ngrok.ai's endTime defaults to now
		w.To = now().UTC()
	default:
		return w, apiError(http.StatusBadRequest, "to: required, an RFC 3339 time such as 2026-01-02T15:04:05Z (or give startTime, whose endTime defaults to now)")
	}
	if !w.To.After(w.From) {
		return w, apiError(http.StatusBadRequest, toName+": must be after "+fromName)
	}
	w.AccessKeyID, w.AccountID = q.Get("accessKeyId"), q.Get("accountId")
	w.ProviderID, w.Model = q.Get("providerId"), q.Get("model")
	return w, nil
}

// values is w as query parameters, for the next page's link, spelled as
// the request spelled them.
func (w usageWindow) values() url.Values {
	from, to := "from", "to"
	if w.ngrok {
		from, to = "startTime", "endTime"
	}
	v := url.Values{}
	v.Set(from, w.From.UTC().Format(time.RFC3339Nano))
	v.Set(to, w.To.UTC().Format(time.RFC3339Nano))
	for name, val := range map[string]string{"accessKeyId": w.AccessKeyID, "accountId": w.AccountID, "providerId": w.ProviderID, "model": w.Model} {
		if val != "" {
			v.Set(name, val)
		}
	}
	return v
}

var usageFilterParams = []string{"from", "startTime", "to", "endTime", "accessKeyId", "accountId", "providerId", "model"}

// listUsage: GET /ai/usage — events newest first, by default only each
// request's final attempt; ?includeRetries=true lists every attempt.
// Paged by ?limit= and ?beforeId= (ngrok.ai: ?cursor=, the same event id);
// the list is both `usage` and, for ngrok.ai clients, `aiGatewayUsage`.
func listUsage(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	q, err := usageQuery(r, slices.Concat(usageFilterParams, []string{"includeRetries", "limit", "beforeId", "cursor"})...)
	if err != nil {
		return err
	}
	win, err := usageFilter(q)
	if err != nil {
		return err
	}
	limit, _, err := paging(r)
	if err != nil {
		return err
	}
	beforeID, cursorName, err := aliased(q, "beforeId", "cursor", sameString)
	if err != nil {
		return err
	}
	list := store.UsageList{UsageFilter: win.UsageFilter, BeforeID: beforeID, Limit: limit}
	if s := q.Get("includeRetries"); s != "" {
		if list.IncludeRetries, err = strconv.ParseBool(s); err != nil {
			return apiError(http.StatusBadRequest, "includeRetries: must be true or false")
		}
	}
	evs, more, err := app.Manage().ListUsage(r.Context(), list)
	if err != nil {
		var inv *manage.InvalidError
		if errors.As(err, &inv) && inv.Field == "beforeId" {
			inv.Field = cursorName
		}
		return storeError(err)
	}
	var next *string
	if more {
		v := win.values()
		if list.IncludeRetries {
			v.Set("includeRetries", "true")
		}
		v.Set("limit", strconv.Itoa(limit))
		if win.ngrok || cursorName == "cursor" {
			v.Set("cursor", evs[len(evs)-1].ID)
		} else {
			v.Set("beforeId", evs[len(evs)-1].ID)
		}
		u := "/ai/usage?" + v.Encode()
		next = &u
	}
	view := viewUsageEvents(evs)
	return writeJSON(w, http.StatusOK, map[string]any{"usage": view, "aiGatewayUsage": view, "uri": "/ai/usage", "nextPageUri": next})
}

// groupKey is a bucket's group as one string (ngrok.ai's groupKey).
func groupKey(g store.UsageGroupBy, b store.UsageBucket) string {
	switch g {
	case store.GroupByProvider:
		return b.ProviderID
	case store.GroupByModel:
		return b.ProviderID + ":" + b.Model
	case store.GroupByAccessKey:
		return b.AccessKeyID
	case store.GroupByAccount:
		return b.AccountID
	}
	return ""
}

// usageOverview: GET /ai/usage/overview — usage summed per UTC hour or
// day (?bucket=, default day), optionally per ?groupBy= dimension, with
// the totals of the range. Asked in ngrok.ai's spelling (startTime), it
// groups by provider unless told otherwise, as ngrok.ai does.
func usageOverview(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	q, err := usageQuery(r, slices.Concat(usageFilterParams, []string{"bucket", "groupBy"})...)
	if err != nil {
		return err
	}
	win, err := usageFilter(q)
	if err != nil {
		return err
	}
	f := win.UsageFilter
	oq := store.UsageOverviewQuery{UsageFilter: f, Bucket: store.BucketDay, GroupBy: store.UsageGroupBy(q.Get("groupBy"))}
	if !q.Has("groupBy") && win.ngrok {
		oq.GroupBy = store.GroupByProvider
	}
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
		buckets[i] = usageBucket{Start: b.Start, BucketStart: b.Start, GroupKey: groupKey(oq.GroupBy, b), ProviderID: b.ProviderID,
			Model: b.Model, AccessKeyID: b.AccessKeyID, AccountID: b.AccountID, usageTotals: viewUsageTotals(b.UsageTotals)}
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
