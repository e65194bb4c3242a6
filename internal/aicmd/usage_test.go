package aicmd

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// usageFlags parses args as `caddy ai usage` would, at the time at.
func usageFlags(t *testing.T, at time.Time, args ...string) (usageQuery, error) {
	t.Helper()
	cmd := usageCommand()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return parseUsageFlags(caddycmd.Flags{FlagSet: cmd.Flags()}, at)
}

func TestUsageFlags(t *testing.T) {
	at := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		args  []string
		query string // the overview's query, decoded
		err   string
	}{
		{args: nil, query: "bucket=day&from=2026-05-09T12:00:00Z&groupBy=model&to=2026-05-10T12:00:00Z"},
		{args: []string{"--since", "7d", "--by", "provider", "--bucket", "hour"},
			query: "bucket=hour&from=2026-05-03T12:00:00Z&groupBy=provider&to=2026-05-10T12:00:00Z"},
		{args: []string{"--since", "2026-05-01T00:00:00Z", "--until", "2026-05-02T00:00:00+02:00", "--by", "key"},
			query: "bucket=day&from=2026-05-01T00:00:00Z&groupBy=accessKey&to=2026-05-01T22:00:00Z"},
		{args: []string{"--since", "2h", "--until", "1h", "--by", "account", "--account", "team", "--model", "gpt-4o", "--provider", "openai", "--access-key", "ak_1"},
			query: "accessKeyId=ak_1&accountId=team&bucket=day&from=2026-05-10T10:00:00Z&groupBy=account&model=gpt-4o&providerId=openai&to=2026-05-10T11:00:00Z"},
		{args: []string{"--by", "none"}, query: "bucket=day&from=2026-05-09T12:00:00Z&to=2026-05-10T12:00:00Z"},
		{args: []string{"--by", "accessKey"}, query: "bucket=day&from=2026-05-09T12:00:00Z&groupBy=accessKey&to=2026-05-10T12:00:00Z"},
		{args: []string{"--by", "region"}, err: "--by: must be model, provider, key, account or none"},
		{args: []string{"--bucket", "week"}, err: "--bucket: must be hour or day"},
		{args: []string{"--since", "yesterday"}, err: "--since: "},
		{args: []string{"--until", "soon"}, err: "--until: "},
		{args: []string{"--since", "1h", "--until", "2h"}, err: "must be after --since"},
	}
	for _, tt := range tests {
		q, err := usageFlags(t, at, tt.args...)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: error %v, want one saying %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		path, raw, _ := strings.Cut(q.path(), "?")
		got, _ := url.QueryUnescape(raw)
		if path != "/ai/usage/overview" || got != tt.query {
			t.Errorf("%v: %s?%s\nwant /ai/usage/overview?%s", tt.args, path, got, tt.query)
		}
	}
}

// overview is an answer of /ai/usage/overview grouped by model over two
// days.
const overview = `{"uri":"/ai/usage/overview","from":"2026-05-09T12:00:00Z","to":"2026-05-10T12:00:00Z","bucket":"day","groupBy":"model",
 "buckets":[
  {"start":"2026-05-09T00:00:00Z","providerId":"openai","model":"gpt-4o-mini","requests":3,"failedRequests":1,"attempts":4,"inputTokens":1000,"outputTokens":2000,"cost":"0.1","fees":"0.00","spent":"0.1"},
  {"start":"2026-05-09T00:00:00Z","providerId":"anthropic","model":"claude-sonnet-4-6","requests":1,"failedRequests":0,"attempts":1,"inputTokens":10,"outputTokens":20,"cost":"0.25","fees":"0.01","spent":"0.26"},
  {"start":"2026-05-10T00:00:00Z","providerId":"openai","model":"gpt-4o-mini","requests":2,"failedRequests":0,"attempts":2,"inputTokens":500,"outputTokens":1500,"cost":"0.2","fees":"0.00","spent":"0.2"}],
 "totals":{"requests":6,"failedRequests":1,"attempts":7,"inputTokens":1510,"outputTokens":3520,"cost":"0.55","fees":"0.01","spent":"0.56"}}`

