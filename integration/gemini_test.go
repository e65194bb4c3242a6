package integration

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// googleProvider points the built-in google provider (format gemini) at
// the fake provider.
func googleProvider(e *env) string {
	return "provider google {\n\t\t\tapi_key AIza-managed-google-0123456789\n\t\t\tbase_url " + e.fakeURL + "\n\t\t}"
}

const (
	geminiText = `{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}],"generationConfig":{"maxOutputTokens":64}}`
	geminiTool = `{"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]}],
		"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather in a city","parameters":{"type":"OBJECT","properties":{"location":{"type":"STRING"}},"required":["location"]}}]}]}`
	weatherTool = `[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}]`
)

// geminiAnswer is what a Gemini client reads of a JSON answer or a
// stream: the text, the function calls, the last finishReason and usage.
type geminiAnswer struct {
	text       string
	calls      []string // name + args
	finish     string
	prompt     int64
	candidates int64
	chunks     int
}

func (a *geminiAnswer) add(t *testing.T, b []byte) {
	var r struct {
		Candidates []struct {
			Content struct {
				Parts []struct {
					Text         string
					FunctionCall *struct {
						Name string
						Args json.RawMessage
					}
				}
			}
			FinishReason string
		}
		UsageMetadata *struct{ PromptTokenCount, CandidatesTokenCount int64 }
		Error         json.RawMessage
	}
	mustJSON(t, b, &r)
	if len(r.Error) > 0 {
		t.Fatalf("error chunk: %s", b)
	}
	a.chunks++
	for _, c := range r.Candidates {
		for _, p := range c.Content.Parts {
			a.text += p.Text
			if p.FunctionCall != nil {
				a.calls = append(a.calls, p.FunctionCall.Name+string(p.FunctionCall.Args))
			}
		}
		if c.FinishReason != "" {
			a.finish = c.FinishReason
		}
	}
	if u := r.UsageMetadata; u != nil {
		a.prompt, a.candidates = u.PromptTokenCount, u.CandidatesTokenCount
	}
}

// geminiCall makes a Gemini request and reads its answer (JSON or SSE).
func geminiCall(t *testing.T, e *env, model, method, query, body string, hdr map[string]string) (*http.Response, geminiAnswer) {
	t.Helper()
	path := "/v1beta/models/" + model + ":" + method
	if query != "" {
		path += "?" + query
	}
	resp := e.post(path, body, hdr)
	defer resp.Body.Close()
	var a geminiAnswer
	if resp.StatusCode != 200 {
		b := readAll(t, resp)
		t.Fatalf("%s %s: %d %s", model, method, resp.StatusCode, b)
	}
	if method == "generateContent" {
		a.add(t, readAll(t, resp))
		return resp, a
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			a.add(t, []byte(d))
		}
	}
	return resp, a
}

