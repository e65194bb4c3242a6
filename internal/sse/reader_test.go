package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// ev is a comparable copy of an Event (Data nil-ness preserved).
type ev struct {
	Raw    string
	Name   string
	Data   string
	NoData bool
}

func copyEvent(e Event) ev {
	return ev{Raw: string(e.Raw), Name: e.Name, Data: string(e.Data), NoData: e.Data == nil}
}

// readAll drains r and returns every event and the terminating error.
func readAll(t testing.TB, r *Reader) ([]ev, error) {
	t.Helper()
	var out []ev
	for i := 0; ; i++ {
		e, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, copyEvent(e))
		if i > 1<<20 {
			t.Fatal("runaway reader")
		}
	}
}

func TestReaderNext(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{
			name: "empty",
			in:   "",
		},
		{
			name: "openai chat chunks",
			in: "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n" +
				"data: [DONE]\n\n",
			want: []ev{
				{Raw: "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n", Data: `{"choices":[{"delta":{"content":"Hi"}}]}`},
				{Raw: "data: [DONE]\n\n", Data: "[DONE]"},
			},
		},
		{
			name: "anthropic named events",
			in: "event: message_start\ndata: {\"type\":\"message_start\"}\n\n" +
				"event: ping\ndata: {\"type\": \"ping\"}\n\n",
			want: []ev{
				{Raw: "event: message_start\ndata: {\"type\":\"message_start\"}\n\n", Name: "message_start", Data: `{"type":"message_start"}`},
				{Raw: "event: ping\ndata: {\"type\": \"ping\"}\n\n", Name: "ping", Data: `{"type": "ping"}`},
			},
		},
		{
			name: "CRLF",
			in:   "event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n",
			want: []ev{
				{Raw: "event: a\r\ndata: 1\r\n\r\n", Name: "a", Data: "1"},
				{Raw: "event: b\r\ndata: 2\r\n\r\n", Name: "b", Data: "2"},
			},
		},
		{
			name: "CR only",
			in:   "event: a\rdata: 1\r\rdata: 2\r\r",
			want: []ev{
				{Raw: "event: a\rdata: 1\r\r", Name: "a", Data: "1"},
				{Raw: "data: 2\r\r", Data: "2"},
			},
		},
		{
			name: "mixed line endings",
			in:   "data: a\r\ndata: b\rdata: c\n\r\n",
			want: []ev{{Raw: "data: a\r\ndata: b\rdata: c\n\r\n", Data: "a\nb\nc"}},
		},
		{
			name: "multi-line data and last event name wins",
			in:   "event: x\nevent: y\ndata: line1\ndata: line2\ndata:\ndata: line4\n\n",
			want: []ev{{Raw: "event: x\nevent: y\ndata: line1\ndata: line2\ndata:\ndata: line4\n\n", Name: "y", Data: "line1\nline2\n\nline4"}},
		},
		{
			name: "only one leading space stripped",
			in:   "data:no space\ndata:  two spaces\ndata:\ttab\n\n",
			want: []ev{{Raw: "data:no space\ndata:  two spaces\ndata:\ttab\n\n", Data: "no space\n two spaces\n\ttab"}},
		},
		{
			name: "comment-only block is forwarded",
			in:   ": ping\n\ndata: x\n\n",
			want: []ev{
				{Raw: ": ping\n\n", NoData: true},
				{Raw: "data: x\n\n", Data: "x"},
			},
		},
		{
			name: "comments id retry and unknown fields are kept in Raw only",
			in:   ": hello\nid: 7\nretry: 1000\nfoo: bar\ndata: x\n: trailing comment\n\n",
			want: []ev{{Raw: ": hello\nid: 7\nretry: 1000\nfoo: bar\ndata: x\n: trailing comment\n\n", Data: "x"}},
		},
		{
			name: "fields without a colon",
			in:   "data\ndata\n\nevent\ndata: y\n\n",
			want: []ev{
				{Raw: "data\ndata\n\n", Data: "\n"},
				{Raw: "event\ndata: y\n\n", Data: "y"},
			},
		},
		{
			name: "field name is case sensitive and exact",
			in:   "Data: x\ndata : y\nevent: \n\n",
			want: []ev{{Raw: "Data: x\ndata : y\nevent: \n\n", NoData: true}},
		},
		{
			name: "empty data field is empty not nil",
			in:   "data:\n\n",
			want: []ev{{Raw: "data:\n\n", Data: ""}},
		},
		{
			name: "colon in value",
			in:   "event: a:b\ndata: {\"k\":\"v: w\"}\n\n",
			want: []ev{{Raw: "event: a:b\ndata: {\"k\":\"v: w\"}\n\n", Name: "a:b", Data: `{"k":"v: w"}`}},
		},
		{
			name: "stray blank lines are returned so Raw covers the input",
			in:   "\n\ndata: x\n\n\n",
			want: []ev{
				{Raw: "\n", NoData: true},
				{Raw: "\n", NoData: true},
				{Raw: "data: x\n\n", Data: "x"},
				{Raw: "\n", NoData: true},
			},
		},
		{
			name: "unterminated event at EOF",
			in:   "data: a\n\nevent: last\ndata: {\"cut\":",
			want: []ev{
				{Raw: "data: a\n\n", Data: "a"},
				{Raw: "event: last\ndata: {\"cut\":", Name: "last", Data: `{"cut":`},
			},
		},
		{
			name: "event missing only its blank line",
			in:   "data: a\n",
			want: []ev{{Raw: "data: a\n", Data: "a"}},
		},
		{
			name: "CR at EOF ends the line",
			in:   "data: a\r",
			want: []ev{{Raw: "data: a\r", Data: "a"}},
		},
		{
			name: "BOM is ignored for parsing but kept in Raw",
			in:   "\xEF\xBB\xBFevent: e\ndata: x\n\n",
			want: []ev{{Raw: "\xEF\xBB\xBFevent: e\ndata: x\n\n", Name: "e", Data: "x"}},
		},
		{
			name: "BOM only at stream start",
			in:   "data: a\n\n\xEF\xBB\xBFdata: b\n\n",
			want: []ev{
				{Raw: "data: a\n\n", Data: "a"},
				{Raw: "\xEF\xBB\xBFdata: b\n\n", NoData: true},
			},
		},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"half", iotest.HalfReader},
		{"data+EOF", iotest.DataErrReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, err := readAll(t, NewReader(rd.wrap(strings.NewReader(tt.in))))
				if err != io.EOF {
					t.Fatalf("err = %v, want io.EOF", err)
				}
				if !equalEvents(got, tt.want) {
					t.Fatalf("events mismatch\n got: %q\nwant: %q", got, tt.want)
				}
			})
		}
		// Byte-at-a-time reads may move a CRLF's '\n' into the next event's
		// Raw (see TestReaderSplitCRLF) but must parse the same events.
		t.Run(tt.name+"/onebyte", func(t *testing.T) {
			got, err := readAll(t, NewReader(iotest.OneByteReader(strings.NewReader(tt.in))))
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if g, w := fields(got), fields(tt.want); !equalEvents(g, w) {
				t.Fatalf("parsed events mismatch\n got: %q\nwant: %q", g, w)
			}
			if g := concatRaw(got); g != tt.in {
				t.Fatalf("concatenated Raw = %q, want %q", g, tt.in)
			}
		})
	}
}

