package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// TestNgrokCompat replays, unchanged, the management calls of ngrok.ai's
// API reference (https://ngrok.com/docs/ai-gateway/api-reference): a
// custom provider created and updated in ngrok.ai's shape, usage listed by
// startTime/endTime and paged by cursor, the overview grouped by provider
// and by access key, and one request's attempts; each answer read by
// ngrok.ai's member names.
func TestNgrokCompat(t *testing.T) {
	e := start(t, cfgOpts{})
	defer e.fake.SetOptions(fakeprovider.Options{})
	since := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)

	// POST /providers, as in "Use a model you run yourself".
	st, b := e.admin("POST", "/ai/providers", `{
		"providerId": "my-ollama",
		"name": "Local Ollama",
		"baseUrl": "`+e.fakeURL+`/ollama/v1",
		"supportedApiSurfaces": [{ "format": "openai", "surface": "chat-completions" }],
		"models": [{ "modelId": "llama3.2" }]
	}`)
	if st != http.StatusCreated {
		t.Fatalf("create provider, ngrok.ai's shape: %d %s", st, b)
	}
	var prov struct {
		ID, URI, ProviderID, Name, BaseURL, Format string
		SupportedAPISurfaces                       []struct{ Format, Surface string } `json:"supportedApiSurfaces"`
		Models                                     []struct{ ID, ModelID string }     `json:"models"`
	}
	mustJSON(t, b, &prov)
	if prov.ProviderID != "my-ollama" || prov.Format != "openai" || len(prov.Models) != 1 || prov.Models[0].ModelID != "llama3.2" ||
		len(prov.SupportedAPISurfaces) != 1 || prov.SupportedAPISurfaces[0].Surface != "chat-completions" || prov.URI == "" {
		t.Fatalf("created %s", b)
	}
	// PATCH /providers/{id}: models replaced whole, metadata a string.
	st, b = e.admin("PATCH", "/ai/providers/"+prov.ID, `{"name":"Ollama","metadata":"team=ml","models":[{"modelId":"llama3.2"},{"modelId":"qwen3"}]}`)
	if st != http.StatusOK || !strings.Contains(string(b), `"modelId":"qwen3"`) || !strings.Contains(string(b), `"metadata":"team=ml"`) {
		t.Fatalf("update provider: %d %s", st, b)
	}
	// GET /providers: ngrok.ai lists user-defined providers as aiGatewayProviders.
	st, b = e.admin("GET", "/ai/providers", "")
	var list struct {
		AIGatewayProviders []struct{ ProviderID string } `json:"aiGatewayProviders"`
		URI                string
	}
	mustJSON(t, b, &list)
	if st != http.StatusOK || len(list.AIGatewayProviders) != 1 || list.AIGatewayProviders[0].ProviderID != "my-ollama" || list.URI != "/ai/providers" {
		t.Fatalf("list providers: %d %s", st, b)
	}
	// id and modelId are one thing: both, differing, is refused.
	if st, b := e.admin("POST", "/ai/providers", `{"providerId":"x","baseUrl":"https://x.example/v1","format":"openai","models":[{"id":"a","modelId":"b"}]}`); st != http.StatusBadRequest || !strings.Contains(string(b), "modelId") {
		t.Fatalf("id and modelId differing: %d %s", st, b)
	}
	// format must be among the surfaces' formats.
	if st, b := e.admin("POST", "/ai/providers", `{"providerId":"y","baseUrl":"https://y.example","format":"anthropic","supportedApiSurfaces":[{"format":"openai","surface":"chat-completions"}]}`); st != http.StatusBadRequest {
		t.Fatalf("format outside the surfaces: %d %s", st, b)
	}

	// Traffic: one request served at once by the custom provider, one that
	// fails over from a failing model to it.
	resp := e.post("/v1/chat/completions", `{"model":"my-ollama:llama3.2","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("custom provider request: %d %s (upstream %+v)", resp.StatusCode, body, e.fake.Requests())
	}
	e.fake.SetOptions(fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 500}})
	resp = e.post("/v1/chat/completions", `{"model":"gpt-4o","models":["my-ollama:llama3.2"],"messages":[{"role":"user","content":"hi"}]}`, e.bearer())
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("failover request: %d %s", resp.StatusCode, body)
	}
	failedOver := resp.Header.Get("AI-Gateway-Request-Id")
	e.usageFor(failedOver, 2)

	// GET /usage?startTime=…&endTime=…&includeRetries=true&limit=…, paged by cursor.
	type usageEvent struct {
		ID, RequestID, AccessKeyID, Provider, Model, StopReason, TotalCost, KeySource string
		EventTime                                                                     time.Time
		AttemptNumber, StatusCode                                                     int
		IsFinalAttempt, TimedOut, IsError, IsStreaming, UsageEstimated                bool
		InputTokens, OutputTokens, CacheReadTokens, ReasoningTokens                   int64
	}
	var usage []usageEvent
	next := "/ai/usage?startTime=" + url.QueryEscape(since) + "&endTime=" + url.QueryEscape(time.Now().UTC().Add(time.Minute).Format(time.RFC3339)) + "&includeRetries=true&limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		st, b := e.admin("GET", next, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, st, b)
		}
		var page struct {
			AIGatewayUsage []usageEvent `json:"aiGatewayUsage"`
			URI            string
			NextPageURI    *string `json:"nextPageUri"`
		}
		mustJSON(t, b, &page)
		usage = append(usage, page.AIGatewayUsage...)
		next = ""
		if page.NextPageURI != nil {
			next = *page.NextPageURI
			if !strings.Contains(next, "cursor=") || !strings.Contains(next, "startTime=") {
				t.Fatalf("next page %s: not in the request's spelling", next)
			}
		}
	}
	if len(usage) != 3 {
		t.Fatalf("%d events, want 3 attempts: %+v", len(usage), usage)
	}
	for _, ev := range usage {
		if ev.ID == "" || ev.RequestID == "" || ev.EventTime.IsZero() || ev.AttemptNumber < 1 || ev.Provider == "" || ev.KeySource == "" || ev.TotalCost == "" || ev.AccessKeyID == "" {
			t.Errorf("event missing ngrok.ai's fields: %+v", ev)
		}
		if ev.RequestID == failedOver && ev.AttemptNumber == 1 && (ev.IsFinalAttempt || !ev.IsError || ev.StatusCode != 500 || ev.Provider != "openai") {
			t.Errorf("failed attempt %+v", ev)
		}
		if ev.Provider == "my-ollama" && (!ev.IsFinalAttempt || ev.IsError || ev.StatusCode != 200 || ev.StopReason == "" || ev.OutputTokens == 0) {
			t.Errorf("served attempt %+v", ev)
		}
	}
	// By default only each request's final attempt, endTime defaulting to now.
	st, b = e.admin("GET", "/ai/usage?startTime="+url.QueryEscape(since), "")
	if st != http.StatusOK || strings.Count(string(b), `"isFinalAttempt":true`) != 4 { // listed as usage and aiGatewayUsage
		t.Fatalf("final attempts only: %d %s", st, b)
	}
	// Both spellings of one parameter must agree.
	if st, b := e.admin("GET", "/ai/usage?startTime="+url.QueryEscape(since)+"&from=2020-01-01T00:00:00Z", ""); st != http.StatusBadRequest || !strings.Contains(string(b), "startTime") {
		t.Fatalf("from and startTime differing: %d %s", st, b)
	}

	// GET /usage/overview?startTime=…&groupBy=accessKey|provider (default provider).
	type overview struct {
		URI     string
		Buckets []struct {
			BucketStart      time.Time
			GroupKey, Cost   string
			Requests, Errors int64
		}
		Totals struct {
			Cost             string
			Requests, Errors int64
		}
	}
	for _, tt := range []struct{ query, key string }{
		{"&groupBy=accessKey", "ak_"},
		{"&groupBy=provider", "my-ollama"},
		{"", "my-ollama"},
	} {
		st, b := e.admin("GET", "/ai/usage/overview?startTime="+url.QueryEscape(since)+tt.query, "")
		var o overview
		mustJSON(t, b, &o)
		if st != http.StatusOK || o.URI == "" || len(o.Buckets) == 0 || o.Totals.Requests != 2 || o.Totals.Cost == "" {
			t.Fatalf("overview%s: %d %s", tt.query, st, b)
		}
		found := false
		for _, bk := range o.Buckets {
			if bk.BucketStart.IsZero() || bk.Cost == "" || bk.GroupKey == "" {
				t.Fatalf("bucket %+v in %s", bk, b)
			}
			found = found || strings.HasPrefix(bk.GroupKey, tt.key)
		}
		if !found {
			t.Fatalf("overview%s: no group %s… in %s", tt.query, tt.key, b)
		}
	}

	// GET /usage/requests/{requestId}: each attempt's served, retryAction,
	// completion and upstreamDurationMs.
	st, b = e.admin("GET", "/ai/usage/requests/"+failedOver, "")
	var attempts struct {
		Attempts []struct {
			Served             bool
			RetryAction        string
			Completion         string
			UpstreamDurationMs *int64
			AttemptNumber      int
		}
	}
	mustJSON(t, b, &attempts)
	a := attempts.Attempts
	if st != http.StatusOK || len(a) != 2 || a[0].Served || a[0].RetryAction != "next_backend" || a[0].Completion != "upstream_error" ||
		!a[1].Served || a[1].RetryAction != "succeeded" || a[1].Completion != "completed" || a[1].UpstreamDurationMs == nil || a[1].AttemptNumber != 2 {
		t.Fatalf("attempts: %d %s", st, b)
	}
}