// TestGeminiClient: a Gemini client reaches an OpenAI, an Anthropic and a
// Gemini provider, JSON and streamed, with text and with a tool call; the
// key comes from x-goog-api-key or ?key= and never reaches a provider.
func TestGeminiClient(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: googleProvider(e)}))
	goog := map[string]string{"x-goog-api-key": e.token}
	for _, target := range []struct{ model, provider, path string }{
		{"openai:gpt-4o", "openai", "/v1/chat/completions"},
		{"anthropic:claude-haiku-4-5", "anthropic", "/v1/messages"},
		{"google:gemini-2.5-flash", "google", "/v1beta/models/gemini-2.5-flash:"},
	} {
		for _, method := range []string{"generateContent", "streamGenerateContent"} {
			query, hdr := "", goog
			if method == "streamGenerateContent" {
				query, hdr = "alt=sse&key="+e.token, nil // the key as Google's SDKs send it without a header
			}
			t.Run(target.provider+" "+method+" text", func(t *testing.T) {
				e.fake.Reset()
				resp, a := geminiCall(t, e, target.model, method, query, geminiText, hdr)
				if a.text != fakeprovider.DefaultReply || a.finish != "STOP" || a.prompt == 0 || a.candidates == 0 {
					t.Fatalf("answer %+v", a)
				}
				if method == "streamGenerateContent" && a.chunks < 3 {
					t.Fatalf("%d chunks: not streamed event by event", a.chunks)
				}
				if resp.Header.Get("AI-Gateway-Provider") != target.provider {
					t.Fatalf("provider %q", resp.Header.Get("AI-Gateway-Provider"))
				}
				reqs := e.fake.Requests()
				if len(reqs) != 1 || !strings.Contains(reqs[0].Path, target.path) {
					t.Fatalf("upstream %+v", reqs)
				}
				r := reqs[0]
				if target.provider == "google" {
					if r.Header.Get("X-Goog-Api-Key") != "AIza-managed-google-0123456789" || !strings.Contains(r.Path, method) {
						t.Fatalf("google got %s %v", r.Path, r.Header)
					}
					if method == "streamGenerateContent" && r.Query != "alt=sse" {
						t.Fatalf("google's query %q", r.Query)
					}
					if !strings.Contains(string(r.Body), `"maxOutputTokens":64`) || strings.Contains(string(r.Body), `"model"`) {
						t.Fatalf("gemini body %s", r.Body)
					}
				} else if r.Query != "" {
					t.Fatalf("query %q went to a %s provider", r.Query, target.provider)
				}
				for k, v := range r.Header {
					if strings.Contains(strings.Join(v, ","), e.token) {
						t.Fatalf("the access key reached the provider in %s", k)
					}
				}
				if strings.Contains(r.Query, e.token) || strings.Contains(string(r.Body), e.token) {
					t.Fatal("the access key reached the provider")
				}
			})
			t.Run(target.provider+" "+method+" tool call", func(t *testing.T) {
				_, a := geminiCall(t, e, target.model, method, query, geminiTool, hdr)
				if len(a.calls) != 1 || a.calls[0] != `get_weather{"location":"Paris"}` || a.finish != "STOP" {
					t.Fatalf("answer %+v", a)
				}
			})
		}
	}

	// a function call round trip through an OpenAI provider: the function
	// response goes back as a tool message answering the call
	e.fake.Reset()
	round := `{"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]},
		{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}]},
		{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}}]}],
		"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"location":{"type":"STRING"}}}}]}]}`
	_, a := geminiCall(t, e, "openai:gpt-4o", "generateContent", "", round, goog)
	if a.text != fakeprovider.DefaultReply {
		t.Fatalf("after the function response: %+v", a)
	}
	var chat struct {
		Messages []struct {
			Role       string
			ToolCallID string                `json:"tool_call_id"`
			ToolCalls  []struct{ ID string } `json:"tool_calls"`
		}
	}
	mustJSON(t, e.fake.Requests()[0].Body, &chat)
	if n := len(chat.Messages); n != 3 || chat.Messages[2].Role != "tool" || chat.Messages[1].ToolCalls[0].ID != chat.Messages[2].ToolCallID {
		t.Fatalf("translated history %s", e.fake.Requests()[0].Body)
	}

	// countTokens: a Gemini provider counts; for another, the gateway does
	for _, model := range []string{"google:gemini-2.5-flash", "openai:gpt-4o"} {
		resp := e.post("/v1beta/models/"+model+":countTokens", geminiText, goog)
		b := readAll(t, resp)
		var v struct{ TotalTokens int64 }
		mustJSON(t, b, &v)
		if resp.StatusCode != 200 || v.TotalTokens < 1 {
			t.Fatalf("countTokens %s: %d %s", model, resp.StatusCode, b)
		}
	}

	// models, in Gemini's shape
	req, _ := http.NewRequest("GET", "http://"+e.httpAddr+"/v1beta/models", nil)
	req.Header.Set("x-goog-api-key", e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"models/google:gemini-2.5-flash"`) || !strings.Contains(string(b), `"supportedGenerationMethods":["generateContent","countTokens"]`) {
		t.Fatalf("models: %d %s", resp.StatusCode, b)
	}
	req, _ = http.NewRequest("GET", "http://"+e.httpAddr+"/v1beta/models/gemini-2.5-flash?key="+e.token, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"models/google:gemini-2.5-flash"`) {
		t.Fatalf("model: %d %s", resp.StatusCode, b)
	}
}

