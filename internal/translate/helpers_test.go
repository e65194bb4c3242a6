package translate

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
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
type event = streamcheck.Event

// readClient reads a stream the gateway sent a client in format f
// (Anthropic or OpenAI chat, which asked for usage).
func readClient(f Format, evs []event) (streamcheck.Answer, error) {
	if f == OpenAI {
		return streamcheck.ReadChatStream(evs, true)
	}
	return streamcheck.ReadMessagesStream(evs)
}

// readResponses reads a Responses stream the gateway made: it stores
// nothing, so the stream must say store: false.
func readResponses(evs []event) (streamcheck.Answer, error) {
	a, err := streamcheck.ReadResponsesStream(evs)
	if err == nil && a.Store {
		err = errors.New("a translated response says store: true")
	}
	return a, err
}

// collect returns an emit func appending copies of the events to evs.
func collect(evs *[]event) func(string, []byte) error {
	return func(name string, data []byte) error {
		*evs = append(*evs, event{Name: name, Data: string(data)})
		return nil
	}
}

// run feeds the upstream events to s, then closes it, and returns what the
// client got.
func run(t *testing.T, s Stream, in []event) []event {
	t.Helper()
	var out []event
	for _, e := range in {
		if err := s.Event(e.Name, []byte(e.Data), collect(&out)); err != nil {
			t.Fatalf("Event(%s, %s): %v", e.Name, e.Data, err)
		}
	}
	if err := s.Close(collect(&out)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out
}
