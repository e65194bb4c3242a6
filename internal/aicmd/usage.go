package aicmd

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// usageTotalsView is summed usage as /ai/usage/overview shows it.
type usageTotalsView struct {
	Requests       int64      `json:"requests"`
	FailedRequests int64      `json:"failedRequests"`
	Attempts       int64      `json:"attempts"`
	InputTokens    int64      `json:"inputTokens"`
	OutputTokens   int64      `json:"outputTokens"`
	Cost           money.Nano `json:"cost"`
	Fees           money.Nano `json:"fees"`
	Spent          money.Nano `json:"spent"`
}

func (t *usageTotalsView) addUp(o usageTotalsView) {
	t.Requests += o.Requests
	t.FailedRequests += o.FailedRequests
	t.Attempts += o.Attempts
	t.InputTokens += o.InputTokens
	t.OutputTokens += o.OutputTokens
	t.Cost += o.Cost
	t.Fees += o.Fees
	t.Spent += o.Spent
}

// usageBucketView is one time bucket of one group.
type usageBucketView struct {
	Start       time.Time `json:"start"`
	ProviderID  string    `json:"providerId"`
	Model       string    `json:"model"`
	AccessKeyID string    `json:"accessKeyId"`
	AccountID   string    `json:"accountId"`
	usageTotalsView
}

// usageOverview is the answer of GET /ai/usage/overview.
type usageOverview struct {
	From    time.Time         `json:"from"`
	To      time.Time         `json:"to"`
	Bucket  string            `json:"bucket"`
	Buckets []usageBucketView `json:"buckets"`
	Totals  usageTotalsView   `json:"totals"`
	Credits *struct {
		Balance   money.Nano `json:"balance"`
		Held      money.Nano `json:"held"`
		Available money.Nano `json:"available"`
	} `json:"credits"`
}

// groupings maps --by to the API's groupBy and the columns naming a group.
var groupings = map[string]struct {
	groupBy string
	columns []string
	label   func(b *usageBucketView) []string
}{
	"model":    {"model", []string{"PROVIDER", "MODEL"}, func(b *usageBucketView) []string { return []string{b.ProviderID, b.Model} }},
	"provider": {"provider", []string{"PROVIDER"}, func(b *usageBucketView) []string { return []string{b.ProviderID} }},
	"key":      {"accessKey", []string{"ACCESS KEY", "NAME"}, func(b *usageBucketView) []string { return []string{b.AccessKeyID, ""} }},
	"account":  {"account", []string{"ACCOUNT"}, func(b *usageBucketView) []string { return []string{b.AccountID} }},
	"none":     {"", nil, func(*usageBucketView) []string { return nil }},
}

// usageQuery is what `caddy ai usage` asks for.
type usageQuery struct {
	from, to    time.Time
	by          string // a key of groupings
	bucket      string // "", hour or day; "" sums the range per group
	account     string
	accessKeyID string
	provider    string
	model       string
}

// parseUsageFlags reads the flags of `caddy ai usage` at the time at.
func parseUsageFlags(fl caddycmd.Flags, at time.Time) (usageQuery, error) {
	q := usageQuery{by: fl.String("by"), bucket: fl.String("bucket"), account: fl.String("account"),
		accessKeyID: fl.String("access-key"), provider: fl.String("provider"), model: fl.String("model")}
	if q.by == "accessKey" {
		q.by = "key"
	}
	if _, ok := groupings[q.by]; !ok {
		return q, fmt.Errorf("--by: must be model, provider, key, account or none, not %q", q.by)
	}
	if q.bucket != "" && q.bucket != "hour" && q.bucket != "day" {
		return q, fmt.Errorf("--bucket: must be hour or day, not %q", q.bucket)
	}
	var err error
	q.to = at
	if s := fl.String("until"); s != "" {
		if q.to, err = parseWhen(s, at, -1); err != nil {
			return q, fmt.Errorf("--until: %w", err)
		}
	}
	if q.from, err = parseWhen(fl.String("since"), at, -1); err != nil {
		return q, fmt.Errorf("--since: %w", err)
	}
	if !q.to.After(q.from) {
		return q, fmt.Errorf("--until (%s) must be after --since (%s)", q.to.UTC().Format(time.RFC3339), q.from.UTC().Format(time.RFC3339))
	}
	return q, nil
}

// path is the overview's URI for q. Without --bucket, day buckets are
// fewest; the table sums them.
func (q usageQuery) path() string {
	v := url.Values{}
	v.Set("from", q.from.UTC().Format(time.RFC3339Nano))
	v.Set("to", q.to.UTC().Format(time.RFC3339Nano))
	v.Set("bucket", cmp.Or(q.bucket, "day"))
	if g := groupings[q.by].groupBy; g != "" {
		v.Set("groupBy", g)
	}
	for name, val := range map[string]string{"accountId": q.account, "accessKeyId": q.accessKeyID, "providerId": q.provider, "model": q.model} {
		if val != "" {
			v.Set(name, val)
		}
	}
	return "/ai/usage/overview?" + v.Encode()
}

func usageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "usage [--since 24h] [--until <time>] [--by model|provider|key|account|none] [--bucket day|hour]",
		Short: "Shows requests, tokens, cost and errors over a time range",
		Long: `
Shows the gateway's usage over a time range (/ai/usage/overview):
requests, failed requests, input and output tokens, the providers' cost
and what was drawn from credits (cost and fees), per model, provider,
access key or account, with the totals.

--since and --until take an RFC 3339 time or a duration before now
(90m, 24h, 7d). Without --bucket, each group is summed over the range;
--bucket hour|day splits it into UTC hours or days (a range of at most
31 days by the hour, 366 by the day).
`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().String("since", "24h", "the start of the range: an RFC 3339 time or a duration before now")
	cmd.Flags().String("until", "", "the end of the range: an RFC 3339 time or a duration before now (default now)")
	cmd.Flags().String("by", "model", "group by model, provider, key, account, or none")
	cmd.Flags().String("bucket", "", "split the range into UTC hours or days (hour, day)")
	cmd.Flags().String("account", "", "only this account's usage (also shows its credits)")
	cmd.Flags().String("access-key", "", "only this access key's usage (its id)")
	cmd.Flags().String("provider", "", "only this provider's usage")
	cmd.Flags().String("model", "", "only this model's usage")
	apiCommand(cmd, func(ctx context.Context, s *session, fl caddycmd.Flags, _ []string) error {
		q, err := parseUsageFlags(fl, now())
		if err != nil {
			return err
		}
		return usage(ctx, s, q)
	})
	return cmd
}

func usage(ctx context.Context, s *session, q usageQuery) error {
	var o usageOverview
	b, err := s.api.do(ctx, http.MethodGet, q.path(), nil, nil, &o)
	if err != nil {
		return fmt.Errorf("reading usage: %w", err)
	}
	if s.json {
		return s.printJSON(b)
	}
	var names map[string]string
	if q.by == "key" {
		names = keyNames(ctx, s)
	}
	fmt.Fprintf(s.out, "Usage from %s to %s UTC", o.From.UTC().Format(timeLayout), o.To.UTC().Format(timeLayout))
	if q.by != "none" {
		fmt.Fprintf(s.out, ", by %s", q.by)
	}
	fmt.Fprintln(s.out, ":")
	fmt.Fprintln(s.out)
	if err := usageTable(o, q.by, q.bucket != "", names).write(s.out); err != nil {
		return err
	}
	if c := o.Credits; c != nil {
		fmt.Fprintf(s.out, "\nAccount %s now: balance %s USD, held %s, available %s.\n", q.account, c.Balance, c.Held, c.Available)
	}
	return nil
}

// keyNames maps access key ids to names, for the table by key. A key
// deleted since, or a list that fails, leaves the name blank.
func keyNames(ctx context.Context, s *session) map[string]string {
	items, _, err := s.api.list(ctx, "/ai/access-keys", "accessKeys", 0)
	if err != nil {
		return nil
	}
	keys, _ := decodeItems[accessKeyView](items)
	names := make(map[string]string, len(keys))
	for _, k := range keys {
		names[k.ID] = k.Name
	}
	return names
}

// usageTable is the overview as a table: a row per group (summed over the
// range, most spent first) or, perBucket, per time bucket and group in
// the API's order; then the totals.
func usageTable(o usageOverview, by string, perBucket bool, keyNames map[string]string) *table {
	g := groupings[by]
	var header []string
	if perBucket {
		header = append(header, map[string]string{"hour": "HOUR (UTC)", "day": "DAY (UTC)"}[o.Bucket])
		if header[0] == "" {
			header[0] = "START (UTC)"
		}
	}
	header = append(header, g.columns...)
	if len(header) == 0 {
		header = append(header, "") // a column for TOTAL
	}
	first := len(header)
	header = append(header, "REQUESTS", "ERRORS", "INPUT TOKENS", "OUTPUT TOKENS", "COST (USD)", "SPENT (USD)")
	t := newTable(header...).alignRight(first, first+1, first+2, first+3, first+4, first+5)

	type row struct {
		lead []string
		usageTotalsView
	}
	var rows []row
	if perBucket {
		for i := range o.Buckets {
			b := &o.Buckets[i]
			start := b.Start.UTC().Format(timeLayout)
			if o.Bucket == "day" {
				start = b.Start.UTC().Format(time.DateOnly)
			}
			rows = append(rows, row{append([]string{start}, g.label(b)...), b.usageTotalsView})
		}
	} else if len(g.columns) > 0 { // not grouped: the totals say it all
		index := map[string]int{}
		for i := range o.Buckets {
			b := &o.Buckets[i]
			lead := g.label(b)
			k := fmt.Sprintf("%q", lead)
			j, ok := index[k]
			if !ok {
				j = len(rows)
				index[k] = j
				rows = append(rows, row{lead: lead})
			}
			rows[j].addUp(b.usageTotalsView)
		}
		slices.SortStableFunc(rows, func(a, b row) int {
			return cmp.Or(cmp.Compare(b.Spent, a.Spent), cmp.Compare(b.Requests, a.Requests), slices.Compare(a.lead, b.lead))
		})
	}
	cells := func(lead []string, u usageTotalsView) []string {
		return append(lead, fmtCount(u.Requests), fmtCount(u.FailedRequests), fmtCount(u.InputTokens),
			fmtCount(u.OutputTokens), u.Cost.String(), u.Spent.String())
	}
	for _, r := range rows {
		if by == "key" && len(r.lead) > 0 {
			r.lead[len(r.lead)-1] = keyNames[r.lead[len(r.lead)-2]]
		}
		t.add(cells(r.lead, r.usageTotalsView)...)
	}
	total := make([]string, first)
	total[0] = "TOTAL"
	for i := 1; i < first; i++ {
		total[i] = " " // blank, not "-"
	}
	t.add(cells(total, o.Totals)...)
	return t
}