// TestGeminiProvider: OpenAI chat and Anthropic clients reach the Gemini
// provider, JSON and streamed, with text and with a tool call.
func TestGeminiProvider(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: googleProvider(e)}))
	for _, stream := range []bool{false, true} {
		s := map[bool]string{false: "false", true: "true"}[stream]
		for _, tool := range []bool{false, true} {
			name := map[bool]string{false: "text", true: "tool"}[tool]
			t.Run("chat stream="+s+" "+name, func(t *testing.T) {
				e.fake.Reset()
				body := `{"model":"gemini-2.5-flash","stream":` + s + `,"messages":[{"role":"user","content":"Say hello"}]`
				if tool {
					body += `,"tools":` + weatherTool
				}
				resp := e.post("/v1/chat/completions", body+"}", e.bearer())
				b := readAll(t, resp)
				if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Provider") != "google" {
					t.Fatalf("%d %s", resp.StatusCode, b)
				}
				text, args := chatAnswer(t, b, stream)
				if tool && args != `{"location":"Paris"}` || !tool && text != fakeprovider.DefaultReply {
					t.Fatalf("text %q args %q in %s", text, args, b)
				}
				r := e.fake.Requests()[0]
				if !strings.HasSuffix(r.Path, "/v1beta/models/gemini-2.5-flash:"+map[bool]string{false: "generateContent", true: "streamGenerateContent"}[stream]) ||
					r.Header.Get("Authorization") != "" || r.Header.Get("X-Goog-Api-Key") != "AIza-managed-google-0123456789" {
					t.Fatalf("upstream %s %v", r.Path, r.Header)
				}
			})
			t.Run("messages stream="+s+" "+name, func(t *testing.T) {
				body := `{"model":"google:gemini-2.5-flash","max_tokens":100,"stream":` + s + `,"messages":[{"role":"user","content":"Say hello"}]`
				if tool {
					body += `,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}]`
				}
				resp := e.post("/v1/messages", body+"}", e.anthropicHdr())
				b := readAll(t, resp)
				if resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, b)
				}
				if tool && !strings.Contains(string(b), `"tool_use"`) || !tool && !strings.Contains(string(b), "streamed") {
					t.Fatalf("answer %s", b)
				}
				if stream && !strings.Contains(string(b), "event: message_stop") {
					t.Fatalf("stream without message_stop: %s", b)
				}
			})
		}
	}
	// the usage of a Gemini answer is read (not estimated)
	resp := e.post("/v1/chat/completions", `{"model":"google:gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"Say hello"}]}`, e.bearer())
	readAll(t, resp)
	ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
	if ev.UsageEstimated || ev.OutputTokens != 10 || ev.InputTokens == 0 || ev.ProviderID != "google" || ev.StopReason != "STOP" {
		t.Fatalf("usage event %+v", ev)
	}
}

// chatAnswer reads a chat completion, or the text and tool arguments of
// a chat stream.
func chatAnswer(t *testing.T, b []byte, stream bool) (text, args string) {
	t.Helper()
	if !stream {
		var c struct {
			Choices []struct {
				Message struct {
					Content   string
					ToolCalls []struct{ Function struct{ Arguments string } } `json:"tool_calls"`
				}
			}
		}
		mustJSON(t, b, &c)
		m := c.Choices[0].Message
		for _, tc := range m.ToolCalls {
			args += tc.Function.Arguments
		}
		return m.Content, args
	}
	for _, line := range strings.Split(string(b), "\n") {
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok || d == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content   string
					ToolCalls []struct{ Function struct{ Arguments string } } `json:"tool_calls"`
				}
			}
		}
		mustJSON(t, []byte(d), &c)
		for _, ch := range c.Choices {
			text += ch.Delta.Content
			for _, tc := range ch.Delta.ToolCalls {
				args += tc.Function.Arguments
			}
		}
	}
	return text, args
}

