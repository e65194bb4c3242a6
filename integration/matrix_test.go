package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

// The translation matrix (issue 13, item 4): every client format the
// gateway serves × every upstream format it speaks, JSON and streamed,
// plain text and a tool call, with raw HTTP. Each answer is read back in
// the client's format by a strict reader (streamcheck) and compared with
// what the fake provider answered; the provider header, the upstream
// request and the recorded usage event are checked too.

// mxIngress is a client wire format.
type mxIngress string

const (
	mxChat      mxIngress = "chat"
	mxResponses mxIngress = "responses"
	mxMessages  mxIngress = "messages"
	mxGemini    mxIngress = "gemini"
)

var mxIngresses = []mxIngress{mxChat, mxResponses, mxMessages, mxGemini}

// mxUpstream is an upstream format, reached through one provider and model.
type mxUpstream struct {
	name     string // column of the summary
	model    string // as the client names it
	provider string // AI-Gateway-Provider
	// path is the upstream path the fake must see for a client format.
	path func(in mxIngress, stream bool) string
}

var mxUpstreams = []mxUpstream{
	{"openai-chat-only", "deepseek:deepseek-chat", "deepseek", func(mxIngress, bool) string { return "/v1/chat/completions" }},
	{"openai", "openai:gpt-4o", "openai", func(in mxIngress, _ bool) string {
		if in == mxResponses {
			return "/v1/responses" // passed through
		}
		return "/v1/chat/completions"
	}},
	{"responses-only", "openai:gpt-5-pro", "openai", func(mxIngress, bool) string { return "/v1/responses" }},
	{"anthropic", "anthropic:claude-haiku-4-5", "anthropic", func(mxIngress, bool) string { return "/v1/messages" }},
	{"gemini", "google:gemini-2.5-flash", "google", func(_ mxIngress, stream bool) string {
		if stream {
			return "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
		}
		return "/v1beta/models/gemini-2.5-flash:generateContent"
	}},
}

// ---- requests ----

const mxWeatherSchema = `{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}`

// mxRequest builds a request in the client's format.
func mxRequest(e *env, in mxIngress, model string, stream, tool bool) (path, body string, hdr map[string]string) {
	prompt := "Say hello"
	if tool {
		prompt = "Weather in Paris?"
	}
	switch in {
	case mxChat:
		body = `{"model":"` + model + `","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + prompt + `"}],"max_tokens":256`
		if stream {
			body += `,"stream":true,"stream_options":{"include_usage":true}`
		}
		if tool {
			body += `,"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":` + mxWeatherSchema + `}}]`
		}
		return "/v1/chat/completions", body + "}", e.bearer()
	case mxResponses:
		body = `{"model":"` + model + `","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"` + prompt + `"}]}],"max_output_tokens":256`
		if stream {
			body += `,"stream":true`
		}
		if tool {
			body += `,"tools":[{"type":"function","name":"get_weather","description":"Weather in a city","parameters":` + mxWeatherSchema + `}]`
		}
		return "/v1/responses", body + "}", e.bearer()
	case mxMessages:
		body = `{"model":"` + model + `","system":"Be brief.","max_tokens":256,"messages":[{"role":"user","content":"` + prompt + `"}]`
		if stream {
			body += `,"stream":true`
		}
		if tool {
			body += `,"tools":[{"name":"get_weather","description":"Weather in a city","input_schema":` + mxWeatherSchema + `}]`
		}
		return "/v1/messages", body + "}", e.anthropicHdr()
	default:
		body = `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"` + prompt + `"}]}],"generationConfig":{"maxOutputTokens":256}`
		if tool {
			body += `,"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather in a city","parameters":{"type":"OBJECT","properties":{"location":{"type":"STRING"}},"required":["location"]}}]}]`
		}
		path = "/v1beta/models/" + model + ":generateContent"
		if stream {
			path = "/v1beta/models/" + model + ":streamGenerateContent?alt=sse"
		}
		return path, body + "}", map[string]string{"x-goog-api-key": e.token}
	}
}

// mxWantFinish is how each client format says "done" after text and after
// a tool call.
func mxWantFinish(in mxIngress, tool bool) string {
	switch in {
	case mxChat:
		return map[bool]string{false: "stop", true: "tool_calls"}[tool]
	case mxMessages:
		return map[bool]string{false: "end_turn", true: "tool_use"}[tool]
	case mxResponses:
		return "completed"
	default:
		return "STOP"
	}
}

