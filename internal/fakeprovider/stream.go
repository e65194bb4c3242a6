package fakeprovider

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"
)

var (
	// errClientGone ends a stream whose client disconnected.
	errClientGone = errors.New("fakeprovider: client went away")
	// errCut ends a stream that is cut on purpose (CutAfterEvents); the
	// handler then aborts the connection.
	errCut = errors.New("fakeprovider: stream cut on purpose")
)

// sseWriter writes Server-Sent Events, flushing after each one, and applies
// the scripted pacing, stalls and cuts. Every event counts, including pings and the
// final "[DONE]".
type sseWriter struct {
	ctx context.Context
	w   http.ResponseWriter
	rc  *http.ResponseController

	stallBefore time.Duration
	stallAfter  int
	stallFor    time.Duration
	interval    time.Duration
	cutAfter    int

	sent int // events written so far
}

// startStream sends the stream's response headers and returns a writer for
// its events.
func (c *call) startStream() *sseWriter {
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	s := &sseWriter{
		ctx:         c.r.Context(),
		w:           c.w,
		rc:          http.NewResponseController(c.w),
		stallBefore: c.cfg.StallBeforeFirst,
		stallAfter:  c.cfg.StallAfterEvents,
		stallFor:    c.cfg.StallFor,
		interval:    c.cfg.EventInterval,
		cutAfter:    c.cfg.CutAfterEvents,
	}
	// Flush now so the client sees the headers even if the first event is
	// stalled.
	_ = s.rc.Flush()
	return s
}

// event is one Server-Sent Event. name may be empty (OpenAI Chat
// Completions uses data-only events); data is encoded as JSON unless it is
// a rawData.
type event struct {
	name string
	data any
}

// rawData is event data written verbatim, such as "[DONE]".
type rawData string

// sendAll writes evs in order, stopping at the first error.
func (s *sseWriter) sendAll(evs []event) error {
	for _, e := range evs {
		var b []byte
		if r, ok := e.data.(rawData); ok {
			b = []byte(r)
		} else {
			b = marshal(e.data)
		}
		if err := s.sendRaw(e.name, b); err != nil {
			return err
		}
	}
	return nil
}

// sendRaw writes one event with data taken verbatim.
func (s *sseWriter) sendRaw(event string, data []byte) error {
	if s.sent == 0 && !sleepCtx(s.ctx, s.stallBefore) {
		return errClientGone
	}
	if s.sent > 0 && !sleepCtx(s.ctx, s.interval) {
		return errClientGone
	}
	if s.ctx.Err() != nil {
		return errClientGone
	}
	var buf bytes.Buffer
	if event != "" {
		buf.WriteString("event: " + event + "\n")
	}
	buf.WriteString("data: ")
	buf.Write(data)
	buf.WriteString("\n\n")
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return errClientGone
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return errClientGone
	}
	s.sent++
	if s.stallAfter > 0 && s.sent == s.stallAfter && !sleepCtx(s.ctx, s.stallFor) {
		return errClientGone
	}
	if s.cutAfter > 0 && s.sent >= s.cutAfter {
		return errCut
	}
	return nil
}