// TestGeminiErrors: every refusal on a Gemini route is in Gemini's shape
// with its status: the gateway's (400, 401, 402, 404, 422) and a
// provider's, translated.
func TestGeminiErrors(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, googleProvider(e)))
	acct, token := e.meteredAccount("gemini-errors", "")
	goog := map[string]string{"x-goog-api-key": token}
	for _, tc := range []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		rpc, reason      string
	}{
		{"no key", "/v1beta/models/gemini-2.5-flash:generateContent", geminiText, nil, 401, "UNAUTHENTICATED", "invalid_access_key"},
		{"bad key in the query", "/v1beta/models/gemini-2.5-flash:generateContent?key=cag_nope", geminiText, nil, 401, "UNAUTHENTICATED", "invalid_access_key"},
		{"two different keys", "/v1beta/models/gemini-2.5-flash:generateContent?key=cag_nope", geminiText, goog, 401, "UNAUTHENTICATED", "invalid_access_key"},
		{"no credits", "/v1beta/models/gemini-2.5-flash:generateContent", geminiText, goog, 402, "FAILED_PRECONDITION", "insufficient_credits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGeminiError(t, e.post(tc.path, tc.body, tc.hdr), tc.status, tc.rpc, tc.reason)
		})
	}
	e.buy(acct, "10")
	for _, tc := range []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		rpc, reason      string
	}{
		{"bad body", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":{}}`, goog, 400, "INVALID_ARGUMENT", "invalid_request"},
		{"not JSON", "/v1beta/models/gemini-2.5-flash:generateContent", `{`, goog, 400, "INVALID_ARGUMENT", "invalid_request"},
		{"unknown model", "/v1beta/models/no-such-model:generateContent", geminiText, goog, 422, "INVALID_ARGUMENT", "no_matching_models"},
		{"several candidates on a translated target", "/v1beta/models/openai:gpt-4o:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"candidateCount":2}}`, goog, 400, "INVALID_ARGUMENT", "invalid_request"},
		{"GET on a method", "/v1beta/models/gemini-2.5-flash:generateContent", "", goog, 405, "INVALID_ARGUMENT", "method_not_allowed"},
		{"unknown method", "/v1beta/models/gemini-2.5-flash:embedContent", geminiText, goog, 404, "NOT_FOUND", "not_found"},
		{"unknown model in the list", "/v1beta/models/no-such-model", "", goog, 404, "NOT_FOUND", "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			if tc.body == "" {
				req, _ := http.NewRequest("GET", "http://"+e.httpAddr+tc.path, nil)
				req.Header.Set("x-goog-api-key", token)
				var err error
				if resp, err = http.DefaultClient.Do(req); err != nil {
					t.Fatal(err)
				}
			} else {
				resp = e.post(tc.path, tc.body, tc.hdr)
			}
			checkGeminiError(t, resp, tc.status, tc.rpc, tc.reason)
		})
	}
	// a provider's 404 reaches the Gemini client in Gemini's shape, with
	// the provider's message
	hdr := map[string]string{"x-goog-api-key": token, "X-Fake-Status": "404"}
	for _, model := range []string{"openai:gpt-4o", "anthropic:claude-haiku-4-5", "google:gemini-2.5-flash"} {
		resp := e.post("/v1beta/models/"+model+":generateContent", geminiText, hdr)
		b := checkGeminiError(t, resp, 404, "NOT_FOUND", "")
		if !strings.Contains(string(b), "model") {
			t.Fatalf("%s: %s", model, b)
		}
	}
	// a Gemini provider that refuses the key (Google answers 400
	// API_KEY_INVALID) is a provider auth failure, not the client's 400
	resp := e.post("/v1/chat/completions", `{"model":"google:gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + token, "X-Fake-Status": "401"})
	if b := readAll(t, resp); resp.StatusCode != 502 || !strings.Contains(string(b), "provider_auth_failed") {
		t.Fatalf("refused google key: %d %s", resp.StatusCode, b)
	}
}

func checkGeminiError(t *testing.T, resp *http.Response, status int, rpc, reason string) []byte {
	t.Helper()
	b := readAll(t, resp)
	var v struct {
		Error struct {
			Code    int
			Message string
			Status  string
			Details []struct{ Reason string }
		}
	}
	mustJSON(t, b, &v)
	if resp.StatusCode != status || v.Error.Code != status || v.Error.Status != rpc || v.Error.Message == "" ||
		(reason != "" && (len(v.Error.Details) == 0 || v.Error.Details[0].Reason != reason)) {
		t.Fatalf("%d %s, want %d %s %s", resp.StatusCode, b, status, rpc, reason)
	}
	return b
}

// TestGeminiCredits: Gemini traffic is charged from the usage the
// provider reported, on every provider format.
func TestGeminiCredits(t *testing.T) {
	e := start(t, cfgOpts{})
	e.load(creditsConfig(e, googleProvider(e)+`
		provider gmetered {
			format gemini
			base_url `+e.fakeURL+`
			api_key gmetered-key-0123456789
			model gtenner {
				input_price 0
				output_price 1
				max_output_tokens 10
			}
		}`))
	acct, token := e.meteredAccount("gemini-credits", "1")
	goog := map[string]string{"x-goog-api-key": token}
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":10}}`
	var ids []string
	for _, c := range []struct{ model, method string }{
		{"gmetered:gtenner", "generateContent"}, {"gmetered:gtenner", "streamGenerateContent"},
		{"metered:tenner", "generateContent"}, {"metered:tenner", "streamGenerateContent"},
	} {
		query := ""
		if c.method == "streamGenerateContent" {
			query = "alt=sse"
		}
		resp, a := geminiCall(t, e, c.model, c.method, query, body, goog)
		if a.candidates != 10 {
			t.Fatalf("%s %s: %+v", c.model, c.method, a)
		}
		if got := resp.Header.Get("AI-Gateway-Cost-USD"); c.method == "generateContent" && got != "0.00001" {
			t.Fatalf("%s: cost header %q", c.model, got)
		}
		ids = append(ids, resp.Header.Get("AI-Gateway-Request-Id"))
	}
	for _, id := range ids {
		ev := e.usageFor(id, 1)[0]
		if ev.UsageEstimated || ev.OutputTokens != 10 || ev.Cost != 10_000 || ev.Endpoint != "gemini.generate_content" {
			t.Fatalf("usage event %+v", ev)
		}
	}
	if bal, held, _ := e.balance(acct); bal != "0.99996" || held != "0.00" {
		t.Fatalf("balance %s held %s", bal, held)
	}
	verifyLedger(t)
}

