package provider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Minimal chat requests in each format.
const (
	chatRequest     = `{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"temperature":0.5,"stream":true}`
	geminiRequest   = `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":50}}`
	geminiResponse  = `{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`
	messagesRequest = `{"model":"claude-haiku-4-5","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}],"stream":true}`
)

func TestFor(t *testing.T) {
	for _, tt := range []struct {
		name catalog.Format
		want Format
		wire translate.Format
	}{
		{catalog.OpenAI, OpenAI, translate.OpenAI},
		{catalog.Anthropic, Anthropic, translate.Anthropic},
		{catalog.Gemini, Gemini, translate.Gemini},
	} {
		f := For(tt.name)
		if f != tt.want || f.Name() != tt.name || f.Wire() != tt.wire {
			t.Errorf("For(%s) = %v (name %s, wire %d)", tt.name, f, f.Name(), f.Wire())
		}
	}
	for _, name := range []catalog.Format{"", "bedrock", "OpenAI"} {
		if f := For(name); f != nil {
			t.Errorf("For(%q) = %v, want nil", name, f.Name())
		}
	}
}

// Every format the catalog accepts has a Format.
func TestForEveryValidFormat(t *testing.T) {
	for _, name := range []catalog.Format{catalog.OpenAI, catalog.Anthropic, catalog.Gemini} {
		if !name.Valid() || For(name) == nil {
			t.Errorf("%s: valid %v, Format %v", name, name.Valid(), For(name))
		}
	}
}

