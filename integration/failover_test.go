package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// failoverConfig: the standard providers plus "spare" (another OpenAI-format
// server on the same fake) and a dead provider, short stream timeouts.
func failoverConfig(e *env, site string) string {
	if site == "" {
		site = "ai_auth\n\tai_gateway {\n\t\tfailover {\n\t\t\tfirst_token_timeout 400ms\n\t\t\tstream_idle_timeout 400ms\n\t\t}\n\t}"
	}
	return e.caddyfile(cfgOpts{site: site, extraAI: `provider spare {
			format openai
			base_url ` + e.fakeURL + `/spare/v1
			api_key spare-key-0123456789
			model spare-model {
				input_price 0.1
				output_price 0.2
			}
		}
		provider other {
			format openai
			base_url ` + e.fakeURL + `/other/v1
			api_key other-key-0123456789
			model gpt-4o {
				input_price 1
				output_price 2
			}
		}
		provider third {
			format openai
			base_url ` + e.fakeURL + `/third/v1
			api_key third-key-0123456789
			model gpt-4o {
				input_price 1
				output_price 2
			}
		}
		provider dead {
			format openai
			base_url http://127.0.0.1:1/v1
			api_key dead-key-0123456789
			model dead-model {
				input_price 0
				output_price 0
			}
		}`})
}

func chatWithFallback(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"models":["spare:spare-model"],"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
}

