package translate

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

func init() {
	now = func() time.Time { return time.Unix(1730000000, 0) }
}

// jsonEqual fails t unless got and want hold the same JSON value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Fatalf("JSON differs\ngot:\n%s\nwant:\n%s", gi, wi)
	}
}

func removedEqual(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("removed = %q, want %q", got, want)
	}
}

// event is one SSE event for stream tests.
type event struct {
	name string
	data string
}

// collect returns an emit func appending copies of the events to evs.
func collect(evs *[]event) func(string, []byte) error {
	return func(name string, data []byte) error {
		*evs = append(*evs, event{name, string(data)})
		return nil
	}
}

// run feeds the upstream events to s, then closes it, and returns what the
// client got.
func run(t *testing.T, s Stream, in []event) []event {
	t.Helper()
	var out []event
	for _, e := range in {
		if err := s.Event(e.name, []byte(e.data), collect(&out)); err != nil {
			t.Fatalf("Event(%s, %s): %v", e.name, e.data, err)
		}
	}
	if err := s.Close(collect(&out)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out
}
