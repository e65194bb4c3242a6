package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
)

// ErrInvalidName is returned by Write for an event name containing a line
// break, which would otherwise corrupt the framing of the stream.
var ErrInvalidName = errors.New("sse: event name contains a line break")

// maxPooledWrite keeps the odd huge event from pinning its buffer in the pool.
const maxPooledWrite = 64 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Write writes one well-formed event to w: "event: name\n" when name is not
// empty, one "data: " line per line of data (a line break in data, "\n",
// "\r\n" or "\r", starts a new data line, so a reader rebuilds data exactly
// up to the line-break style), then the terminating blank line. Empty data
// is written as a single empty data line so the event is still dispatched
// by browsers. The event is written with a single Write call so it cannot be
// interleaved with a flush half-way through.
func Write(w io.Writer, name string, data []byte) error {
	if strings.ContainsAny(name, "\r\n") {
		return ErrInvalidName
	}
	bp := writeBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if name != "" {
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	for {
		b = append(b, "data: "...)
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			b = append(b, data...)
			b = append(b, '\n')
			break
		}
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b = append(b, '\n')
	_, err := w.Write(b)
	if cap(b) <= maxPooledWrite {
		*bp = b
		writeBufs.Put(bp)
	}
	return err
}