// TestFailoverTriggers: each trigger moves to the next model; each
// non-trigger answers at once.
func TestFailoverTriggers(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(failoverConfig(e, ""))
	cases := []struct {
		name     string
		model    string
		opts     fakeprovider.Options
		stream   bool
		failover bool
		status   int
	}{
		{"connection refused", "dead:dead-model", fakeprovider.Options{}, false, true, 200},
		{"500", "openai:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 500}}, false, true, 200},
		{"503", "openai:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 503}}, false, true, 200},
		{"no first token in time", "openai:gpt-4o", fakeprovider.Options{StallModels: map[string]int{"gpt-4o": 1}, StallFor: 5 * time.Second}, true, true, 200},
		{"400 fails fast", "openai:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 400}}, false, false, 400},
		{"404 fails fast", "openai:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 404}}, false, false, 404},
		{"422 fails fast", "openai:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 422}}, false, false, 422},
		// last: a refused or rate-limited key cools down, which reorders later requests
		{"429 without Retry-After", "openai:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 429}}, false, true, 200},
		{"401 from the provider", "other:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 401}}, false, true, 200},
		{"403 from the provider", "third:gpt-4o", fakeprovider.Options{FailModels: map[string]int{"gpt-4o": 403}}, false, true, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fake.SetOptions(c.opts)
			defer e.fake.SetOptions(fakeprovider.Options{})
			resp := e.post("/v1/chat/completions", chatWithFallback(c.model, c.stream), e.bearer())
			var body string
			if c.stream && resp.StatusCode == 200 {
				events := sseData(t, resp)
				body = strings.Join(events, "\n")
				if n := strings.Count(body, `"role":"assistant"`); n != 1 {
					t.Fatalf("%d streams reached the client:\n%s", n, body)
				}
			} else {
				body = string(readAll(t, resp))
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			served := resp.Header.Get("AI-Gateway-Provider")
			if c.failover && (served != "spare" || resp.Header.Get("AI-Gateway-Attempts") != "2") {
				t.Fatalf("no failover: %v", resp.Header)
			}
			if !c.failover && resp.Header.Get("AI-Gateway-Attempts") != "1" {
				t.Fatalf("a non-trigger failed over: %v", resp.Header)
			}
			evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), map[bool]int{true: 2, false: 1}[c.failover])
			want := "fail_fast"
			if c.failover {
				want = "next_backend" // one key per provider: a refused key, too, moves to the next model
			}
			if evs[0].RetryAction != want {
				t.Fatalf("first attempt %s, want %s (%+v)", evs[0].RetryAction, want, evs[0])
			}
		})
	}
}

// TestRetryAfterAndCooldown: a 429 with a short Retry-After retries the
// same key once; a refused key cools down for later requests.
func TestRetryAfterAndCooldown(t *testing.T) {
	e := start(t, cfgOpts{})
	e.fake.SetOptions(fakeprovider.Options{FailStatus: 429, RetryAfter: "1", FailTimes: 1})
	start := time.Now()
	resp := e.post("/v1/chat/completions", chatBody, e.bearer())
	readAll(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Attempts") != "2" || time.Since(start) < time.Second {
		t.Fatalf("retry after 1s: %d %v after %s", resp.StatusCode, resp.Header, time.Since(start))
	}
	evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 2)
	if evs[0].RetryAction != "retry_same_backend" || evs[1].RetryAction != "succeeded" {
		t.Fatalf("actions %s, %s", evs[0].RetryAction, evs[1].RetryAction)
	}
	// a long Retry-After is not waited for
	e.fake.SetOptions(fakeprovider.Options{FailStatus: 429, RetryAfter: "30", FailTimes: 1})
	resp = e.post("/v1/chat/completions", chatBody, e.bearer())
	readAll(t, resp)
	if resp.StatusCode != 429 {
		t.Fatalf("long Retry-After: %d", resp.StatusCode)
	}

	// cooldown: two keys, the first refused; after one failover the bad
	// key is tried last, so the next request needs one attempt
	e.load(strings.Replace(e.caddyfile(cfgOpts{}), "api_key sk-managed-openai-0123456789abcdef",
		"api_key sk-bad-openai-key-000000000000\n\t\t\tapi_key sk-managed-openai-0123456789abcdef", 1))
	e.fake.SetOptions(fakeprovider.Options{RequireKey: "sk-managed-openai-0123456789abcdef"})
	attempts := []string{}
	for i := 0; i < 4; i++ {
		resp := e.post("/v1/chat/completions", chatBody, e.bearer())
		readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%d", resp.StatusCode)
		}
		attempts = append(attempts, resp.Header.Get("AI-Gateway-Attempts"))
	}
	twos := strings.Count(strings.Join(attempts, ""), "2")
	if twos != 1 {
		t.Fatalf("attempts per request %v: the refused key should fail once, then cool down", attempts)
	}
}

// TestStreamStallContinues: a stream that stalls after the first tokens is
// finished by the next candidate in the same response; the client sees
// the whole answer once.
func TestStreamStallContinues(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(failoverConfig(e, ""))
	e.fake.SetOptions(fakeprovider.Options{StallModels: map[string]int{"gpt-4o": 4}, StallFor: 10 * time.Second})
	defer e.fake.SetOptions(fakeprovider.Options{})

	t.Run("openai client, openai continuation", func(t *testing.T) {
		resp := e.post("/v1/chat/completions", chatWithFallback("openai:gpt-4o", true), e.bearer())
		events := sseData(t, resp)
		text := ""
		for _, d := range events {
			if d == "[DONE]" {
				continue
			}
			var c struct {
				Choices []struct{ Delta struct{ Content string } }
				Error   json.RawMessage
			}
			mustJSON(t, []byte(d), &c)
			if c.Error != nil {
				t.Fatalf("error event: %s", d)
			}
			if len(c.Choices) > 0 {
				text += c.Choices[0].Delta.Content
			}
		}
		if text != fakeprovider.DefaultReply || events[len(events)-1] != "[DONE]" {
			t.Fatalf("continued text %q (events %q)", text, events)
		}
		evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 2)
		if evs[0].RetryAction != "next_backend" || !evs[0].UsageEstimated || evs[0].OutputTokens == 0 || evs[1].RetryAction != "succeeded" || evs[1].ProviderID != "spare" {
			t.Fatalf("attempts %+v\n%+v", evs[0], evs[1])
		}
	})

	t.Run("anthropic client, openai continuation", func(t *testing.T) {
		e.fake.SetOptions(fakeprovider.Options{StallModels: map[string]int{"claude-sonnet-4-6": 6}, StallFor: 10 * time.Second})
		resp := e.post("/v1/messages", `{"model":"claude-sonnet-4-6","models":["spare:spare-model"],"max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, e.anthropicHdr())
		defer resp.Body.Close()
		text, types := "", []string{}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			d, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				Type  string
				Delta struct{ Type, Text string }
			}
			mustJSON(t, []byte(d), &ev)
			types = append(types, ev.Type)
			if ev.Type == "content_block_delta" {
				text += ev.Delta.Text
			}
		}
		if text != fakeprovider.DefaultReply || types[0] != "message_start" || types[len(types)-1] != "message_stop" || strings.Count(strings.Join(types, ","), "message_start") != 1 {
			t.Fatalf("text %q types %v", text, types)
		}
	})

	t.Run("no candidate left: a well-formed error event", func(t *testing.T) {
		e.fake.SetOptions(fakeprovider.Options{StallModels: map[string]int{"gpt-4o": 4, "spare-model": 3}, StallFor: 10 * time.Second})
		resp := e.post("/v1/chat/completions", chatWithFallback("openai:gpt-4o", true), e.bearer())
		events := sseData(t, resp)
		last := events[len(events)-1]
		var v struct {
			Error struct{ Message, Code string }
		}
		mustJSON(t, []byte(last), &v)
		if v.Error.Code != "stream_interrupted" {
			t.Fatalf("last event %s", last)
		}
	})

	t.Run("opt-out ends with an error event", func(t *testing.T) {
		e.load(failoverConfig(e, "ai_auth\n\tai_gateway {\n\t\tfailover {\n\t\t\tstream_idle_timeout 300ms\n\t\t\tcontinue_stalled_streams off\n\t\t}\n\t}"))
		e.fake.SetOptions(fakeprovider.Options{StallModels: map[string]int{"gpt-4o": 4}, StallFor: 10 * time.Second})
		resp := e.post("/v1/chat/completions", chatWithFallback("openai:gpt-4o", true), e.bearer())
		events := sseData(t, resp)
		if !strings.Contains(events[len(events)-1], "stream_interrupted") {
			t.Fatalf("events %q", events)
		}
		e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)
	})
}
