package gentrace

import "net/http"

// Failover reasons: why an attempt gave no answer, or stopped giving one.
const (
	ReasonRateLimited     = "rate_limited"      // 429
	ReasonKeyRefused      = "key_refused"       // 401/403: the provider key was refused
	ReasonProviderError   = "provider_error"    // 408 or 5xx from the provider
	ReasonRequestRejected = "request_rejected"  // another 4xx: the request would fail everywhere
	ReasonConnection      = "connection_failed" // no answer at all
	ReasonTimeout         = "timeout"           // per_request_timeout
	ReasonFirstToken      = "first_token_timeout"
	ReasonStalled         = "stream_stalled"
	ReasonTotalTimeout    = "total_timeout"
	ReasonStreamError     = "provider_stream_error" // an error event in the stream
	ReasonInterrupted     = "stream_interrupted"    // cut after content reached the client
	ReasonBadResponse     = "bad_response"          // a 2xx the gateway could not serve
	ReasonClientClosed    = "client_closed"
	ReasonShutdown        = "shutdown"
	ReasonNoCandidate     = "no_candidate" // no provider key for any candidate
)

// Ending is how an attempt ended, as far as its failover reason goes.
type Ending struct {
	Served      bool // its answer reached the client, whole or in part
	ClientGone  bool // the client closed the connection
	Failed      bool // something went wrong (the attempt has an error text)
	Status      int  // the provider's HTTP status; 0 when it never answered
	Refused     bool // the provider answered with an error status
	StreamError bool // the provider's stream carried an error event
	// Cut is the reason when the gateway itself cut the attempt (a
	// timeout, the shutdown); it goes before any other.
	Cut string
}

// FailoverReason names why an attempt gave no answer, or stopped giving
// one, in a few stable words; "" when it served a whole answer.
func FailoverReason(e Ending) string {
	if e.Served && !e.Failed {
		return ""
	}
	if e.Cut != "" {
		return e.Cut
	}
	switch {
	case e.ClientGone:
		return ReasonClientClosed
	case e.Refused:
		switch s := e.Status; {
		case s == http.StatusTooManyRequests:
			return ReasonRateLimited
		case s == http.StatusUnauthorized, s == http.StatusForbidden:
			return ReasonKeyRefused
		case s == http.StatusRequestTimeout, s >= 500:
			return ReasonProviderError
		}
		return ReasonRequestRejected
	case e.Status == 0:
		return ReasonConnection
	case e.StreamError:
		return ReasonStreamError
	case e.Served:
		return ReasonInterrupted
	}
	return ReasonBadResponse
}
