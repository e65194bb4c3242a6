package fakeprovider

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Request headers that override Options for a single request, so a test can
// script one request without reconfiguring the server.
const (
	HeaderStatus        = "X-Fake-Status"         // e.g. "500": fail with this status
	HeaderLatency       = "X-Fake-Latency"        // e.g. "200ms" (a bare number means milliseconds)
	HeaderStallBefore   = "X-Fake-Stall-Before"   // e.g. "1s": stall before the first stream event
	HeaderStallAfter    = "X-Fake-Stall-After"    // e.g. "3": stall after this many stream events...
	HeaderStallFor      = "X-Fake-Stall-For"      // ...for this long, e.g. "2s"
	HeaderCutAfter      = "X-Fake-Cut-After"      // e.g. "3": abort the stream after this many events
	HeaderEventInterval = "X-Fake-Event-Interval" // e.g. "20ms": pause between stream events
	HeaderOmitUsage     = "X-Fake-Omit-Usage"     // "1"/"true": leave usage out
	HeaderReply         = "X-Fake-Reply"          // assistant text
	HeaderRetryAfter    = "X-Fake-Retry-After"    // Retry-After value for a 429
	HeaderEchoKey       = "X-Fake-Echo-Key"       // "1": echo the credential received in the X-Echo-Key response header (as some proxies do)
)

// applyOverrides copies the X-Fake-* headers of h into o. A malformed value
// is reported rather than ignored so that a typo in a test fails loudly.
func applyOverrides(o *Options, h http.Header) error {
	var err error
	intHeader := func(name string, dst *int) {
		if v := h.Get(name); v != "" && err == nil {
			n, e := strconv.Atoi(v)
			if e != nil || n < 0 {
				err = fmt.Errorf("fakeprovider: bad %s header %q: want a non-negative integer", name, v)
				return
			}
			*dst = n
		}
	}
	durHeader := func(name string, dst *time.Duration) {
		if v := h.Get(name); v != "" && err == nil {
			d, e := parseDuration(v)
			if e != nil {
				err = fmt.Errorf("fakeprovider: bad %s header %q: want a duration such as 200ms", name, v)
				return
			}
			*dst = d
		}
	}

	intHeader(HeaderStatus, &o.FailStatus)
	durHeader(HeaderLatency, &o.Latency)
	durHeader(HeaderStallBefore, &o.StallBeforeFirst)
	intHeader(HeaderStallAfter, &o.StallAfterEvents)
	durHeader(HeaderStallFor, &o.StallFor)
	intHeader(HeaderCutAfter, &o.CutAfterEvents)
	durHeader(HeaderEventInterval, &o.EventInterval)
	if v := h.Get(HeaderOmitUsage); v != "" && err == nil {
		b, e := strconv.ParseBool(v)
		if e != nil {
			err = fmt.Errorf("fakeprovider: bad %s header %q: want 1/0/true/false", HeaderOmitUsage, v)
		}
		o.OmitUsage = b
	}
	if v := h.Get(HeaderReply); v != "" {
		o.Reply = v
	}
	if v := h.Get(HeaderRetryAfter); v != "" {
		o.RetryAfter = v
	}
	return err
}

// parseDuration accepts Go durations ("1.5s") and bare milliseconds ("200").
func parseDuration(v string) (time.Duration, error) {
	if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("negative duration")
	}
	return d, err
}
