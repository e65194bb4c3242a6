package caddyaigateway

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
)

// fuzzMaxBody is the max_request_body of FuzzReadRequest: small, so the
// fuzzer reaches the limit too.
const fuzzMaxBody = 4 << 10

// FuzzReadRequest feeds arbitrary bodies to every endpoint's request
// reader: it never panics; it either refuses with a 4xx error carrying a
// code, or accepts a body within the limit whose output limit (when it set
// one) is at least 1 and whose upstream bodies are JSON objects without
// the gateway's own `models` member.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o","models":["claude-haiku-4-5"],"stream":true,"max_tokens":10,"messages":[]}`,
		`{"model":"auto","stream":true,"stream_options":{"include_usage":false},"max_completion_tokens":5,"max_tokens":5,"messages":[]}`,
		`{"model":"gpt-4o-mini","max_output_tokens":16,"input":"hi"}`,
		`{"model":"text-embedding-3-small","input":["a","b"]}`,
		`{"model":"claude-haiku-4-5","max_tokens":1024,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":null,"models":null,"stream":null,"max_tokens":null}`,
		`{"max_tokens":10,"MAX_TOKENS":100}`, `{"model":"a","model":"b"}`, `{"max_tokens":2e9}`, `{"max_tokens":-1}`,
		`{"max_tokens":9223372036854775808}`, `{"max_tokens":"10"}`, `{"stream":"true"}`, `{"stream_options":"x","stream":true}`,
		`{"models":"gpt-4o"}`, `{"model":5}`, `null`, `[]`, `""`, ``, `{`, "\xef\xbb\xbf{}", "{\"model\":\"a\xff\"}",
		`{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{"pad":"` + strings.Repeat("x", fuzzMaxBody) + `"}`,
	} {
		for route := range len(clientreq.Routes()) {
			f.Add(uint8(route), []byte(s))
		}
	}
	names := clientreq.Routes()
	g := &Gateway{MaxRequestBody: fuzzMaxBody}

	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		name := names[int(route)%len(names)]
		ep := clientreq.Lookup(name)
		r := httptest.NewRequest(ep.Method, "/v1/"+name, bytes.NewReader(body))
		req, aerr := g.readRequest(httptest.NewRecorder(), r, ep, "")
		switch {
		case (req == nil) == (aerr == nil):
			t.Fatalf("request %v and error %v: exactly one expected", req, aerr)
		case aerr != nil:
			if aerr.Status < 400 || aerr.Status > 499 || aerr.Code == "" || aerr.Message == "" {
				t.Fatalf("refusal %d %q %q: want a 4xx with a code and a message", aerr.Status, aerr.Code, aerr.Message)
			}
			return
		}
		if len(body) > fuzzMaxBody {
			t.Fatalf("accepted %d bytes over a limit of %d", len(body), fuzzMaxBody)
		}
		if req.MaxTokensField != "" && req.MaxTokens < 1 {
			t.Fatalf("accepted output limit %s = %d", req.MaxTokensField, req.MaxTokens)
		}
		if req.MaxTokensField == "" && req.MaxTokens != 0 {
			t.Fatalf("output limit %d without a member", req.MaxTokens)
		}
		for what, b := range map[string][]byte{"client": req.ClientBody, "upstream": req.UpstreamBody} {
			if !json.Valid(b) || len(bytes.TrimSpace(b)) == 0 || bytes.TrimSpace(b)[0] != '{' {
				t.Fatalf("%s body is not a JSON object: %q", what, b)
			}
			if _, ok, _ := jsonobj.Get(b, "models"); ok {
				t.Fatalf("%s body keeps the gateway's models member: %q", what, b)
			}
		}
	})
}

// FuzzCaddyfile feeds arbitrary tokens to the `ai` global option and the
// `ai_auth`, `ai_credits` and `ai_gateway` directive parsers: none may
// panic, and an accepted `ai` option adapts to valid JSON.
func FuzzCaddyfile(f *testing.F) {
	seeds := []string{
		"{\n\tstorage /var/lib/caddy/ai.db\n\tsecret_key abc\n\tadmin_key def\n\tper_request_timeout 60s\n\ttotal_timeout 2m\n}",
		"{\n\tprocessing_fee 0.5\n\tbyok_fee 0\n\tmin_purchase 5\n\tcredit_lifetime 8760h\n\tlow_balance_thresholds 10 1\n\tlow_balance_webhook https://example.com/hook\n\tdemo_upstream\n}",
		"{\n\tprovider openai {\n\t\tapi_key sk-1\n\t\tapi_key sk-2\n\t\tbase_url https://api.openai.com/v1\n\t}\n}",
		"{\n\tprovider ollama {\n\t\tformat openai\n\t\tname Ollama\n\t\tbase_url http://127.0.0.1:11434/v1\n\t\tmodel llama3.2 {\n\t\t\ttype chat\n\t\t\tinput_price 0\n\t\t\toutput_price 0\n\t\t\tcache_read_price 0\n\t\t\tcache_write_price 0\n\t\t\treasoning_price 0\n\t\t\tcontext_window 128000\n\t\t\tmax_output_tokens 4096\n\t\t}\n\t}\n}",
		"{\n\tmax_request_body 1MiB\n\tmodel_selection `ai.models.sortBy(\"price\")` cheapest\n\tmax_auto_candidates 3\n\tfailover {\n\t\tfirst_token_timeout 10s\n\t\tstream_idle_timeout 30s\n\t\tcontinue_stalled_streams off\n\t}\n}",
		"", "{\n}", "{", "}", "x", "{\n\tfailover\n}", "{\n\tprovider\n}", "{\n\tprovider x {\n\t\tmodel\n\t}\n}",
		"{\n\tmax_request_body 10EB\n}", "{\n\tmax_auto_candidates 99999999999999999999\n}", "{\n\tcontext_window -1\n}",
		"{\n\tprovider a {\n\t\tmodel m {\n\t\t\tcontext_window 9223372036854775808\n\t\t}\n\t}\n}",
		"{\n\tper_request_timeout 1e30s\n}", "{\n\t{\n\t\t{\n\t\t}\n\t}\n}",
	}
	for _, s := range seeds {
		for which := range 4 {
			f.Add(uint8(which), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, input string) {
		name := [...]string{"ai", "ai_auth", "ai_credits", "ai_gateway"}[which%4]
		src := name + " " + input
		// NewTestDispenser exits the process on input the lexer refuses
		// (an unterminated quote); Caddy reports those before any parser.
		if _, err := caddyfile.Tokenize([]byte(src), "Caddyfile"); err != nil {
			return
		}
		d := caddyfile.NewTestDispenser(src)
		switch name {
		case "ai":
			v, err := parseGlobalAI(d, nil)
			if err != nil {
				return
			}
			app, ok := v.(httpcaddyfile.App)
			if !ok || app.Name != "ai" || !json.Valid(app.Value) {
				t.Fatalf("accepted %q as %#v", src, v)
			}
		case "ai_auth":
			_ = new(Auth).UnmarshalCaddyfile(d)
		case "ai_credits":
			_, _ = parseCredits(httpcaddyfile.Helper{Dispenser: d})
		case "ai_gateway":
			_ = new(Gateway).UnmarshalCaddyfile(d)
		}
	})
}