// mxRead reads the answer in the client's format. Chat streams are asked
// for usage (stream_options.include_usage).
func mxRead(t *testing.T, in mxIngress, stream bool, resp *http.Response) (streamcheck.Answer, error) {
	t.Helper()
	if !stream {
		b := readAll(t, resp)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return streamcheck.Answer{}, fmt.Errorf("Content-Type %q: %s", ct, b)
		}
		var a streamcheck.Answer
		var err error
		switch in {
		case mxChat:
			a, err = streamcheck.ReadChatJSON(b)
		case mxResponses:
			a, err = streamcheck.ReadResponsesJSON(b)
		case mxMessages:
			a, err = streamcheck.ReadMessagesJSON(b)
		default:
			a, err = streamcheck.ReadGeminiJSON(b)
		}
		if err != nil {
			err = fmt.Errorf("%v\n%s", err, b)
		}
		return a, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream Content-Type %q", ct)
	}
	evs, err := streamcheck.ReadSSE(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var a streamcheck.Answer
	switch in {
	case mxChat:
		a, err = streamcheck.ReadChatStream(evs, true)
	case mxResponses:
		a, err = streamcheck.ReadResponsesStream(evs)
	case mxMessages:
		a, err = streamcheck.ReadMessagesStream(evs)
	default:
		a, err = streamcheck.ReadGeminiStream(evs)
	}
	if err != nil {
		err = fmt.Errorf("%v\n%s", err, streamcheck.Dump(evs))
	}
	return a, err
}

// TestMatrix runs every cell of the translation matrix against one gateway.
func TestMatrix(t *testing.T) {
	began := time.Now()
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: responsesExtra(e.fakeURL)}))

	type key struct {
		in mxIngress
		up string
	}
	passed, total := map[key]int{}, map[key]int{}
	skipped := 0
	for _, in := range mxIngresses {
		for _, up := range mxUpstreams {
			for _, stream := range []bool{false, true} {
				for _, tool := range []bool{false, true} {
					mode, kind := "json", "text"
					if stream {
						mode = "stream"
					}
					if tool {
						kind = "tool"
					}
					total[key{in, up.name}]++
					wasSkipped := false
					ok := t.Run(fmt.Sprintf("%s/%s/%s/%s", in, up.name, mode, kind), func(t *testing.T) {
						defer func() { wasSkipped = t.Skipped() }()
						mxCell(t, e, in, up, stream, tool)
					})
					if wasSkipped {
						skipped++
					} else if ok {
						passed[key{in, up.name}]++
					}
				}
			}
		}
	}

	// the summary: passed/cells per client format × upstream format
	var sb strings.Builder
	fmt.Fprintf(&sb, "translation matrix (passed/cells; each cell: json+stream × text+tool call)\n%-10s", "client")
	for _, up := range mxUpstreams {
		fmt.Fprintf(&sb, " %17s", up.name)
	}
	sb.WriteString("\n")
	all, allPassed := 0, 0
	for _, in := range mxIngresses {
		fmt.Fprintf(&sb, "%-10s", in)
		for _, up := range mxUpstreams {
			k := key{in, up.name}
			fmt.Fprintf(&sb, " %17s", fmt.Sprintf("%d/%d", passed[k], total[k]))
			all += total[k]
			allPassed += passed[k]
		}
		sb.WriteString("\n")
	}
	// No cell is impossible by design: state (previous_response_id, store,
	// background, conversation) is no part of the matrix — its refusal by
	// stateless providers is TestResponsesState. A cell that skips would be
	// counted here.
	fmt.Fprintf(&sb, "%d/%d cells passed, %d skipped as impossible by design, in %s", allPassed, all, skipped, time.Since(began).Round(time.Millisecond))
	t.Log("\n" + sb.String())
}

