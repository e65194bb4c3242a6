package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// continueRepeatConfig adds to the failover providers ones whose models
// start their answer over when asked to continue it (the fake's
// RestartingModel), in both wire formats.
func continueRepeatConfig(e *env) string {
	site := "ai_auth\n\tai_gateway {\n\t\tfailover {\n\t\t\tfirst_token_timeout 400ms\n\t\t\tstream_idle_timeout 400ms\n\t\t}\n\t}"
	return e.caddyfile(cfgOpts{site: site, extraAI: `provider spare {
			format openai
			base_url ` + e.fakeURL + `/spare/v1
			api_key spare-key-0123456789
			model spare-model {
				input_price 0.1
				output_price 0.2
			}
			model spare-restarts {
				input_price 0.1
				output_price 0.2
			}
		}
		provider sparea {
			format anthropic
			base_url ` + e.fakeURL + `/sparea
			api_key sparea-key-0123456789
			model claude-restarts {
				input_price 0.1
				output_price 0.2
			}
		}`})
}

// streamText reads a streamed answer, in the OpenAI or the Anthropic
// shape, and returns its text; it fails on an error event or a stream
// that is not well-formed.
func streamText(t *testing.T, events []string, anthropic bool) string {
	t.Helper()
	text := ""
	starts := 0
	for _, d := range events {
		if d == "[DONE]" {
			continue
		}
		var v struct {
			Type    string
			Delta   struct{ Type, Text string }
			Choices []struct{ Delta struct{ Content string } }
			Error   json.RawMessage
		}
		mustJSON(t, []byte(d), &v)
		if v.Error != nil || v.Type == "error" {
			t.Fatalf("error event: %s", d)
		}
		if anthropic {
			if v.Type == "message_start" {
				starts++
			}
			if v.Type == "content_block_delta" && v.Delta.Type == "text_delta" {
				text += v.Delta.Text
			}
		} else if len(v.Choices) > 0 {
			text += v.Choices[0].Delta.Content
		}
	}
	if anthropic && (starts != 1 || !strings.Contains(events[len(events)-1], "message_stop")) {
		t.Fatalf("not one well-formed message: %q", events)
	}
	if !anthropic && events[len(events)-1] != "[DONE]" {
		t.Fatalf("no [DONE]: %q", events)
	}
	return text
}

// TestContinuationRepeat: a stream stalls after its first words and is
// continued on a fallback; whether the fallback starts its answer over or
// continues it, the client reads the answer once ("Hello from …", never
// "HelloHello from …"), in the OpenAI and the Anthropic stream shapes.
func TestContinuationRepeat(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(continueRepeatConfig(e))
	defer e.fake.SetOptions(fakeprovider.Options{})

	for _, tt := range []struct {
		name      string
		anthropic bool // the client speaks Anthropic
		stalls    string
		fallback  string
		stallAt   int
	}{
		{"openai client, fallback restarts", false, "gpt-4o", "spare:spare-restarts", 4},
		{"openai client, fallback continues", false, "gpt-4o", "spare:spare-model", 4},
		{"openai client, anthropic fallback restarts", false, "gpt-4o", "sparea:claude-restarts", 4},
		{"anthropic client, fallback restarts", true, "claude-sonnet-4-6", "spare:spare-restarts", 6},
		{"anthropic client, fallback continues", true, "claude-sonnet-4-6", "spare:spare-model", 6},
		{"anthropic client, anthropic fallback restarts", true, "claude-sonnet-4-6", "sparea:claude-restarts", 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.SetOptions(fakeprovider.Options{StallModels: map[string]int{tt.stalls: tt.stallAt}, StallFor: 10 * time.Second})
			path, hdr := "/v1/chat/completions", e.bearer()
			body := fmt.Sprintf(`{"model":%q,"models":[%q],"stream":true,"messages":[{"role":"user","content":"hi"}]}`, tt.stalls, tt.fallback)
			if tt.anthropic {
				path, hdr = "/v1/messages", e.anthropicHdr()
				body = fmt.Sprintf(`{"model":%q,"models":[%q],"max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, tt.stalls, tt.fallback)
			}
			resp := e.post(path, body, hdr)
			text := streamText(t, sseData(t, resp), tt.anthropic)
			if text != fakeprovider.DefaultReply {
				t.Fatalf("client read %q, want %q", text, fakeprovider.DefaultReply)
			}
			evs := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 2)
			if evs[0].RetryAction != "next_backend" || evs[1].RetryAction != "succeeded" {
				t.Fatalf("attempts %+v\n%+v", evs[0], evs[1])
			}
		})
	}
}
