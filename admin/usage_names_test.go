package admin

import (
	"net/url"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

// TestUsageEventNgrokNames: how an attempt's ngrok.ai fields derive from
// what is stored.
func TestUsageEventNgrokNames(t *testing.T) {
	tests := []struct {
		name       string
		ev         store.UsageEvent
		completion string
		served     bool
		final      bool
		timedOut   bool
		isError    bool
	}{
		{"answered", store.UsageEvent{Status: 200, RetryAction: "succeeded"}, "completed", true, true, false, false},
		{"provider error, moved on", store.UsageEvent{Status: 500, RetryAction: "next_backend"}, "upstream_error", false, false, false, true},
		{"key refused", store.UsageEvent{Status: 429, RetryAction: "next_key"}, "upstream_error", false, false, false, true},
		{"per-request timeout", store.UsageEvent{RetryAction: "next_backend", Error: "no answer within per_request_timeout"}, "timeout", false, false, true, true},
		{"stalled stream, continued", store.UsageEvent{Status: 200, Streaming: true, RetryAction: "next_backend", Error: "stream stalled (stream_idle_timeout)"}, "timeout", false, false, true, true},
		{"stream cut, nobody left", store.UsageEvent{Status: 200, Streaming: true, RetryAction: "exhausted", Error: "stream broken: EOF"}, "interrupted", true, true, false, true},
		{"connection failed", store.UsageEvent{RetryAction: "exhausted", Error: "connection failed: refused"}, "network_error", false, true, false, true},
		{"client went away", store.UsageEvent{Status: 200, RetryAction: "client_closed"}, "client_closed", true, true, false, true},
		{"bad request", store.UsageEvent{Status: 400, RetryAction: "fail_fast"}, "upstream_error", false, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.Attempt, tt.ev.Cost, tt.ev.Fee, tt.ev.LatencyMs = 2, 5, 1, 42
			v := viewUsageEvent(&tt.ev)
			if v.Completion != tt.completion || v.Served != tt.served || v.IsFinalAttempt != tt.final || v.TimedOut != tt.timedOut || v.IsError != tt.isError {
				t.Errorf("completion %q served %v final %v timedOut %v isError %v; want %q %v %v %v %v",
					v.Completion, v.Served, v.IsFinalAttempt, v.TimedOut, v.IsError, tt.completion, tt.served, tt.final, tt.timedOut, tt.isError)
			}
			if v.AttemptNumber != 2 || v.TotalCost != 6 || v.UpstreamDurationMs != 42 || v.StatusCode != tt.ev.Status || v.IsStreaming != tt.ev.Streaming {
				t.Errorf("renamed fields %+v", v)
			}
		})
	}
}

// TestUsageAliases: ours and ngrok.ai's spelling of one parameter.
func TestUsageAliases(t *testing.T) {
	tests := []struct {
		query, wantVal, wantName string
		bad                      bool
	}{
		{"from=2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "from", false},
		{"startTime=2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "startTime", false},
		{"from=2026-01-01T00:00:00Z&startTime=2026-01-01T01:00:00%2B01:00", "2026-01-01T00:00:00Z", "from", false}, // the same instant
		{"from=2026-01-01T00:00:00Z&startTime=2026-01-02T00:00:00Z", "", "", true},
		{"", "", "from", false},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		val, name, err := aliased(q, "from", "startTime", sameTime)
		if (err != nil) != tt.bad || val != tt.wantVal || name != tt.wantName {
			t.Errorf("%s: %q %q %v", tt.query, val, name, err)
		}
	}
	q, _ := url.ParseQuery("beforeId=ue_1&cursor=ue_2")
	if _, _, err := aliased(q, "beforeId", "cursor", sameString); err == nil {
		t.Error("beforeId and cursor differing: no error")
	}
}
