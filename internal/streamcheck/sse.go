package streamcheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Event is one server-sent event: its name ("" when it has none) and its
// data.
type Event struct {
	Name, Data string
}

// ParseSSE parses a stream written out as the API docs show one
// ("event: x\ndata: y\n\n", indentation tolerated) into its events: for
// fixtures in tests.
func ParseSSE(s string) []Event {
	var evs []Event
	for _, block := range strings.Split(strings.TrimSpace(s), "\n\n") {
		var e Event
		for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
			line = strings.TrimSpace(line)
			if v, ok := strings.CutPrefix(line, "event:"); ok {
				e.Name = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "data:"); ok {
				e.Data = strings.TrimSpace(v)
			}
		}
		evs = append(evs, e)
	}
	return evs
}

// ReadSSE reads a whole event stream off the wire, strictly: only event,
// data and comment lines, every event terminated by a blank line.
func ReadSSE(r io.Reader) ([]Event, error) {
	var evs []Event
	var cur Event
	var data []string
	open := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if open {
				cur.Data = strings.Join(data, "\n")
				evs = append(evs, cur)
			}
			cur, data, open = Event{}, nil, false
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			cur.Name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			open = true
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			open = true
		default:
			return evs, fmt.Errorf("unexpected SSE line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return evs, fmt.Errorf("reading the stream: %w", err)
	}
	if open {
		return evs, fmt.Errorf("stream ended inside an event: %+v %q", cur, data)
	}
	return evs, nil
}

// Dump writes events back out as an event stream, for failure messages.
func Dump(evs []Event) string {
	var sb strings.Builder
	for _, e := range evs {
		if e.Name != "" {
			sb.WriteString("event: " + e.Name + "\n")
		}
		sb.WriteString("data: " + e.Data + "\n\n")
	}
	return sb.String()
}

// num reads m[k] as a token count; 0 when m is no object or k no number.
func num(m any, k string) int64 {
	mm, _ := m.(map[string]any)
	f, _ := mm[k].(float64)
	return int64(f)
}

// jsonObject says whether s is the text of a JSON object.
func jsonObject(s string) bool {
	var v map[string]any
	return json.Unmarshal([]byte(s), &v) == nil && v != nil
}
