package streamcheck

import (
	"reflect"
	"strings"
	"testing"
)

// readCase is one answer to read: a good one (trips "") and what it reads
// as, or a bad one and the check it trips, as a part of the error.
type readCase struct {
	name  string
	in    []Event // a stream; or, for a JSON reader, one event whose Data is the body
	trips string
	want  *Answer // for a good one, when not nil
}

// check runs the cases through read.
func check(t *testing.T, read func([]Event) (Answer, error), cases []readCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a, err := read(tt.in)
			switch {
			case tt.trips == "" && err != nil:
				t.Fatalf("refused: %v\n%s", err, Dump(tt.in))
			case tt.trips != "" && err == nil:
				t.Fatalf("accepted (%+v), want it to trip %q\n%s", a, tt.trips, Dump(tt.in))
			case tt.trips != "" && !strings.Contains(err.Error(), tt.trips):
				t.Fatalf("error %q, want it to trip %q", err, tt.trips)
			case tt.want != nil && !reflect.DeepEqual(a, *tt.want):
				t.Fatalf("got  %+v\nwant %+v", a, *tt.want)
			}
		})
	}
}

// jsonReader makes a JSON reader read the Data of a case's one event.
func jsonReader(read func([]byte) (Answer, error)) func([]Event) (Answer, error) {
	return func(evs []Event) (Answer, error) { return read([]byte(evs[0].Data)) }
}

// body is a JSON answer as a case's input.
func body(s string) []Event { return []Event{{Data: s}} }

func drop(evs []Event, i int) []Event {
	return append(append([]Event{}, evs[:i]...), evs[i+1:]...)
}

func with(evs []Event, i int, e Event) []Event {
	out := append([]Event{}, evs...)
	out[i] = e
	return out
}

func plus(evs []Event, more ...Event) []Event {
	return append(append([]Event{}, evs...), more...)
}
