package relay

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
)

// finisher records what the client had when it was told.
type finisher struct {
	rec  *httptest.ResponseRecorder
	seen []string
}

func (f *finisher) Finish() { f.seen = append(f.seen, f.rec.Body.String()) }

// TestWriter: events go out as the provider's bytes or as new events,
// flushed only when asked or at the last, which the Finisher hears of
// before it is written.
func TestWriter(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	f := &finisher{rec: rec}
	sw := NewWriter(rec, f)
	raw := "data: {\"a\":1}\n\n"
	if err := sw.Write("", []byte(`{"a":1}`), []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := sw.Emit("", []byte(`{"b":2}`)); err != nil {
		t.Fatal(err)
	}
	if rec.Flushed || sw.Ended() {
		t.Fatalf("flushed %v, ended %v before the last event", rec.Flushed, sw.Ended())
	}
	if err := sw.Emit("", []byte("[DONE]")); err != nil {
		t.Fatal(err)
	}
	want := raw + "data: {\"b\":2}\n\n"
	if len(f.seen) != 1 || f.seen[0] != want {
		t.Errorf("Finish saw %q, want %q", f.seen, want)
	}
	if got := rec.Body.String(); got != want+"data: [DONE]\n\n" || !rec.Flushed || !sw.Ended() || sw.Broken() {
		t.Errorf("body %q, flushed %v, ended %v, broken %v", got, rec.Flushed, sw.Ended(), sw.Broken())
	}
}

// TestWriterHold: a holding writer keeps events, writes nothing and tells
// no one of the last.
func TestWriterHold(t *testing.T) {
	t.Parallel()
	var held []string
	sw := &Writer{Hold: func(name string, data, _ []byte) { held = append(held, name+":"+string(data)) }}
	for _, ev := range []string{"x", "[DONE]"} {
		if err := sw.Emit("", []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(held, ",") != ":x,:[DONE]" || sw.Ended() {
		t.Errorf("held %q, ended %v", held, sw.Ended())
	}
}

type failingWriter struct{ *httptest.ResponseRecorder }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

func TestWriterBroken(t *testing.T) {
	t.Parallel()
	sw := NewWriter(failingWriter{httptest.NewRecorder()}, nil)
	if err := sw.Emit("", []byte("x")); err == nil || !sw.Broken() {
		t.Errorf("err %v, broken %v", err, sw.Broken())
	}
}

// gate passes events it does not rewrite unchanged, rewrites "secret",
// and holds "late" until Close.
type gate struct{ decisions []firewall.Decision }

func (g *gate) Event(name string, data []byte, emit func(string, []byte) error) error {
	switch string(data) {
	case "secret":
		g.decisions = append(g.decisions, firewall.Decision{})
		return emit(name, []byte("redacted"))
	case "late":
		return nil
	}
	return emit(name, data)
}

func (g *gate) Close(emit func(string, []byte) error) error { return emit("", []byte("late")) }

func (g *gate) Decisions() []firewall.Decision { return g.decisions }

// TestWriterGate: events pass the gate; one it leaves unchanged goes out
// as the provider's bytes, one it rewrites as a new event; its decisions
// are handed out once.
func TestWriterGate(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	sw := NewWriter(rec, nil)
	sw.Gate = &gate{}
	for _, ev := range []string{"plain", "secret", "late"} {
		if err := sw.Write("", []byte(ev), []byte(": as sent\ndata: "+ev+"\n\n")); err != nil {
			t.Fatal(err)
		}
	}
	sw.CloseGate()
	want := ": as sent\ndata: plain\n\ndata: redacted\n\ndata: late\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	if d := sw.GateDecisions(); len(d) != 1 {
		t.Errorf("decisions %v, want 1", d)
	}
	if d := sw.GateDecisions(); d != nil {
		t.Errorf("decisions handed out twice: %v", d)
	}
}
