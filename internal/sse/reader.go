package sse

import (
	"bytes"
	"errors"
	"io"
	"math"
)

// DefaultMaxEventSize is the largest event (Raw length) a Reader accepts
// unless SetMaxEventSize says otherwise. It is generous because a single
// event may carry a whole response (e.g. OpenAI "response.completed").
const DefaultMaxEventSize = 16 << 20

const (
	// initialBufSize holds a few typical events (a few hundred bytes each).
	// It is small because an open stream keeps its Reader's buffer while it
	// waits for the next event; the transport buffers the connection below
	// it, so a smaller buffer costs copies, not system calls.
	initialBufSize = 1 << 10
	// A pooled Reader drops buffers that grew past these on Reset so that one
	// huge event does not pin megabytes for the lifetime of the pool.
	maxRetainedBuf  = 64 << 10
	maxRetainedData = 64 << 10
	// maxNameCache bounds the per-Reader cache of event names not in
	// knownNames, so a hostile stream cannot grow it without limit.
	maxNameCache = 32
	// maxEmptyReads mirrors bufio: an io.Reader that keeps returning 0, nil
	// is broken, and spinning on it forever would hang the proxy.
	maxEmptyReads = 100
)

// ErrEventTooLarge is returned by Next when an event exceeds the maximum
// event size. The stream cannot be resynchronised, so the error is sticky.
var ErrEventTooLarge = errors.New("sse: event too large")

var errInvalidRead = errors.New("sse: reader returned invalid count")

// utf8BOM may start a stream; the SSE spec says to ignore it when parsing.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Reader splits a byte stream into server-sent events.
//
// Next never waits for more input than the current event needs: once the
// blank line terminating an event has arrived it is returned, even if the
// underlying reader would block. That makes Reader suitable for forwarding
// a stream in real time.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	rd  io.Reader
	buf []byte
	max int
	err error // sticky; reported once the buffered input is drained

	// buf[r:w] is input not yet returned; r is the start of the event being
	// assembled and p the start of its next unparsed line.
	r, w, p int
	// scanned >= p: buf[p:scanned] is known to hold no line terminator, so a
	// long line arriving in many reads is scanned once, not quadratically.
	scanned int
	// lf caches where the next '\n' is (or w if none is buffered past it),
	// so that looking for "\r or \n" stays linear on LF-only and CR-only
	// streams alike.
	lf int
	// skipLF: the previous event ended with a '\r' that was the last byte
	// buffered. If the next byte is '\n' it completes that CRLF and must not
	// be mistaken for a blank line. It becomes part of the next Raw.
	skipLF bool
	// started: the first line of the stream has been parsed (BOM handling).
	started bool

	// The event being assembled. Offsets are relative to r so they survive
	// the buffer being slid or grown.
	hasName          bool
	nameOff, nameEnd int
	dataLines        int
	dataOff, dataEnd int    // the only data value while dataLines == 1
	data             []byte // joined values once dataLines > 1

	names map[string]string
}

// NewReader returns a Reader that reads events from rd with its own buffer.
func NewReader(rd io.Reader) *Reader {
	return &Reader{rd: rd, max: DefaultMaxEventSize}
}

// Reset discards all state and makes the Reader read from rd, keeping its
// (reasonably sized) buffers and the maximum event size so a pool can reuse it.
func (r *Reader) Reset(rd io.Reader) {
	buf, data, names, max := r.buf, r.data, r.names, r.max
	if cap(buf) > maxRetainedBuf {
		buf = nil
	}
	if cap(data) > maxRetainedData {
		data = nil
	}
	if max <= 0 {
		max = DefaultMaxEventSize
	}
	*r = Reader{rd: rd, buf: buf, data: data[:0], names: names, max: max}
}

// SetMaxEventSize sets the largest event, in raw bytes including its
// terminating blank line, that Next accepts; n <= 0 restores the default.
func (r *Reader) SetMaxEventSize(n int) {
	if n <= 0 {
		n = DefaultMaxEventSize
	}
	r.max = n
}

// Next returns the next event. At a clean end of input it returns io.EOF.
// Input after the last blank line (an event cut off by EOF or by a read
// error) is still returned as an event, parsed as far as it goes, before the
// error. Other read errors are returned as they are.
//
// The returned Event's slices are valid only until the next call to Next.
func (r *Reader) Next() (Event, error) {
	for {
		if end, ok := r.scan(); ok {
			if end-r.r > r.max {
				return r.tooLarge()
			}
			return r.dispatch(end), nil
		}
		if r.err != nil {
			if r.err == ErrEventTooLarge || r.w == r.r {
				return Event{}, r.err
			}
			// Whatever is left is an unterminated event: hand it over as
			// received so nothing the upstream sent is lost to the client.
			r.lastLine()
			if r.w-r.r > r.max {
				return r.tooLarge()
			}
			return r.dispatch(r.w), nil
		}
		if r.w-r.r > r.max {
			return r.tooLarge()
		}
		r.fill()
	}
}

func (r *Reader) tooLarge() (Event, error) {
	r.err = ErrEventTooLarge
	r.r, r.w, r.p, r.scanned, r.lf = 0, 0, 0, 0, 0
	r.resetEvent()
	return Event{}, r.err
}

