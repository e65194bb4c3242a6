// Package fakeprovider is a fake LLM provider: a real http.Handler that
// speaks the OpenAI (Chat Completions, Responses, Embeddings, Models),
// Anthropic (Messages, Count Tokens) and Gemini (generateContent, streamed
// or not, countTokens, models) wire formats closely enough for the
// official SDKs to parse its answers, JSON and streaming alike.
//
// It exists for the gateway's integration tests and for demos, so every
// answer is deterministic and failure modes (errors, latency, stalls, cut
// streams, missing usage) can be scripted either through Options or, for a
// single request, through X-Fake-* request headers (see overrides.go).
package fakeprovider

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultReply is the assistant text used when Options.Reply is empty.
const DefaultReply = "Hello from the fake provider! This is a streamed answer."

// maxBodyBytes bounds the request body the fake is willing to read.
const maxBodyBytes = 32 << 20

// Options configures the fake provider. The zero value answers every request
// successfully with DefaultReply.
type Options struct {
	Latency    time.Duration // delay before the response headers
	FailStatus int           // if non-zero every request fails with this status and a format-correct error body
	// FailModels fails requests for these model names (the request's
	// "model") with the given status; others are served. For failover tests.
	FailModels map[string]int
	// FailTimes limits FailStatus to the first FailTimes requests after
	// SetOptions (0: every request).
	FailTimes int
	// LatencyModels and StallModels set Latency and StallAfterEvents (with
	// StallFor) per model name, for selection and stall tests.
	LatencyModels    map[string]time.Duration
	StallModels      map[string]int
	RetryAfter       string        // Retry-After header value sent with FailStatus 429 (optional)
	StallBeforeFirst time.Duration // streams: pause this long before the first event
	StallAfterEvents int           // streams: after this many events, pause StallFor (0 = never)
	StallFor         time.Duration
	// EventInterval paces streams: the pause before every event but the
	// first, like a model producing tokens (0 = events back to back).
	EventInterval    time.Duration
	CutAfterEvents   int    // streams: close the connection abruptly after this many events (0 = never)
	OmitUsage        bool   // leave usage out of JSON and stream answers
	CacheReadTokens  int    // report this many cached/cache-read input tokens
	CacheWriteTokens int    // anthropic: cache_creation_input_tokens
	ReasoningTokens  int    // openai: reasoning tokens (counted within completion/output tokens)
	Reply            string // assistant text; DefaultReply when empty
	RequireKey       string // if set, requests presenting another key get 401 in the format's error shape
}

// Recorded is one request as received by the fake.
type Recorded struct {
	Method, Path string
	Query        string // the raw query string
	Header       http.Header
	Body         []byte
}

// Server is the fake provider. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	mu     sync.Mutex
	opts   Options
	reqs   []Recorded
	failed int // requests failed under FailTimes since SetOptions
}

// New returns a Server configured with opts.
func New(opts Options) *Server {
	return &Server{opts: opts}
}

// SetOptions replaces the options used by subsequent requests.
func (s *Server) SetOptions(o Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = o
	s.failed = 0
}

// failNow reports whether a request should get the forced FailStatus,
// counting it against FailTimes.
func (s *Server) failNow(o *Options) bool {
	if o.FailStatus < 400 {
		return false
	}
	if o.FailTimes == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed >= o.FailTimes {
		return false
	}
	s.failed++
	return true
}

func (s *Server) options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// Requests returns a copy of every request received since creation or the
// last Reset, in arrival order.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Recorded, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = Recorded{Method: r.Method, Path: r.Path, Query: r.Query, Header: r.Header.Clone(), Body: bytes.Clone(r.Body)}
	}
	return out
}

// Reset forgets the recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// Count returns the number of recorded requests.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// maxRecorded bounds the memory a long-running fake (the demo upstream, a
// load test) spends on its request log: only the latest are kept.
const maxRecorded = 10000

func (s *Server) record(r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) >= maxRecorded {
		n := copy(s.reqs, s.reqs[len(s.reqs)-maxRecorded/2:])
		clear(s.reqs[n:])
		s.reqs = s.reqs[:n]
	}
	s.reqs = append(s.reqs, Recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
}

// call bundles everything a route handler needs for one request.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	cfg    Options // Server options with the request's X-Fake-* overrides applied
	format apiFormat
	reqID  string
}

