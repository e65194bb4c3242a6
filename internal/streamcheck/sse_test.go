package streamcheck

import (
	"reflect"
	"strings"
	"testing"
)

func TestReadSSE(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []Event
		trips    string
	}{
		{name: "named and unnamed events, a comment, a keep-alive", in: ": hi\n\nevent: a\ndata: {\"x\":1}\n\ndata: [DONE]\n\n",
			want: []Event{{Name: "a", Data: `{"x":1}`}, {Data: "[DONE]"}}},
		{name: "data lines joined", in: "data: a\ndata:b\n\n", want: []Event{{Data: "a\nb"}}},
		{name: "an id line", in: "id: 1\ndata: a\n\n", trips: `unexpected SSE line "id: 1"`},
		{name: "no blank line at the end", in: "data: a\n", trips: "stream ended inside an event"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSSE(strings.NewReader(tt.in))
			switch {
			case tt.trips == "" && err != nil:
				t.Fatal(err)
			case tt.trips != "" && (err == nil || !strings.Contains(err.Error(), tt.trips)):
				t.Fatalf("error %v, want it to trip %q", err, tt.trips)
			case tt.trips == "" && !reflect.DeepEqual(got, tt.want):
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// ParseSSE reads what the docs show, and Dump writes what ReadSSE reads.
func TestParseSSEAndDump(t *testing.T) {
	evs := ParseSSE(`
		event: message_start
		data: {"type":"message_start"}

		data:[DONE]
	`)
	want := []Event{{Name: "message_start", Data: `{"type":"message_start"}`}, {Data: "[DONE]"}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("ParseSSE: %q", evs)
	}
	back, err := ReadSSE(strings.NewReader(Dump(evs)))
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Fatalf("ReadSSE(Dump(…)) = %q, %v", back, err)
	}
}