func equalEvents(a, b []ev) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fields keeps only events carrying a name or data, without Raw.
func fields(evs []ev) []ev {
	var out []ev
	for _, e := range evs {
		if e.Name != "" || !e.NoData {
			e.Raw = ""
			out = append(out, e)
		}
	}
	return out
}

func concatRaw(evs []ev) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Raw)
	}
	return b.String()
}

// TestReaderRealTime checks that Next returns an event as soon as its blank
// line has arrived, while the writer is still holding the stream open.
func TestReaderRealTime(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	r := NewReader(pr)

	type result struct {
		e   ev
		err error
	}
	next := func() <-chan result {
		ch := make(chan result, 1)
		go func() {
			e, err := r.Next()
			ch <- result{copyEvent(e), err}
		}()
		return ch
	}
	write := func(s string) {
		t.Helper()
		done := make(chan error, 1)
		go func() { _, err := io.WriteString(pw, s); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("write of %q blocked: reader is not consuming", s)
		}
	}
	expect := func(ch <-chan result, want ev) {
		t.Helper()
		select {
		case got := <-ch:
			if got.err != nil || got.e != want {
				t.Fatalf("Next = %q, %v; want %q", got.e, got.err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Next did not return %q although its blank line arrived", want.Raw)
		}
	}
	notYet := func(ch <-chan result) {
		t.Helper()
		select {
		case got := <-ch:
			t.Fatalf("Next returned %q, %v before its event was complete", got.e, got.err)
		case <-time.After(20 * time.Millisecond):
		}
	}

	// An event written in two pieces is returned only after the second.
	ch := next()
	write("event: a\ndata: 1\n")
	notYet(ch)
	write("\n")
	expect(ch, ev{Raw: "event: a\ndata: 1\n\n", Name: "a", Data: "1"})

	// Two events in one write: both are served without another read.
	// (io.Pipe writes complete only once read, so Next must be pending.)
	ch = next()
	write("data: 2\n\ndata: 3\n\n")
	expect(ch, ev{Raw: "data: 2\n\n", Data: "2"})
	expect(next(), ev{Raw: "data: 3\n\n", Data: "3"})

	// A CRLF stream whose final '\n' has not arrived yet: the '\r' of the
	// blank line already completes the event, so Next must not wait.
	ch = next()
	write("data: 4\r\n\r")
	expect(ch, ev{Raw: "data: 4\r\n\r", Data: "4"})
	ch = next()
	write("\ndata: 5\r\n\r\n")
	expect(ch, ev{Raw: "\ndata: 5\r\n\r\n", Data: "5"})

	// A non-blank line ending in '\r' is not an event yet.
	ch = next()
	write("data: 6\r")
	notYet(ch)
	write("\n\r\n")
	expect(ch, ev{Raw: "data: 6\r\n\r\n", Data: "6"})

	ch = next()
	pw.Close()
	select {
	case got := <-ch:
		if got.err != io.EOF {
			t.Fatalf("after close: %q, %v; want io.EOF", got.e, got.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after close")
	}
}

// TestReaderSplitCRLF pins how a CRLF split across reads after a blank line
// is attributed: the '\n' starts the next event's Raw.
func TestReaderSplitCRLF(t *testing.T) {
	in := "data: a\r\n\r\ndata: b\r\n\r\n"
	got, err := readAll(t, NewReader(iotest.OneByteReader(strings.NewReader(in))))
	if err != io.EOF {
		t.Fatal(err)
	}
	want := []ev{
		{Raw: "data: a\r\n\r", Data: "a"},
		{Raw: "\ndata: b\r\n\r", Data: "b"},
		{Raw: "\n", NoData: true},
	}
	if !equalEvents(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestReaderMaxEventSize(t *testing.T) {
	small := "data: 12345\n\n" // 13 bytes
	t.Run("exact limit is accepted", func(t *testing.T) {
		r := NewReader(strings.NewReader(small + small))
		r.SetMaxEventSize(len(small))
		got, err := readAll(t, r)
		if err != io.EOF || len(got) != 2 {
			t.Fatalf("got %d events, err %v", len(got), err)
		}
	})
	for _, rd := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{{"whole", func(r io.Reader) io.Reader { return r }}, {"onebyte", iotest.OneByteReader}} {
		t.Run("too large is sticky/"+rd.name, func(t *testing.T) {
			r := NewReader(rd.wrap(strings.NewReader("data: ok\n\n" + "data: " + strings.Repeat("x", 100) + "\n\ndata: after\n\n")))
			r.SetMaxEventSize(50)
			e, err := r.Next()
			if err != nil || string(e.Data) != "ok" {
				t.Fatalf("first event: %q, %v", e.Data, err)
			}
			for range 2 {
				if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
					t.Fatalf("err = %v, want ErrEventTooLarge", err)
				}
			}
		})
	}
	t.Run("unterminated too large", func(t *testing.T) {
		r := NewReader(strings.NewReader(strings.Repeat("x", 100)))
		r.SetMaxEventSize(10)
		if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("large events grow the buffer", func(t *testing.T) {
		big := strings.Repeat("y", 3*initialBufSize+17)
		in := "data: a\n\ndata: " + big + "\ndata: " + big + "\n\ndata: b\n\n"
		got, err := readAll(t, NewReader(iotest.HalfReader(strings.NewReader(in))))
		if err != io.EOF || len(got) != 3 || got[1].Data != big+"\n"+big || got[2].Data != "b" {
			t.Fatalf("err %v, %d events", err, len(got))
		}
	})
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewReader(io.MultiReader(strings.NewReader("data: a\n\ndata: par"), iotest.ErrReader(boom)))
	got, err := readAll(t, r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	want := []ev{{Raw: "data: a\n\n", Data: "a"}, {Raw: "data: par", Data: "par"}}
	if !equalEvents(got, want) {
		t.Fatalf("got %q", got)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("error not sticky: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, err := NewReader(zeroReader{}).Next(); err != io.ErrNoProgress {
		t.Fatalf("err = %v", err)
	}
}

func TestReaderSlicesAreCapped(t *testing.T) {
	r := NewReader(strings.NewReader("data: a\n\ndata: b\n\n"))
	e, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	_ = append(e.Raw, "XXXXXXXX"...)
	_ = append(e.Data, "XXXXXXXX"...)
	e, err = r.Next()
	if err != nil || string(e.Raw) != "data: b\n\n" {
		t.Fatalf("append to a returned slice corrupted the buffer: %q, %v", e.Raw, err)
	}
}

func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("event: x\ndata: partial"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	r.SetMaxEventSize(100)
	r.Reset(strings.NewReader("data: fresh\n\n"))
	got, err := readAll(t, r)
	if err != io.EOF || !equalEvents(got, []ev{{Raw: "data: fresh\n\n", Data: "fresh"}}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if r.max != 100 {
		t.Fatalf("Reset lost the max event size: %d", r.max)
	}
}

func TestReaderNamesDoNotAllocate(t *testing.T) {
	in := bytes.Repeat([]byte("event: content_block_delta\ndata: {}\n\nevent: custom\ndata: {}\n\n"), 100)
	r := NewReader(bytes.NewReader(in))
	if _, err := r.Next(); err != nil { // warm up: buffer and name cache
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Next allocates %.1f times per event", allocs)
	}
}

func (e ev) String() string {
	if e.NoData {
		return fmt.Sprintf("{Raw:%q Name:%q Data:nil}", e.Raw, e.Name)
	}
	return fmt.Sprintf("{Raw:%q Name:%q Data:%q}", e.Raw, e.Name, e.Data)
}

func TestReady(t *testing.T) {
	r := NewReader(strings.NewReader("data: a\n\ndata: b\n\ndata: c"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if !r.Ready() {
		t.Fatal("second event buffered but not ready")
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.Ready() {
		t.Fatal("a partial event reported ready")
	}
}