func TestUsageTableSumsEachGroup(t *testing.T) {
	var o usageOverview
	if err := json.Unmarshal([]byte(overview), &o); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := usageTable(o, "model", false, nil).write(&b); err != nil {
		t.Fatal(err)
	}
	// gpt-4o-mini's two days summed exactly (0.1 + 0.2 = 0.30); the most
	// spent first
	want := "" +
		"PROVIDER   MODEL              REQUESTS  ERRORS  INPUT TOKENS  OUTPUT TOKENS  COST (USD)  SPENT (USD)\n" +
		"openai     gpt-4o-mini               5       1         1,500          3,500        0.30         0.30\n" +
		"anthropic  claude-sonnet-4-6         1       0            10             20        0.25         0.26\n" +
		"TOTAL                                6       1         1,510          3,520        0.55         0.56\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestUsageTablePerBucket(t *testing.T) {
	var o usageOverview
	if err := json.Unmarshal([]byte(overview), &o); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := usageTable(o, "model", true, nil).write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"DAY (UTC)   PROVIDER   MODEL              REQUESTS  ERRORS  INPUT TOKENS  OUTPUT TOKENS  COST (USD)  SPENT (USD)\n" +
		"2026-05-09  openai     gpt-4o-mini               3       1         1,000          2,000        0.10         0.10\n" +
		"2026-05-09  anthropic  claude-sonnet-4-6         1       0            10             20        0.25         0.26\n" +
		"2026-05-10  openai     gpt-4o-mini               2       0           500          1,500        0.20         0.20\n" +
		"TOTAL                                            6       1         1,510          3,520        0.55         0.56\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestUsageByKeyNamesTheKeys(t *testing.T) {
	fixedNow(t, time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	var asked []string
	s, out, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		switch r.URL.Path {
		case "/ai/usage/overview":
			writeJSON(w, http.StatusOK, json.RawMessage(`{"from":"2026-05-09T12:00:00Z","to":"2026-05-10T12:00:00Z","bucket":"day","groupBy":"accessKey",
				"buckets":[{"start":"2026-05-10T00:00:00Z","accessKeyId":"ak_1","requests":1,"cost":"0.01","fees":"0.00","spent":"0.01"},
				{"start":"2026-05-10T00:00:00Z","accessKeyId":"ak_gone","requests":2,"cost":"0.02","fees":"0.00","spent":"0.02"}],
				"totals":{"requests":3,"cost":"0.03","fees":"0.00","spent":"0.03"},
				"credits":{"balance":"9.97","held":"0.00","available":"9.97"}}`))
		case "/ai/access-keys":
			writeJSON(w, http.StatusOK, map[string]any{"accessKeys": []map[string]any{{"id": "ak_1", "name": "laptop"}}, "nextPageUri": nil})
		}
	})
	q, err := usageFlags(t, now(), "--by", "key", "--account", "default")
	if err != nil {
		t.Fatal(err)
	}
	if err := usage(context.Background(), s, q); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"Usage from 2026-05-09 12:00 to 2026-05-10 12:00 UTC, by key:\n\n" +
		"ACCESS KEY  NAME    REQUESTS  ERRORS  INPUT TOKENS  OUTPUT TOKENS  COST (USD)  SPENT (USD)\n" +
		"ak_gone     -              2       0             0              0        0.02         0.02\n" +
		"ak_1        laptop         1       0             0              0        0.01         0.01\n" +
		"TOTAL                      3       0             0              0        0.03         0.03\n" +
		"\nAccount default now: balance 9.97 USD, held 0.00, available 9.97.\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if strings.Join(asked, " ") != "/ai/usage/overview /ai/access-keys" {
		t.Errorf("asked %v", asked)
	}
}