// TestGeminiKeyNotLogged: with the documented access log (its query
// filter), a key sent as ?key= is in no log line, nor in what the
// provider received.
func TestGeminiKeyNotLogged(t *testing.T) {
	e := start(t, cfgOpts{})
	dir := t.TempDir()
	access, debug := filepath.Join(dir, "access.log"), filepath.Join(dir, "debug.log")
	cf := e.caddyfile(cfgOpts{extraAI: googleProvider(e), site: strings.Replace(accessLogRedaction, "%s", access, 1) + "\n\tai_auth\n\tai_gateway"})
	cf = strings.Replace(cf, "log default {\n\t\toutput discard\n\t}", "log default {\n\t\toutput file "+debug+"\n\t\tlevel DEBUG\n\t}", 1)
	e.load(cf)
	bogus := "cag_thisIsNotAValidKeyButStillASecret0123456789"
	for _, key := range []string{e.token, bogus} {
		for _, model := range []string{"google:gemini-2.5-flash", "openai:gpt-4o"} {
			readAll(t, e.post("/v1beta/models/"+model+":streamGenerateContent?alt=sse&key="+key, geminiText, nil))
			readAll(t, e.post("/v1beta/models/"+model+":generateContent?key="+key, geminiText, nil))
			readAll(t, e.post("/v1beta/models/"+model+":generateContent", geminiText, map[string]string{"x-goog-api-key": key}))
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, f := range []string{access, debug} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("%s is empty: the test would prove nothing", f)
		}
		for _, secret := range []string{e.token, bogus, "AIza-managed-google-0123456789", e.token[4:16]} {
			if i := strings.Index(string(b), secret); i >= 0 {
				t.Fatalf("%s contains a secret: …%s…", filepath.Base(f), string(b)[max(0, i-200):min(len(b), i+80)])
			}
		}
		if f == access && !strings.Contains(string(b), "key=REDACTED") {
			t.Fatalf("the access log shows no redacted key param: the filter did not run")
		}
	}
	for _, r := range e.fake.Requests() {
		if strings.Contains(r.Query, "key") || strings.Contains(r.Header.Get("X-Goog-Api-Key"), "cag_") {
			t.Fatalf("the client's key reached the provider: %s?%s %v", r.Path, r.Query, r.Header)
		}
	}
}
