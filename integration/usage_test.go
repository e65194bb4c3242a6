package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// usageEventView is an event as /ai/usage shows it.
type usageEventView struct {
	ID, RequestID, RequestURI, AccessKeyID, AccountID, ProviderID, Model, Endpoint, KeySource string
	Attempt, Status                                                                           int
	Timestamp                                                                                 time.Time
	InputTokens, OutputTokens, LatencyMs                                                      int64
	Cost                                                                                      money.Nano
	RetryAction, Error                                                                        string
}

type usagePage struct {
	Usage       []usageEventView
	URI         string
	NextPageURI *string
}

type usageTotalsView struct {
	Requests, FailedRequests, Attempts, InputTokens, OutputTokens int64
	Cost                                                          money.Nano
}

type usageOverviewView struct {
	URI     string
	Bucket  string
	GroupBy *string
	Buckets []struct {
		Start                                     time.Time
		ProviderID, Model, AccessKeyID, AccountID string
		usageTotalsView
	}
	Totals usageTotalsView
}

// TestUsageAPI sends requests through the gateway (a success, one from a
// second access key to Anthropic, one whose every attempt fails) and reads
// them back through /ai/usage, /ai/usage/overview and
// /ai/usage/requests/{requestId}.
func TestUsageAPI(t *testing.T) {
	e := start(t, cfgOpts{})
	token2 := e.createKey(`{"name":"second"}`)
	from := time.Now().Add(-time.Minute).UTC()

	send := func(path, body string, hdr map[string]string, wantStatus int) string {
		t.Helper()
		resp := e.post(path, body, hdr)
		b := readAll(t, resp)
		if resp.StatusCode != wantStatus {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return resp.Header.Get("AI-Gateway-Request-Id")
	}
	okID := send("/v1/chat/completions", chatBody, e.bearer(), 200)
	anthropicID := send("/v1/messages", `{"model":"claude-sonnet-4-6","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": token2, "anthropic-version": "2023-06-01"}, 200)
	failedID := send("/v1/chat/completions", `{"model":"gpt-4o","models":["gpt-4o-mini"],"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + e.token, "X-Fake-Status": "500"}, http.StatusBadGateway)
	key1 := e.usageFor(okID, 1)[0].AccessKeyID
	key2 := e.usageFor(anthropicID, 1)[0].AccessKeyID
	e.usageFor(failedID, 2)
	to := time.Now().Add(time.Minute).UTC()
	rng := "from=" + url.QueryEscape(from.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339Nano))

	get := func(path string, v any) {
		t.Helper()
		st, b := e.admin("GET", path, "")
		if st != 200 {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		mustJSON(t, b, v)
	}
	requestIDs := func(evs []usageEventView) string {
		var ids []string
		for _, ev := range evs {
			ids = append(ids, ev.RequestID+"/"+ev.RetryAction)
		}
		return strings.Join(ids, " ")
	}

	t.Run("list", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string // requestId/retryAction, newest first
		}{
			{"", []string{failedID + "/exhausted", anthropicID + "/succeeded", okID + "/succeeded"}},
			{"&includeRetries=false", []string{failedID + "/exhausted", anthropicID + "/succeeded", okID + "/succeeded"}},
			{"&includeRetries=true", []string{failedID + "/exhausted", failedID + "/next_backend", anthropicID + "/succeeded", okID + "/succeeded"}},
			{"&accessKeyId=" + key2, []string{anthropicID + "/succeeded"}},
			{"&accessKeyId=" + key1 + "&includeRetries=true", []string{failedID + "/exhausted", failedID + "/next_backend", okID + "/succeeded"}},
			{"&accountId=default", []string{failedID + "/exhausted", anthropicID + "/succeeded", okID + "/succeeded"}},
			{"&accountId=acct_nobody", nil},
			{"&providerId=anthropic", []string{anthropicID + "/succeeded"}},
			{"&model=gpt-4o&includeRetries=true", []string{failedID + "/next_backend"}},
			{"&model=GPT-4O-MINI", []string{failedID + "/exhausted", okID + "/succeeded"}},
			{"&accessKeyId=", []string{failedID + "/exhausted", anthropicID + "/succeeded", okID + "/succeeded"}},
		} {
			var page usagePage
			get("/ai/usage?"+rng+tc.query, &page)
			if got := requestIDs(page.Usage); got != strings.Join(tc.want, " ") {
				t.Errorf("%s:\n got %s\nwant %s", tc.query, got, strings.Join(tc.want, " "))
			}
			if page.URI != "/ai/usage" || page.NextPageURI != nil {
				t.Errorf("%s: uri %q, nextPageUri %v", tc.query, page.URI, page.NextPageURI)
			}
		}

		var page usagePage
		get("/ai/usage?"+rng+"&accessKeyId="+key1, &page)
		ok := page.Usage[1]
		if ok.ID == "" || ok.RequestURI != "/ai/usage/requests/"+okID || ok.AccessKeyID != key1 || ok.AccountID != "default" ||
			ok.ProviderID != "openai" || ok.Model != "gpt-4o-mini" || ok.Status != 200 || ok.Cost <= 0 || ok.InputTokens == 0 ||
			ok.Endpoint == "" || ok.KeySource != "managed" || ok.Attempt != 1 || ok.Timestamp.Before(from) {
			t.Errorf("event %+v", ok)
		}
		if failed := page.Usage[0]; failed.Status != 500 || failed.Error == "" || failed.Attempt != 2 {
			t.Errorf("failed attempt %+v", failed)
		}
	})

	t.Run("paging", func(t *testing.T) {
		var all usagePage
		get("/ai/usage?"+rng+"&includeRetries=true", &all)
		var paged []usageEventView
		next := "/ai/usage?" + rng + "&includeRetries=true&limit=1"
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			var page usagePage
			get(next, &page)
			paged = append(paged, page.Usage...)
			next = ""
			if page.NextPageURI != nil {
				next = *page.NextPageURI
				if len(page.Usage) != 1 || !strings.Contains(next, "includeRetries=true") || !strings.Contains(next, "beforeId="+page.Usage[0].ID) {
					t.Fatalf("page %d: %d events, next %s", pages, len(page.Usage), next)
				}
			}
		}
		if len(paged) != 4 || requestIDs(paged) != requestIDs(all.Usage) {
			t.Fatalf("paged:\n%s\nwant\n%s", requestIDs(paged), requestIDs(all.Usage))
		}
		for i := 1; i < len(paged); i++ {
			if paged[i].Timestamp.After(paged[i-1].Timestamp) {
				t.Fatal("not newest first")
			}
		}
	})

	t.Run("overview", func(t *testing.T) {
		// Whole hours around now: the hourly rollups answer.
		hour := time.Now().UTC().Truncate(time.Hour)
		hours := "from=" + hour.Add(-time.Hour).Format(time.RFC3339) + "&to=" + hour.Add(2*time.Hour).Format(time.RFC3339)
		var events usagePage
		get("/ai/usage?"+rng+"&includeRetries=true", &events)
		var cost money.Nano
		for _, ev := range events.Usage {
			cost += ev.Cost
		}
		for _, tc := range []struct {
			query string
			want  map[string][2]int64 // group → requests, attempts
		}{
			{rng + "&bucket=hour&groupBy=model", map[string][2]int64{"openai/gpt-4o": {0, 1}, "openai/gpt-4o-mini": {2, 2}, "anthropic/claude-sonnet-4-6": {1, 1}}},
			{hours + "&bucket=hour&groupBy=model", map[string][2]int64{"openai/gpt-4o": {0, 1}, "openai/gpt-4o-mini": {2, 2}, "anthropic/claude-sonnet-4-6": {1, 1}}},
			{hours + "&groupBy=provider", map[string][2]int64{"openai": {2, 3}, "anthropic": {1, 1}}},
			{hours + "&bucket=hour&groupBy=accessKey", map[string][2]int64{key1: {2, 3}, key2: {1, 1}}},
			{rng + "&bucket=day&groupBy=account", map[string][2]int64{"default": {3, 4}}},
			{hours + "&bucket=day", map[string][2]int64{"": {3, 4}}},
			{hours + "&bucket=hour&groupBy=model&accessKeyId=" + key1, map[string][2]int64{"openai/gpt-4o": {0, 1}, "openai/gpt-4o-mini": {2, 2}}},
		} {
			var o usageOverviewView
			get("/ai/usage/overview?"+tc.query, &o)
			got := map[string][2]int64{}
			for _, b := range o.Buckets {
				g := strings.Trim(strings.Join([]string{b.ProviderID, b.Model, b.AccessKeyID, b.AccountID}, "/"), "/")
				g = strings.ReplaceAll(g, "//", "/")
				got[g] = [2]int64{got[g][0] + b.Requests, got[g][1] + b.Attempts}
				if b.Start.Minute() != 0 || b.Start.Second() != 0 || (o.Bucket == "day" && b.Start.Hour() != 0) {
					t.Errorf("%s: bucket start %s", tc.query, b.Start)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s:\n got %v\nwant %v", tc.query, got, tc.want)
			}
			if o.URI != "/ai/usage/overview" {
				t.Errorf("uri %q", o.URI)
			}
			if !strings.Contains(tc.query, "accessKeyId") && (o.Totals.Requests != 3 || o.Totals.Attempts != 4 ||
				o.Totals.FailedRequests != 1 || o.Totals.Cost != cost) {
				t.Errorf("%s: totals %+v, want 3 requests, 4 attempts, 1 failed, cost %s", tc.query, o.Totals, cost)
			}
		}
	})

	t.Run("request", func(t *testing.T) {
		var v struct {
			RequestID, URI string
			Outcome        *string
			Cost           money.Nano
			Attempts       []usageEventView
		}
		get("/ai/usage/requests/"+failedID, &v)
		if v.RequestID != failedID || v.URI != "/ai/usage/requests/"+failedID || v.Outcome == nil || *v.Outcome != "exhausted" || len(v.Attempts) != 2 {
			t.Fatalf("%+v", v)
		}
		a1, a2 := v.Attempts[0], v.Attempts[1]
		if a1.Attempt != 1 || a1.RetryAction != "next_backend" || a1.Status != 500 || a1.Model != "gpt-4o" || a1.Error == "" ||
			a2.Attempt != 2 || a2.RetryAction != "exhausted" || a2.Model != "gpt-4o-mini" {
			t.Fatalf("attempts %+v", v.Attempts)
		}
		get("/ai/usage/requests/"+okID, &v)
		if len(v.Attempts) != 1 || *v.Outcome != "succeeded" || v.Cost <= 0 || v.Cost != v.Attempts[0].Cost {
			t.Fatalf("%+v", v)
		}
		if st, b := e.admin("GET", "/ai/usage/requests/req_nothing", ""); st != 404 {
			t.Fatalf("unknown request: %d %s", st, b)
		}
	})

	t.Run("validation", func(t *testing.T) {
		long := "from=2026-01-01T00:00:00Z&to=2026-02-15T00:00:00Z"
		for _, tc := range []struct{ path, param string }{
			{"/ai/usage", "from"},
			{"/ai/usage?from=2026-01-01T00:00:00Z", "to"},
			{"/ai/usage?from=yesterday&to=2026-01-01T00:00:00Z", "from"},
			{"/ai/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
			{"/ai/usage?" + rng + "&limit=0", "limit"},
			{"/ai/usage?" + rng + "&limit=101", "limit"},
			{"/ai/usage?" + rng + "&includeRetries=maybe", "includeRetries"},
			{"/ai/usage?" + rng + "&colour=blue", "colour"},
			{"/ai/usage?" + rng + "&model=a&model=b", "model"},
			{"/ai/usage?" + rng + "&beforeId=ue_nothing", "beforeId"},
			{"/ai/usage/overview?" + rng + "&bucket=week", "bucket"},
			{"/ai/usage/overview?" + rng + "&groupBy=colour", "groupBy"},
			{"/ai/usage/overview?" + long + "&bucket=hour", "to"},
			{"/ai/usage/overview?" + rng + "&limit=5", "limit"},
			{"/ai/usage/requests/" + okID + "?verbose=1", "verbose"},
		} {
			st, b := e.admin("GET", tc.path, "")
			if st != 400 || !strings.Contains(string(b), tc.param) {
				t.Errorf("GET %s: %d %s (want 400 naming %s)", tc.path, st, b, tc.param)
			}
		}
		// A '+' offset that was not URL-encoded arrives as a space.
		plus := "from=" + from.In(time.FixedZone("", 2*3600)).Format(time.RFC3339) + "&to=" + to.Format(time.RFC3339)
		var page usagePage
		get("/ai/usage?"+plus, &page)
		if len(page.Usage) != 3 {
			t.Errorf("unencoded + offset: %d events", len(page.Usage))
		}
		if st, _ := e.adminWith("", "GET", "/ai/usage?"+rng, ""); st != 401 {
			t.Errorf("without a management key: %d", st)
		}
		if st, _ := e.admin("POST", "/ai/usage?"+rng, ""); st != 405 {
			t.Errorf("POST: %d", st)
		}
	})
}
