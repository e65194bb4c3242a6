package provider

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

const responsesRequest = `{"model":"gpt-5-pro","instructions":"Be brief.","input":"Hi","max_output_tokens":100,"stream":true}`

func TestResponsesFormat(t *testing.T) {
	if f := For(catalog.Responses); f != Responses || f.Wire() != translate.Responses || catalog.Responses.Valid() {
		t.Fatalf("For(responses) = %v; a provider may not be of format responses: %v", f, catalog.Responses.Valid())
	}
	if path, query, kind := Responses.Chat("gpt-5-pro", true); path != "/responses" || query != "" || kind != usage.Responses {
		t.Errorf("Chat = %s %s %v", path, query, kind)
	}
	h := http.Header{"Anthropic-Version": {"2023-06-01"}}
	Responses.Authenticate(h, "sk-x", true)
	if h.Get("Authorization") != "Bearer sk-x" || h.Get("Anthropic-Version") != "" {
		t.Errorf("headers %v", h)
	}
}

// Every format takes a Responses request, and Responses takes every
// format's; all answer in Responses' shape and back.
func TestResponsesTranslations(t *testing.T) {
	for _, tt := range []struct {
		from, to Format
		body     string
		want     string // a member of the translated request
	}{
		{Responses, OpenAI, responsesRequest, `"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]`},
		{Responses, Anthropic, responsesRequest, `"system":"Be brief."`},
		{Responses, Gemini, responsesRequest, `"systemInstruction":{"parts":[{"text":"Be brief."}]}`},
		{OpenAI, Responses, chatRequest, `"input":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]`},
		{Anthropic, Responses, messagesRequest, `"max_output_tokens":100`},
		{Gemini, Responses, geminiRequest, `"max_output_tokens":50`},
	} {
		out, _, err := tt.to.TranslateRequest(tt.from, []byte(tt.body), translate.Options{Model: "m"})
		if err != nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("%s → %s: %v\n%s\nwant %s", tt.from.Name(), tt.to.Name(), err, out, tt.want)
		}
	}
	_, _, err := Anthropic.TranslateRequest(Responses, []byte(`{"input":"x","previous_response_id":"resp_1"}`), translate.Options{})
	if !errors.As(err, new(*translate.StateError)) {
		t.Errorf("previous_response_id to Anthropic: %v", err)
	}

	chat := `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
	messages := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`
	for _, tt := range []struct {
		from Format
		body string
	}{{OpenAI, chat}, {Anthropic, messages}, {Gemini, geminiResponse}} {
		out, err := tt.from.TranslateResponse(Responses, []byte(tt.body), "m")
		if err != nil || !strings.Contains(string(out), `"object":"response"`) || !strings.Contains(string(out), `"text":"Hello"`) {
			t.Fatalf("%s → responses: %v %s", tt.from.Name(), err, out)
		}
		for _, to := range []Format{OpenAI, Anthropic, Gemini} {
			back, err := Responses.TranslateResponse(to, out, "m")
			if err != nil || !strings.Contains(string(back), "Hello") {
				t.Errorf("responses → %s: %v %s", to.Name(), err, back)
			}
		}
	}
}

func TestResponsesStreamAndErrors(t *testing.T) {
	var names []string
	ts := OpenAI.TranslateStream(Responses, "m", false)
	emit := func(name string, data []byte) error { names = append(names, name); return nil }
	for _, d := range []string{
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`[DONE]`,
	} {
		if err := ts.Event("", []byte(d), emit); err != nil {
			t.Fatal(err)
		}
	}
	if names[0] != "response.created" || names[len(names)-1] != "response.completed" {
		t.Errorf("events %v", names)
	}
	if !Responses.IsStreamError("response.failed", []byte(`{"type":"response.failed"}`)) || Responses.IsStreamError("response.completed", []byte(`{}`)) {
		t.Error("IsStreamError")
	}
	name, data := Responses.StreamError("the provider stopped answering")
	var ev struct {
		Type, Message string
		Error         struct{ Message string }
	}
	if err := json.Unmarshal(data, &ev); err != nil || name != "error" || ev.Type != "error" || ev.Error.Message != "the provider stopped answering" {
		t.Errorf("StreamError %s %s", name, data)
	}
	if b := Responses.ErrorBody(529, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)); !strings.Contains(string(b), `"message":"Overloaded"`) {
		t.Errorf("ErrorBody %s", b)
	}
	if out, err := Responses.Continue([]byte(`{"input":"Count"}`), "1, 2"); err != nil || !strings.Contains(string(out), `{"role":"assistant","content":"1, 2"}`) {
		t.Errorf("Continue %s %v", out, err)
	}
}
