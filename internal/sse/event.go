// Package sse reads and writes server-sent event streams
// (https://html.spec.whatwg.org/multipage/server-sent-events.html) the way a
// proxy needs them: every event comes back with its exact wire bytes so it can
// be forwarded unchanged, plus the few parsed fields a proxy inspects.
package sse

// Event is one server-sent event as read from the wire.
//
// The slices are owned by the Reader that returned the Event and are reused:
// they are valid only until the next call to Next (or Reset) on that Reader.
// Copy them if they must outlive that.
type Event struct {
	// Raw is the event's bytes exactly as received, including its terminating
	// blank line, so it can be written to a client unchanged. Concatenating
	// Raw over all events returned by a Reader reproduces its input.
	Raw []byte
	// Name is the value of the last "event:" field ("" if none).
	Name string
	// Data is the "data:" field values joined with "\n", with one leading
	// space after each colon stripped as the SSE spec requires. It is nil when
	// the event has no data field (e.g. a comment-only keep-alive block) and
	// empty but non-nil for a data field with an empty value.
	Data []byte
}