func TestEndpoints(t *testing.T) {
	for _, tt := range []struct {
		f        Format
		stream   bool
		base     string
		path     string
		query    string
		kind     usage.Endpoint
		fullPath string // the chat endpoint on the API's usual host
	}{
		{OpenAI, true, "/v1", "/chat/completions", "", usage.ChatCompletions, "/v1/chat/completions"},
		{Anthropic, true, "", "/v1/messages", "", usage.Messages, "/v1/messages"},
		{Gemini, false, "", "/v1beta/models/gemini-2.5-flash:generateContent", "", usage.GenerateContent, "/v1beta/models/gemini-2.5-flash:generateContent"},
		{Gemini, true, "", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse", usage.GenerateContent, "/v1beta/models/gemini-2.5-flash:streamGenerateContent"},
	} {
		path, query, kind := tt.f.Chat("gemini-2.5-flash", tt.stream)
		if tt.f.BasePath() != tt.base || path != tt.path || query != tt.query || kind != tt.kind || tt.f.BasePath()+path != tt.fullPath {
			t.Errorf("%s: base %q, chat %q %q %v", tt.f.Name(), tt.f.BasePath(), path, query, kind)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	for _, tt := range []struct {
		name       string
		f          Format
		in         http.Header
		key        string
		translated bool
		want       http.Header
	}{
		{"openai key", OpenAI, http.Header{}, "sk-1", false,
			http.Header{"Authorization": {"Bearer sk-1"}}},
		{"openai keyless", OpenAI, http.Header{"Accept": {"*/*"}}, "", false,
			http.Header{"Accept": {"*/*"}}},
		{"openai keeps anthropic headers of its own client", OpenAI, http.Header{"Anthropic-Version": {"2023-06-01"}}, "sk-1", false,
			http.Header{"Authorization": {"Bearer sk-1"}, "Anthropic-Version": {"2023-06-01"}}},
		{"openai drops a translated client's anthropic headers", OpenAI,
			http.Header{"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"prompt-caching-2024-07-31"}, "Accept": {"*/*"}}, "sk-1", true,
			http.Header{"Authorization": {"Bearer sk-1"}, "Accept": {"*/*"}}},
		{"anthropic key and default version", Anthropic, http.Header{}, "sk-ant-1", false,
			http.Header{"X-Api-Key": {"sk-ant-1"}, "Anthropic-Version": {"2023-06-01"}}},
		{"anthropic keeps the client's version and beta", Anthropic,
			http.Header{"Anthropic-Version": {"2024-01-01"}, "Anthropic-Beta": {"b"}}, "sk-ant-1", false,
			http.Header{"X-Api-Key": {"sk-ant-1"}, "Anthropic-Version": {"2024-01-01"}, "Anthropic-Beta": {"b"}}},
		{"anthropic sets its version on translated requests", Anthropic,
			http.Header{"Anthropic-Version": {"2024-01-01"}}, "sk-ant-1", true,
			http.Header{"X-Api-Key": {"sk-ant-1"}, "Anthropic-Version": {"2023-06-01"}}},
		{"anthropic keyless", Anthropic, http.Header{}, "", true,
			http.Header{"Anthropic-Version": {"2023-06-01"}}},
		{"gemini key", Gemini, http.Header{"X-Goog-Api-Client": {"google-genai-sdk/1"}}, "AIza-1", false,
			http.Header{"X-Goog-Api-Key": {"AIza-1"}, "X-Goog-Api-Client": {"google-genai-sdk/1"}}},
		{"gemini drops a translated client's anthropic headers", Gemini, http.Header{"Anthropic-Version": {"2023-06-01"}}, "AIza-1", true,
			http.Header{"X-Goog-Api-Key": {"AIza-1"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.in.Clone()
			tt.f.Authenticate(h, tt.key, tt.translated)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got %v, want %v", h, tt.want)
			}
		})
	}
}

func TestTranslateRequest(t *testing.T) {
	o := translate.Options{Model: "target-model", DefaultMaxTokens: 321, DropSampling: true, IncludeUsage: true}
	for _, tt := range []struct {
		name     string
		to, from Format
		in       string
		want     func([]byte, translate.Options) ([]byte, []string, error)
		has      []string // what the options put in
		lacks    []string
	}{
		{"openai to anthropic", Anthropic, OpenAI, chatRequest, translate.ChatToMessages,
			[]string{`"model":"target-model"`, `"max_tokens":321`}, []string{`temperature`, `stream_options`}},
		{"anthropic to openai", OpenAI, Anthropic, messagesRequest, translate.MessagesToChat,
			[]string{`"model":"target-model"`, `"include_usage":true`}, nil},
		{"gemini to openai", OpenAI, Gemini, geminiRequest, translate.GeminiToChat,
			[]string{`"model":"target-model"`, `"max_completion_tokens":50`}, nil},
		{"openai to gemini", Gemini, OpenAI, chatRequest, translate.ChatToGemini,
			[]string{`"contents":[`}, []string{`"model"`}},
		{"gemini to anthropic", Anthropic, Gemini, geminiRequest, func(b []byte, o translate.Options) ([]byte, []string, error) {
			chat, _, _ := translate.GeminiToChat(b, translate.Options{Model: o.Model})
			return translate.ChatToMessages(chat, o)
		}, []string{`"model":"target-model"`, `"max_tokens":50`}, nil},
		{"anthropic to gemini", Gemini, Anthropic, messagesRequest, func(b []byte, o translate.Options) ([]byte, []string, error) {
			chat, _, _ := translate.MessagesToChat(b, translate.Options{Model: o.Model})
			return translate.ChatToGemini(chat, o)
		}, []string{`"contents":[`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := tt.to.TranslateRequest(tt.from, []byte(tt.in), o)
			if err != nil {
				t.Fatal(err)
			}
			want, wantRemoved, _ := tt.want([]byte(tt.in), o)
			if !bytes.Equal(out, want) || !reflect.DeepEqual(removed, wantRemoved) {
				t.Errorf("got %s %v, want %s %v", out, removed, want, wantRemoved)
			}
			for _, s := range tt.has {
				if !strings.Contains(string(out), s) {
					t.Errorf("%s lacks %s", out, s)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(string(out), s) {
					t.Errorf("%s has %s", out, s)
				}
			}
		})
	}
	for _, f := range []Format{OpenAI, Anthropic, Gemini} {
		if _, _, err := f.TranslateRequest(f, []byte(chatRequest), o); err == nil {
			t.Errorf("%s from itself: no error", f.Name())
		}
	}
}

func TestTranslateResponse(t *testing.T) {
	chat := `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
	messages := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}`
	for _, tt := range []struct {
		name     string
		from, to Format
		in       string
		want     func([]byte, string) ([]byte, error)
	}{
		{"openai to anthropic", OpenAI, Anthropic, chat, translate.ChatResponseToMessages},
		{"anthropic to openai", Anthropic, OpenAI, messages, translate.MessagesResponseToChat},
		{"openai unchanged", OpenAI, OpenAI, chat, nil},
		{"anthropic unchanged", Anthropic, Anthropic, messages, nil},
		{"gemini unchanged", Gemini, Gemini, geminiResponse, nil},
		{"gemini to openai", Gemini, OpenAI, geminiResponse, translate.GeminiResponseToChat},
		{"openai to gemini", OpenAI, Gemini, chat, translate.ChatResponseToGemini},
		{"gemini to anthropic", Gemini, Anthropic, geminiResponse, func(b []byte, m string) ([]byte, error) {
			c, _ := translate.GeminiResponseToChat(b, m)
			return translate.ChatResponseToMessages(c, m)
		}},
		{"anthropic to gemini", Anthropic, Gemini, messages, func(b []byte, m string) ([]byte, error) {
			c, _ := translate.MessagesResponseToChat(b, m)
			return translate.ChatResponseToGemini(c, m)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.from.TranslateResponse(tt.to, []byte(tt.in), "m")
			if err != nil {
				t.Fatal(err)
			}
			want := []byte(tt.in)
			if tt.want != nil {
				want, _ = tt.want([]byte(tt.in), "m")
			}
			if !bytes.Equal(out, want) {
				t.Errorf("got %s, want %s", out, want)
			}
		})
	}
}

type sent struct{ name, data string }

var geminiChunks = []sent{
	{"", `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r1"}`},
	{"", `{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4}}`},
}

func TestTranslateStream(t *testing.T) {
	chatChunks := []sent{
		{"", `{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}`},
		{"", `{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`},
		{"", `[DONE]`},
	}
	messagesEvents := []sent{
		{"message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":3,"output_tokens":1}}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}`},
		{"message_stop", `{"type":"message_stop"}`},
	}
	for _, tt := range []struct {
		name     string
		from, to Format
		in       []sent
		first    string // the first event's name
		last     string // the last event's data
	}{
		{"openai to anthropic", OpenAI, Anthropic, chatChunks, "message_start", `{"type":"message_stop"}`},
		{"anthropic to openai", Anthropic, OpenAI, messagesEvents, "", `[DONE]`},
		{"openai passes through", OpenAI, OpenAI, chatChunks, "", `[DONE]`},
		{"anthropic passes through", Anthropic, Anthropic, messagesEvents, "message_start", `{"type":"message_stop"}`},
		{"gemini passes through", Gemini, Gemini, geminiChunks, "", geminiChunks[1].data},
		{"gemini to openai", Gemini, OpenAI, geminiChunks, "", `[DONE]`},
		{"gemini to anthropic", Gemini, Anthropic, geminiChunks, "message_start", `{"type":"message_stop"}`},
		{"openai to gemini", OpenAI, Gemini, chatChunks, "", ""},
		{"anthropic to gemini", Anthropic, Gemini, messagesEvents, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := tt.from.TranslateStream(tt.to, "m", false)
			var out []sent
			emit := func(name string, data []byte) error {
				out = append(out, sent{name, string(data)})
				return nil
			}
			for _, ev := range tt.in {
				if err := ts.Event(ev.name, []byte(ev.data), emit); err != nil {
					t.Fatal(err)
				}
			}
			if len(out) == 0 || out[0].name != tt.first || (tt.last != "" && out[len(out)-1].data != tt.last) ||
				(tt.to == Gemini && !strings.Contains(out[len(out)-1].data, `"finishReason":"STOP"`)) {
				t.Fatalf("got %v", out)
			}
			if tt.from == tt.to && !reflect.DeepEqual(out, tt.in) {
				t.Errorf("pass-through changed the stream: %v", out)
			}
			if ts.Text() != "Hi" {
				t.Errorf("Text() = %q", ts.Text())
			}
		})
	}
}

func TestIsStreamError(t *testing.T) {
	for _, tt := range []struct {
		f          Format
		name, data string
		want       bool
	}{
		{Anthropic, "error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, true},
		{Anthropic, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"error\""}}`, false},
		{Anthropic, "", `{"error":{"message":"x","type":"server_error"}}`, false},
		{OpenAI, "", `{"error":{"message":"x","type":"server_error"}}`, true},
		{OpenAI, "", `{"id":"c","choices":[],"error":null}`, false},
		{OpenAI, "", `[DONE]`, false},
		{Gemini, "", `{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`, true},
		{Gemini, "", `{"candidates":[{"content":{"parts":[{"text":"\"error\""}]}}]}`, false},
	} {
		if got := tt.f.IsStreamError(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("%s.IsStreamError(%q, %s) = %v", tt.f.Name(), tt.name, tt.data, got)
		}
	}
}

func TestErrorBody(t *testing.T) {
	chatErr := `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	messagesErr := `{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached"}}`
	for _, tt := range []struct {
		client Format
		in     string
		want   []byte
	}{
		{OpenAI, messagesErr, translate.ErrorToChat(429, []byte(messagesErr))},
		{Anthropic, chatErr, translate.ErrorToMessages(429, []byte(chatErr))},
		{Gemini, chatErr, translate.ErrorToGemini(429, []byte(chatErr))},
		{Gemini, messagesErr, translate.ErrorToGemini(429, []byte(messagesErr))},
	} {
		got := tt.client.ErrorBody(429, []byte(tt.in))
		if !bytes.Equal(got, tt.want) || !strings.Contains(string(got), "Rate limit reached") {
			t.Errorf("%s: got %s, want %s", tt.client.Name(), got, tt.want)
		}
	}
}

// The terminal error events are what clients' SDKs raise; their bytes are
// pinned.
func TestStreamError(t *testing.T) {
	for _, tt := range []struct {
		client     Format
		name, data string
	}{
		{OpenAI, "", `{"error":{"code":"stream_interrupted","message":"cut \"short\"","type":"server_error"}}`},
		{Anthropic, "error", `{"error":{"message":"cut \"short\"","type":"api_error"},"type":"error"}`},
		{Gemini, "", `{"error":{"code":500,"message":"cut \"short\"","status":"INTERNAL"}}`},
	} {
		name, data := tt.client.StreamError(`cut "short"`)
		if name != tt.name || string(data) != tt.data {
			t.Errorf("%s: got %q %s", tt.client.Name(), name, data)
		}
		if !tt.client.IsStreamError(name, data) {
			t.Errorf("%s: its own stream error is not one", tt.client.Name())
		}
		if !json.Valid(data) {
			t.Errorf("%s: invalid JSON %s", tt.client.Name(), data)
		}
	}
}

func TestContinue(t *testing.T) {
	for _, tt := range []struct {
		client Format
		in     string
		want   func([]byte, string) ([]byte, error)
		has    string
	}{
		{OpenAI, chatRequest, translate.ContinueChat, `{"role":"assistant","content":"One, two,"}`},
		{Anthropic, messagesRequest, translate.ContinueMessages, `{"role":"assistant","content":"One, two,"}`},
		{Gemini, geminiRequest, translate.ContinueGemini, `{"role":"model","parts":[{"text":"One, two,"}]}`},
	} {
		got, err := tt.client.Continue([]byte(tt.in), "One, two,")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := tt.want([]byte(tt.in), "One, two,")
		if !bytes.Equal(got, want) || !strings.Contains(string(got), tt.has) {
			t.Errorf("%s: got %s, want %s", tt.client.Name(), got, want)
		}
		if _, err := tt.client.Continue([]byte(`{"model":"m"}`), "x"); err == nil {
			t.Errorf("%s: a request without messages continued", tt.client.Name())
		}
	}
}

// What the gateway asks a Format for every request or stream event
// allocates nothing.
func TestHotPathAllocations(t *testing.T) {
	chunk := []byte(`{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}`)
	delta := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`)
	n := testing.AllocsPerRun(100, func() {
		o, a := For(catalog.OpenAI), For(catalog.Anthropic)
		_, _, _ = o.Chat("m", true)
		_ = o.Wire()
		if o.IsStreamError("", chunk) || a.IsStreamError("content_block_delta", delta) {
			t.Fatal("a content event is an error")
		}
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}