// mxCell sends one request and checks everything about its answer.
func mxCell(t *testing.T, e *env, in mxIngress, up mxUpstream, stream, tool bool) {
	e.fake.Reset()
	path, body, hdr := mxRequest(e, in, up.model, stream, tool)
	resp := e.post(path, body, hdr)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, readAll(t, resp))
	}
	a, err := mxRead(t, in, stream, resp)
	if err != nil {
		t.Fatalf("malformed %s answer: %v", in, err)
	}
	if a.Error != "" || a.Thinking != "" {
		t.Fatalf("an error (%q) or reasoning (%q) in an answer to a plain request", a.Error, a.Thinking)
	}
	if tool {
		if a.Text != "" || len(a.Calls) != 1 || a.Calls[0].Name != "get_weather" {
			t.Fatalf("want one get_weather call and no text, got %+v", a)
		}
		var args map[string]any
		if err := json.Unmarshal([]byte(a.Calls[0].Args), &args); err != nil || args["location"] != "Paris" {
			t.Fatalf("arguments %q: %v", a.Calls[0].Args, err)
		}
		if in != mxGemini && a.Calls[0].ID == "" {
			t.Fatalf("a tool call without an id: %+v", a)
		}
	} else if a.Text != fakeprovider.DefaultReply || len(a.Calls) != 0 {
		t.Fatalf("text %q (calls %v), the provider answered %q", a.Text, a.Calls, fakeprovider.DefaultReply)
	}
	if want := mxWantFinish(in, tool); a.Stop != want {
		t.Errorf("finish %q, want %q", a.Stop, want)
	}
	if a.Input <= 0 || a.Output <= 0 {
		t.Errorf("the client's usage: %d input, %d output tokens", a.Input, a.Output)
	}
	if got := resp.Header.Get("AI-Gateway-Provider"); got != up.provider {
		t.Errorf("AI-Gateway-Provider %q, want %q", got, up.provider)
	}
	if got := resp.Header.Get("AI-Gateway-Removed-Params"); got != "" {
		t.Errorf("AI-Gateway-Removed-Params %q for a request every format carries", got)
	}

	// the upstream request went where the format says, in its format
	reqs := e.fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != up.path(in, stream) {
		paths := make([]string, len(reqs))
		for i, r := range reqs {
			paths[i] = r.Path
		}
		t.Fatalf("upstream requests %v, want one to %s", paths, up.path(in, stream))
	}
	r := reqs[0]
	if up.provider == "google" && stream && r.Query != "alt=sse" {
		t.Errorf("gemini stream query %q", r.Query)
	}
	if err := mxUpstreamShape(r.Path, r.Body, stream, tool); err != nil {
		t.Errorf("upstream request to %s: %v: %s", r.Path, err, r.Body)
	}
	if !strings.Contains(string(r.Body), "Be brief.") {
		t.Errorf("the system prompt did not reach the provider: %s", r.Body)
	}

	// usage recorded from the provider's own report (every fake format reports it)
	ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if ev.ProviderID != up.provider || ev.Status != 200 || ev.Streaming != stream || ev.InputTokens <= 0 || ev.OutputTokens <= 0 || ev.UsageEstimated {
		t.Errorf("usage event %+v", ev)
	}
	if ev.OutputTokens != a.Output {
		t.Errorf("usage event has %d output tokens, the client was told %d", ev.OutputTokens, a.Output)
	}
}

