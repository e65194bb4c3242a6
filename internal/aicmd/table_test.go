package aicmd

import (
	"strings"
	"testing"
	"time"
)

func TestTableAlignsColumns(t *testing.T) {
	tb := newTable("NAME", "COUNT", "COST (USD)", "NOTE").alignRight(1, 2)
	tb.add("first", "1", "0.000156", "")
	tb.add("zweite Größe", "1,234", "25.00", "tab\there\nnewline\x1b[31m")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME          COUNT  COST (USD)  NOTE\n" +
		"first             1    0.000156  -\n" +
		"zweite Größe  1,234       25.00  tab here newline [31m\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestFmtCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFmtTime(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	if got := fmtTime(&at); got != "2026-03-04 04:06" {
		t.Errorf("fmtTime = %q, want UTC to the minute", got)
	}
	if fmtTime(nil) != "" || fmtTime(&time.Time{}) != "" {
		t.Error("no time should format empty (a table shows -)")
	}
}

func TestParseWhen(t *testing.T) {
	from := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		dir  int
		want time.Time
		err  string
	}{
		{in: "24h", dir: -1, want: from.Add(-24 * time.Hour)},
		{in: "90m", dir: +1, want: from.Add(90 * time.Minute)},
		{in: "7d", dir: -1, want: from.Add(-7 * 24 * time.Hour)},
		{in: "1d12h", dir: +1, want: from.Add(36 * time.Hour)},
		{in: "2026-01-02T15:04:05Z", dir: -1, want: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{in: "2026-01-02T15:04:05+02:00", dir: +1, want: time.Date(2026, 1, 2, 13, 4, 5, 0, time.UTC)},
		{in: "0s", dir: -1, err: "must be positive"},
		{in: "-5m", dir: -1, err: "must be positive"},
		{in: "2y", dir: -1, err: "neither an RFC 3339 time"},
		{in: "d", dir: -1, err: "neither"},
		{in: "5d-3h", dir: -1, err: "neither"},
		{in: "2026-01-02", dir: -1, err: "neither"},
	}
	for _, tt := range tests {
		got, err := parseWhen(tt.in, from, tt.dir)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("parseWhen(%q): error %v, want one saying %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("parseWhen(%q): %v", tt.in, err)
		case tt.err == "" && !got.Equal(tt.want):
			t.Errorf("parseWhen(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
