package aicmd

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// table is what the commands print for a person: a header and rows,
// columns aligned by text/tabwriter, numbers right-aligned.
type table struct {
	header []string
	right  map[int]bool // right-aligned columns
	rows   [][]string
}

func newTable(header ...string) *table {
	return &table{header: header, right: map[int]bool{}}
}

// alignRight right-aligns the columns (numbers, amounts).
func (t *table) alignRight(cols ...int) *table {
	for _, c := range cols {
		t.right[c] = true
	}
	return t
}

// add appends a row; an empty cell shows as "-".
func (t *table) add(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = cell(c)
	}
	t.rows = append(t.rows, row)
}

// cell is s fit for one cell: no tabs, newlines or terminal control
// characters (names and descriptions are the operators' own text).
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// write prints the table. tabwriter aligns every column to the left, so
// the cells of a right-aligned column are first padded to one width.
func (t *table) write(w io.Writer) error {
	lines := append([][]string{t.header}, t.rows...)
	for c := range t.right {
		width := 0
		for _, l := range lines {
			if c < len(l) {
				width = max(width, utf8.RuneCountInString(l[c]))
			}
		}
		for _, l := range lines {
			if c < len(l) {
				l[c] = strings.Repeat(" ", width-utf8.RuneCountInString(l[c])) + l[c]
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, strings.TrimRight(strings.Join(l, "\t"), " "))
	}
	return tw.Flush()
}

// timeLayout shows times in tables: UTC (the headers say so), to the
// minute; --json has them exact.
const timeLayout = "2006-01-02 15:04"

// fmtTime formats t for a table; nil and zero are "-".
func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// fmtCount formats a count with thousands separators: 1234567 → 1,234,567.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// now is the clock the commands read (tests set it).
var now = time.Now

// parseWhen reads a time as operators write it on a command line: an RFC
// 3339 time, or a duration (Go's 90m, 24h, and days: 7d, 1d12h) before
// (dir -1) or after (dir +1) from.
func parseWhen(s string, from time.Time, dir int) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a duration (90m, 24h, 7d)", s)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("%q: the duration must be positive", s)
	}
	return from.Add(time.Duration(dir) * d), nil
}

// parseDuration is time.ParseDuration with days: a leading "<n>d" (7d,
// 1d12h) counts 24h each.
func parseDuration(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseUint(days, 10, 16)
	if err != nil || days == "" {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || r < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d += r
	}
	return d, nil
}