// mxUpstreamShape checks the upstream request is in the upstream's own
// format: streamed when the client streams, the tool defined as that
// format defines tools.
func mxUpstreamShape(path string, body []byte, stream, tool bool) error {
	var b struct {
		Stream bool `json:"stream"`
		Tools  []struct {
			Type     string `json:"type"`
			Name     string `json:"name"`
			Function *struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
			InputSchema          json.RawMessage `json:"input_schema"`
			Parameters           json.RawMessage `json:"parameters"`
			FunctionDeclarations []struct {
				Name string `json:"name"`
			} `json:"functionDeclarations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return err
	}
	gemini := strings.HasPrefix(path, "/v1beta/")
	if !gemini && b.Stream != stream {
		return fmt.Errorf("stream %v", b.Stream)
	}
	if gemini && b.Stream {
		return fmt.Errorf("a stream field in a Gemini body")
	}
	if !tool {
		if len(b.Tools) != 0 {
			return fmt.Errorf("tools in a request without")
		}
		return nil
	}
	if len(b.Tools) != 1 {
		return fmt.Errorf("%d tools", len(b.Tools))
	}
	tl := b.Tools[0]
	var ok bool
	switch {
	case gemini:
		ok = len(tl.FunctionDeclarations) == 1 && tl.FunctionDeclarations[0].Name == "get_weather"
	case path == "/v1/chat/completions":
		ok = tl.Type == "function" && tl.Function != nil && tl.Function.Name == "get_weather" && len(tl.Function.Parameters) > 0
	case path == "/v1/responses":
		ok = tl.Type == "function" && tl.Function == nil && tl.Name == "get_weather" && len(tl.Parameters) > 0
	case path == "/v1/messages":
		ok = tl.Name == "get_weather" && len(tl.InputSchema) > 0 && tl.Function == nil
	}
	if !ok {
		return fmt.Errorf("the tool is not defined in this format")
	}
	return nil
}

// TestMatrixRemovedParams: what a target cannot take is dropped and named
// in AI-Gateway-Removed-Params, for representative client × upstream pairs;
// the same parameter between the same formats passes through.
func TestMatrixRemovedParams(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: responsesExtra(e.fakeURL)}))
	goog := map[string]string{"x-goog-api-key": e.token}
	safety := `"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]`
	for _, tt := range []struct {
		name, path, body string
		hdr              map[string]string
		removed          []string // each must be named
		absent           []string // and absent from the upstream body
		kept             []string // present in the upstream body
	}{
		{"gemini safetySettings → openai", "/v1beta/models/openai:gpt-4o:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],` + safety + `}`, goog,
			[]string{"safetySettings"}, []string{"safetySettings", "HARM_CATEGORY"}, nil},
		{"gemini safetySettings, topK → anthropic", "/v1beta/models/anthropic:claude-haiku-4-5:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],` + safety + `,"generationConfig":{"topK":40}}`, goog,
			[]string{"safetySettings", "generationConfig.topK"}, []string{"HARM_CATEGORY", "top_k", "topK"}, nil},
		{"gemini googleSearch tool → chat-only", "/v1beta/models/deepseek:deepseek-chat:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"googleSearch":{}}]}`, goog,
			[]string{"tools.googleSearch"}, []string{"googleSearch", "google_search"}, nil},
		{"gemini safetySettings → gemini (passed through)", "/v1beta/models/google:gemini-2.5-flash:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],` + safety + `}`, goog,
			nil, nil, []string{"HARM_CATEGORY_HARASSMENT"}},
		{"responses web_search → anthropic", "/v1/responses",
			`{"model":"anthropic:claude-haiku-4-5","input":"hi","tools":[{"type":"web_search"}]}`, e.bearer(),
			[]string{"tools.web_search"}, []string{"web_search"}, nil},
		{"responses web_search, include → gemini", "/v1/responses",
			`{"model":"google:gemini-2.5-flash","input":"hi","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"]}`, e.bearer(),
			[]string{"tools.web_search", "include"}, []string{"web_search", "encrypted_content"}, nil},
		{"responses web_search → openai (passed through)", "/v1/responses",
			`{"model":"openai:gpt-4o","input":"hi","tools":[{"type":"web_search"}]}`, e.bearer(),
			nil, nil, []string{`"web_search"`}},
		{"anthropic top_k → openai", "/v1/messages",
			`{"model":"openai:gpt-4o","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`, e.anthropicHdr(),
			[]string{"top_k"}, []string{"top_k"}, nil},
		{"anthropic top_k → responses-only", "/v1/messages",
			`{"model":"openai:gpt-5-pro","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`, e.anthropicHdr(),
			[]string{"top_k"}, []string{"top_k"}, nil},
		// Gemini has topK, but a messages request reaches Gemini through chat,
		// which has none: dropped, and said so
		{"anthropic top_k → gemini", "/v1/messages",
			`{"model":"google:gemini-2.5-flash","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`, e.anthropicHdr(),
			[]string{"top_k"}, []string{"top_k", "topK"}, nil},
		{"chat logit_bias → anthropic", "/v1/chat/completions",
			`{"model":"anthropic:claude-haiku-4-5","logit_bias":{"50256":-100},"messages":[{"role":"user","content":"hi"}]}`, e.bearer(),
			[]string{"logit_bias"}, []string{"logit_bias", "50256"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.Reset()
			resp := e.post(tt.path, tt.body, tt.hdr)
			b := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			got := resp.Header.Get("AI-Gateway-Removed-Params")
			t.Logf("AI-Gateway-Removed-Params: %q", got)
			names := map[string]bool{}
			for _, n := range strings.Split(got, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names[n] = true
				}
			}
			for _, want := range tt.removed {
				if !names[want] {
					t.Errorf("AI-Gateway-Removed-Params %q does not name %s", got, want)
				}
			}
			if tt.removed == nil && got != "" {
				t.Errorf("AI-Gateway-Removed-Params %q, want nothing removed", got)
			}
			reqs := e.fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d upstream requests", len(reqs))
			}
			for _, s := range tt.absent {
				if strings.Contains(string(reqs[0].Body), s) {
					t.Errorf("%s reached the provider: %s", s, reqs[0].Body)
				}
			}
			for _, s := range tt.kept {
				if !strings.Contains(string(reqs[0].Body), s) {
					t.Errorf("%s did not reach the provider: %s", s, reqs[0].Body)
				}
			}
		})
	}
}