// ServeHTTP records the request, applies latency, forced failures and key
// checks, then dispatches on the path suffix so that the fake answers both
// "/v1/..." and prefixed paths such as "/openai/v1/...".
//
// A stream cut on purpose (CutAfterEvents) aborts the connection by
// panicking with http.ErrAbortHandler, which net/http handles silently; do
// not call ServeHTTP for such requests outside an http.Server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	s.record(r, body)

	c := &call{w: w, r: r, body: body, cfg: s.options(), format: formatFor(r.URL.Path)}
	c.reqID = newRequestID(c.format)
	if c.format == formatAnthropic {
		w.Header().Set("request-id", c.reqID)
	} else {
		w.Header().Set("x-request-id", c.reqID)
	}

	overrideErr := applyOverrides(&c.cfg, r.Header)
	if r.Header.Get(HeaderEchoKey) == "1" {
		w.Header().Set("X-Echo-Key", "key="+r.Header.Get("X-Api-Key")+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	if c.cfg.Reply == "" {
		c.cfg.Reply = DefaultReply
	}
	c.cfg.Reply = continueReply(body, c.cfg.Reply)
	if m := c.model(); m != "" {
		if d, ok := c.cfg.LatencyModels[m]; ok {
			c.cfg.Latency = d
		}
		if n, ok := c.cfg.StallModels[m]; ok {
			c.cfg.StallAfterEvents = n
		}
	}

	if !sleepCtx(r.Context(), c.cfg.Latency) {
		return // client gave up while we were "thinking"
	}
	switch {
	case readErr != nil:
		c.writeError(http.StatusRequestEntityTooLarge, "", "request body too large or unreadable: "+readErr.Error())
		return
	case overrideErr != nil:
		c.writeError(http.StatusBadRequest, "", overrideErr.Error())
		return
	case c.cfg.FailStatus >= 400 && (r.Header.Get(HeaderStatus) != "" || s.failNow(&c.cfg)):
		c.writeForcedError(c.cfg.FailStatus)
		return
	case c.cfg.FailModels[c.model()] >= 400:
		c.writeForcedError(c.cfg.FailModels[c.model()])
		return
	case c.cfg.RequireKey != "" && c.presentedKey() != c.cfg.RequireKey:
		c.writeAuthError()
		return
	}

	if err := c.dispatch(); errors.Is(err, errCut) {
		// Abort without terminating the response so the client sees a
		// truncated stream (unexpected EOF on HTTP/1.1, RST_STREAM on h2).
		panic(http.ErrAbortHandler)
	}
}

// dispatch routes the request on its path suffix. The returned error is
// non-nil only when a stream ended early (client gone or cut on purpose).
func (c *call) dispatch() error {
	p := strings.TrimSuffix(c.r.URL.Path, "/")
	m := c.r.Method
	if model, method, ok := geminiPath(p); ok {
		return c.geminiDispatch(model, method)
	}
	switch {
	case strings.HasSuffix(p, "/v1beta/models") && m == http.MethodGet:
		return c.geminiListModels("")
	case strings.Contains(p, "/v1beta/models/") && m == http.MethodGet:
		return c.geminiListModels(p[strings.LastIndex(p, "/v1beta/models/")+len("/v1beta/models/"):])
	case strings.HasSuffix(p, "/v1/messages/count_tokens") && m == http.MethodPost:
		return c.anthropicCountTokens()
	case strings.HasSuffix(p, "/v1/messages") && m == http.MethodPost:
		return c.anthropicMessages()
	case strings.HasSuffix(p, "/v1/chat/completions") && m == http.MethodPost:
		return c.chatCompletions()
	case strings.HasSuffix(p, "/v1/responses") && m == http.MethodPost:
		return c.responses()
	case strings.HasSuffix(p, "/v1/embeddings") && m == http.MethodPost:
		return c.embeddings()
	case strings.HasSuffix(p, "/v1/models") && m == http.MethodGet:
		return c.listModels()
	case strings.Contains(p, "/v1/models/") && m == http.MethodGet:
		return c.retrieveModel(p[strings.LastIndex(p, "/v1/models/")+len("/v1/models/"):])
	}
	c.writeNotFound()
	return nil
}

// apiFormat is the wire format a request path belongs to.
type apiFormat int

const (
	formatOpenAI apiFormat = iota
	formatAnthropic
	formatGemini
)

// formatFor decides the wire format from the path alone: /v1/messages and
// everything below it is Anthropic, /v1beta/ Gemini, the rest is OpenAI.
func formatFor(path string) apiFormat {
	if strings.Contains(path, "/v1beta/") {
		return formatGemini
	}
	p := strings.TrimSuffix(path, "/")
	if strings.HasSuffix(p, "/v1/messages") || strings.Contains(p, "/v1/messages/") {
		return formatAnthropic
	}
	return formatOpenAI
}

// model is the model the request names: in the body, or in a Gemini path.
func (c *call) model() string {
	if m, _, ok := geminiPath(c.r.URL.Path); ok {
		return m
	}
	return requestModel(c.body)
}

// presentedKey returns the API key of the request, looking first at the
// format's native header (Authorization for OpenAI, x-api-key for Anthropic,
// x-goog-api-key or ?key= for Gemini) and then at the other one.
func (c *call) presentedKey() string {
	if c.format == formatGemini {
		if k := c.r.Header.Get("X-Goog-Api-Key"); k != "" {
			return k
		}
		if k := c.r.URL.Query().Get("key"); k != "" {
			return k
		}
	}
	bearer := ""
	if a := c.r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		bearer = strings.TrimSpace(a[7:])
	}
	native, other := bearer, c.r.Header.Get("x-api-key")
	if c.format == formatAnthropic {
		native, other = other, native
	}
	if native != "" {
		return native
	}
	return other
}