// scan parses complete lines of the current event from buf[p:w]. It reports
// the end of the event (just past its blank line) once that has arrived.
func (r *Reader) scan() (end int, ok bool) {
	for {
		if r.skipLF {
			if r.p == r.w {
				return 0, false
			}
			r.skipLF = false
			if r.buf[r.p] == '\n' {
				r.p++
				r.scanned = r.p
			}
		}
		eol := r.indexEOL(max(r.scanned, r.p))
		if eol < 0 {
			r.scanned = r.w
			return 0, false
		}
		start := r.p
		if !r.started && bytes.HasPrefix(r.buf[start:eol], utf8BOM) {
			start += len(utf8BOM)
		}
		next := eol + 1
		if r.buf[eol] == '\r' {
			switch {
			case next < r.w:
				if r.buf[next] == '\n' {
					next++
				}
			case r.err != nil:
				// No more input: the '\r' ends the line on its own.
			case start != eol:
				// Whether a '\n' follows matters only for where the next
				// line starts, and this event is not complete yet anyway:
				// wait for the next byte.
				r.scanned = eol
				return 0, false
			default:
				// A blank line: the event is complete now. Don't wait for
				// a possible '\n'; absorb it later if it shows up.
				r.skipLF = true
			}
		}
		r.started = true
		r.p, r.scanned = next, next
		if start == eol {
			return next, true
		}
		r.field(start, eol)
	}
}

// lastLine parses an unterminated final line, buf[p:w], at end of input.
func (r *Reader) lastLine() {
	start := r.p
	if !r.started && bytes.HasPrefix(r.buf[start:r.w], utf8BOM) {
		start += len(utf8BOM)
	}
	r.started = true
	if start < r.w {
		r.field(start, r.w)
	}
	r.p, r.scanned = r.w, r.w
}

// indexEOL returns the index of the first '\r' or '\n' in buf[from:w], or -1.
func (r *Reader) indexEOL(from int) int {
	if r.lf < from {
		r.lf = from
	}
	if r.lf == r.w || r.buf[r.lf] != '\n' {
		if i := bytes.IndexByte(r.buf[r.lf:r.w], '\n'); i >= 0 {
			r.lf += i
		} else {
			r.lf = r.w
		}
	}
	if i := bytes.IndexByte(r.buf[from:r.lf], '\r'); i >= 0 {
		return from + i
	}
	if r.lf < r.w {
		return r.lf
	}
	return -1
}

// field records one non-blank line, buf[start:end], of the current event.
func (r *Reader) field(start, end int) {
	line := r.buf[start:end]
	if line[0] == ':' {
		return // comment; kept in Raw only
	}
	name := line
	vs := end // a field without a colon has an empty value
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name = line[:i]
		vs = start + i + 1
		if vs < end && r.buf[vs] == ' ' {
			vs++
		}
	}
	switch string(name) {
	case "event":
		r.hasName = true
		r.nameOff, r.nameEnd = vs-r.r, end-r.r
	case "data":
		switch r.dataLines {
		case 0:
			// The common single-line case needs no copy: Data will be a
			// subslice of the buffer.
			r.dataOff, r.dataEnd = vs-r.r, end-r.r
		case 1:
			r.data = append(r.data[:0], r.buf[r.r+r.dataOff:r.r+r.dataEnd]...)
			fallthrough
		default:
			r.data = append(r.data, '\n')
			r.data = append(r.data, r.buf[vs:end]...)
		}
		r.dataLines++
	}
	// "id", "retry" and unknown fields matter to browsers, not to a proxy;
	// they stay in Raw.
}

// dispatch returns the event occupying buf[r:end] and starts the next one.
func (r *Reader) dispatch(end int) Event {
	// Full slice expressions keep a caller's append from scribbling over
	// buffered input that follows.
	ev := Event{Raw: r.buf[r.r:end:end]}
	if r.hasName {
		ev.Name = r.intern(r.buf[r.r+r.nameOff : r.r+r.nameEnd])
	}
	switch {
	case r.dataLines == 1:
		ev.Data = r.buf[r.r+r.dataOff : r.r+r.dataEnd : r.r+r.dataEnd]
	case r.dataLines > 1:
		ev.Data = r.data[:len(r.data):len(r.data)]
	}
	r.r, r.p = end, end
	r.scanned = max(r.scanned, end)
	r.resetEvent()
	return ev
}

func (r *Reader) resetEvent() {
	r.hasName = false
	r.dataLines = 0
}

// intern returns b as a string without allocating for names seen before:
// event names repeat on every event of a stream.
func (r *Reader) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := knownNames[string(b)]; ok {
		return s
	}
	if s, ok := r.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if r.names == nil {
		r.names = make(map[string]string)
	}
	if len(r.names) < maxNameCache {
		r.names[s] = s
	}
	return s
}

// fill reads more input after sliding the unfinished event to the front of
// the buffer, growing the buffer if the event already fills it.
func (r *Reader) fill() {
	if r.r > 0 {
		n := copy(r.buf, r.buf[r.r:r.w])
		shift := r.r
		r.r, r.w = 0, n
		r.p -= shift
		r.scanned -= shift
		r.lf -= shift
	}
	if r.w == len(r.buf) {
		size := max(2*len(r.buf), initialBufSize)
		// Never buffer more than one byte past the limit: that byte is
		// what proves an event too large.
		if limit := r.max; limit < math.MaxInt && size > limit+1 {
			size = max(limit+1, len(r.buf)+1)
		}
		buf := make([]byte, size)
		copy(buf, r.buf[:r.w])
		r.buf = buf
	}
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			r.err = errInvalidRead
			return
		}
		r.w += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// Ready reports whether a complete event is already buffered, so the next
// Next returns without reading. A relay uses it to flush once per burst
// of events rather than once per event, without ever holding an event
// back while it waits for input.
func (r *Reader) Ready() bool {
	b := r.buf[r.r:r.w]
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n")) || bytes.Contains(b, []byte("\r\r"))
}
