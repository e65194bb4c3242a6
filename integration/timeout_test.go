package integration

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// timeoutConfig shortens the timeouts and adds a healthy second provider
// ("spare", its own fake server) serving model spare-model.
func timeoutConfig(e *env, spareURL string) string {
	cf := e.caddyfile(cfgOpts{extraAI: `provider spare {
			format openai
			base_url ` + spareURL + `/v1
			api_key spare-key-0123456789
			model spare-model {
				input_price 1
				output_price 2
			}
		}`})
	cf = strings.Replace(cf, "per_request_timeout 5s", "per_request_timeout 300ms", 1)
	return strings.Replace(cf, "total_timeout 10s", "total_timeout 800ms", 1)
}

func TestTimeoutsAndStallBeforeFirstEvent(t *testing.T) {
	e := start(t, cfgOpts{})
	spare := fakeprovider.New(fakeprovider.Options{})
	srv := httptest.NewServer(spare)
	defer srv.Close()
	e.load(timeoutConfig(e, srv.URL))

	t.Run("slow provider fails over to the next model", func(t *testing.T) {
		e.fake.SetOptions(fakeprovider.Options{Latency: 2 * time.Second})
		resp := e.post("/v1/chat/completions", `{"model":"gpt-4o","models":["spare:spare-model"],"messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		b := readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Provider") != "spare" || resp.Header.Get("AI-Gateway-Attempts") != "2" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
		}
		evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 2)
		if evs[0].RetryAction != "next_backend" || !strings.Contains(evs[0].Error, "per_request_timeout") {
			t.Fatalf("first attempt %+v", evs[0])
		}
	})

	t.Run("stream silent before its first event fails over with nothing sent", func(t *testing.T) {
		e.fake.SetOptions(fakeprovider.Options{StallBeforeFirst: 2 * time.Second})
		resp := e.post("/v1/chat/completions", `{"model":"gpt-4o","models":["spare:spare-model"],"stream":true,"messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		events := sseData(t, resp)
		if resp.Header.Get("AI-Gateway-Provider") != "spare" || events[len(events)-1] != "[DONE]" {
			t.Fatalf("%v %q", resp.Header, events)
		}
		// exactly one stream reached the client: one role chunk
		if n := strings.Count(strings.Join(events, "\n"), `"role":"assistant"`); n != 1 {
			t.Fatalf("%d streams reached the client", n)
		}
	})

	t.Run("total timeout is 504", func(t *testing.T) {
		e.fake.SetOptions(fakeprovider.Options{Latency: 2 * time.Second})
		start := time.Now()
		resp := e.post("/v1/chat/completions", `{"model":"gpt-4o","models":["gpt-4o-mini","gpt-4.1","gpt-4.1-mini"],"messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		b := readAll(t, resp)
		var v openAIError
		mustJSON(t, b, &v)
		if resp.StatusCode != 504 || v.Error.Code != "total_timeout" || v.Error.Type != "timeout_error" {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("took %s", el)
		}
	})
}

// TestTotalTimeoutOnTheLastCandidate: when the last candidate uses up
// total_timeout, the answer is 504 total_timeout, and its attempt says that
// limit cut it — not per_request_timeout, which was longer.
func TestTotalTimeoutOnTheLastCandidate(t *testing.T) {
	e := start(t, cfgOpts{})
	cf := strings.Replace(e.caddyfile(cfgOpts{}), "total_timeout 10s", "total_timeout 300ms", 1)
	e.load(strings.Replace(cf, "per_request_timeout 5s", "per_request_timeout 200ms", 1))
	for _, stream := range []bool{false, true} {
		hdr := e.bearer()
		hdr[fakeprovider.HeaderLatency] = "2s"
		resp := e.post("/v1/chat/completions", `{"model":"openai:gpt-4o","stream":`+map[bool]string{false: "false", true: "true"}[stream]+`,"models":["anthropic:claude-haiku-4-5"],"messages":[{"role":"user","content":"hi"}]}`, hdr)
		b := readAll(t, resp)
		if resp.StatusCode != 504 || !strings.Contains(string(b), `"total_timeout"`) {
			t.Fatalf("stream=%v: %d %s", stream, resp.StatusCode, b)
		}
		evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 2)
		if evs[0].Error != "no answer within per_request_timeout" || evs[1].Error != "no answer within total_timeout" {
			t.Fatalf("stream=%v: attempt errors %q, %q", stream, evs[0].Error, evs[1].Error)
		}
	}
}
