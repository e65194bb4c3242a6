package fakeprovider

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// marshal encodes v as compact JSON without HTML escaping (the real APIs do
// not escape '<', '>' and '&').
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own response types are encoded; failing here is a bug.
		panic("fakeprovider: encoding response: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newID returns prefix followed by a random alphanumeric suffix, e.g.
// newID("chatcmpl-").
func newID(prefix string) string {
	return prefix + strings.ToLower(rand.Text())
}

// newRequestID returns a request id shaped like the provider's own.
func newRequestID(f apiFormat) string {
	if f == formatAnthropic {
		return "req_011C" + rand.Text()
	}
	return "req_" + strings.ToLower(rand.Text())
}

// sleepCtx waits for d or until ctx is done, reporting whether the full
// delay elapsed with ctx still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// object is a JSON object that keeps its members in order. Stream events use
// it so that "type" comes first, as on the wire of the real APIs, without a
// struct per event type.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(marshal(m.key))
		buf.WriteByte(':')
		buf.Write(marshal(m.value))
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
