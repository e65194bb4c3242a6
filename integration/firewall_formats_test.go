package integration

import (
	"bufio"
	"strings"
	"testing"
)

// TestFirewallFormats: the firewall reads every client's answer in the
// client's own format, also when nothing translates it: a Gemini client
// of a Gemini provider, a Responses client of OpenAI's Responses API
// (passed through, also under a policy), and the Responses-only models
// (gpt-5-pro) from chat, Responses and Gemini clients. In JSON and in
// streams, the delete_file call never reaches the client, text says why,
// the answer stays well-formed (Gemini finishReason STOP; Responses
// sequence numbers one by one, the final output as streamed), and the
// usage event records the decision.
func TestFirewallFormats(t *testing.T) {
	site := "ai_auth\n\tai_gateway {\n\t\tfirewall_policy agents\n\t}"
	e := start(t, cfgOpts{extraAI: firewallAI, site: site})
	e.load(e.caddyfile(cfgOpts{extraAI: firewallAI + "\n\t\t" + googleProvider(e), site: site}))
	goog := map[string]string{"x-goog-api-key": e.token}
	const gemTools = `"tools":[{"functionDeclarations":[{"name":"delete_file","parameters":{"type":"object","properties":{"path":{"type":"string"}}}},{"name":"read_file","parameters":{"type":"object"}}]}]`
	gemBody := func(tool string) string {
		return `{"contents":[{"role":"user","parts":[{"text":"tidy up my files"}]}],` + strings.Replace(gemTools, "delete_file", tool, 1) + `}`
	}
	respBody := func(model string, stream bool, tool string) string {
		s := map[bool]string{false: "false", true: "true"}[stream]
		return `{"model":"` + model + `","stream":` + s + `,"input":"tidy up my files","tools":[{"type":"function","name":"` + tool +
			`","parameters":{"type":"object"}},{"type":"function","name":"read_file","parameters":{"type":"object"}}],"tool_choice":{"type":"function","name":"` + tool + `"}}`
	}
	cases := []struct {
		name, path, body string
		hdr              map[string]string
		format           string // the client's: gemini, responses, chat
		stream           bool
		upstream         string // the provider's path
	}{
		{"gemini json, gemini", "/v1beta/models/google:gemini-2.5-flash:generateContent", gemBody("delete_file"), goog, "gemini", false, "/v1beta/models/gemini-2.5-flash:generateContent"},
		{"gemini stream, gemini", "/v1beta/models/google:gemini-2.5-flash:streamGenerateContent?alt=sse", gemBody("delete_file"), goog, "gemini", true, "/v1beta/models/gemini-2.5-flash:streamGenerateContent"},
		{"responses json, openai responses", "/v1/responses", respBody("gpt-4o-mini", false, "delete_file"), e.bearer(), "responses", false, "/v1/responses"},
		{"responses stream, openai responses", "/v1/responses", respBody("gpt-4o-mini", true, "delete_file"), e.bearer(), "responses", true, "/v1/responses"},
		{"responses json, responses-only", "/v1/responses", respBody("openai:gpt-5-pro", false, "delete_file"), e.bearer(), "responses", false, "/v1/responses"},
		{"responses stream, responses-only", "/v1/responses", respBody("openai:gpt-5-pro", true, "delete_file"), e.bearer(), "responses", true, "/v1/responses"},
		{"chat json, responses-only", "/v1/chat/completions", toolBody("openai:gpt-5-pro", false, "delete_file"), e.bearer(), "chat", false, "/v1/responses"},
		{"chat stream, responses-only", "/v1/chat/completions", toolBody("openai:gpt-5-pro", true, "delete_file"), e.bearer(), "chat", true, "/v1/responses"},
		{"gemini stream, responses-only", "/v1beta/models/openai:gpt-5-pro:streamGenerateContent?alt=sse", gemBody("delete_file"), goog, "gemini", true, "/v1/responses"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fake.Reset()
			resp := e.post(c.path, c.body, c.hdr)
			b := string(readAll(t, resp))
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if reqs := e.fake.Requests(); len(reqs) != 1 || !strings.HasSuffix(reqs[0].Path, c.upstream) {
				t.Fatalf("upstream requests %+v, want one to %s", reqs, c.upstream)
			}
			// (a Responses object repeats the request's tools: no name check there)
			if c.format != "responses" && (strings.Contains(b, `"name":"delete_file"`) || strings.Contains(b, `"name": "delete_file"`)) ||
				strings.Contains(b, `"type":"function_call"`) || strings.Contains(b, "function_call_arguments") {
				t.Fatalf("the client received the delete_file call:\n%s", b)
			}
			if !strings.Contains(b, "blocked by the gateway") || !strings.Contains(b, "deleting files is not allowed") {
				t.Fatalf("no text saying why:\n%s", b)
			}
			switch c.format {
			case "gemini":
				var a geminiAnswer
				if c.stream {
					for _, d := range sseBodyData(b) {
						a.add(t, []byte(d))
					}
				} else {
					a.add(t, []byte(b))
				}
				if len(a.calls) != 0 || a.finish != "STOP" || !strings.Contains(a.text, "[tool call delete_file blocked") {
					t.Fatalf("gemini answer %+v", a)
				}
			case "responses":
				var final map[string]any
				if c.stream {
					var calls map[string]string
					var text string
					text, calls, final = responsesStream(t, sseBodyData(b))
					if len(calls) != 0 || !strings.Contains(text, "[tool call delete_file blocked") {
						t.Fatalf("streamed calls %v, text %q", calls, text)
					}
				} else {
					mustJSON(t, []byte(b), &final)
				}
				if final["status"] != "completed" || !strings.Contains(outputText(final), "[tool call delete_file blocked") {
					t.Fatalf("final response %v", final)
				}
				for _, it := range final["output"].([]any) {
					if m := it.(map[string]any); m["type"] == "function_call" {
						t.Fatalf("a function_call left in the output: %v", m)
					}
				}
			case "chat":
				if strings.Contains(b, `"finish_reason":"tool_calls"`) {
					t.Fatalf("the finish reason still asks for tool results:\n%s", b)
				}
			}
			ev := e.usageFor(resp.Header.Get("Ai-Gateway-Request-Id"), 1)[0]
			if len(ev.Firewall) != 1 || ev.Firewall[0].Action != "block" || ev.Firewall[0].Tool != "delete_file" ||
				ev.Firewall[0].Phase != "response" || ev.Firewall[0].Policy != "agents" || ev.Firewall[0].Mode != "enforce" {
				t.Fatalf("usage event's firewall decisions %+v", ev.Firewall)
			}
		})
	}
	// An allowed tool passes untouched, in every format.
	for _, c := range []struct{ path, body string }{
		{"/v1beta/models/google:gemini-2.5-flash:generateContent", gemBody("read_file")},
		{"/v1beta/models/google:gemini-2.5-flash:streamGenerateContent?alt=sse", gemBody("read_file")},
		{"/v1/responses", respBody("gpt-4o-mini", false, "read_file")},
		{"/v1/responses", respBody("openai:gpt-5-pro", true, "read_file")},
	} {
		hdr := e.bearer()
		if strings.HasPrefix(c.path, "/v1beta") {
			hdr = goog
		}
		resp := e.post(c.path, c.body, hdr)
		b := string(readAll(t, resp))
		if resp.StatusCode != 200 || !strings.Contains(b, `"name":"read_file"`) || strings.Contains(b, "blocked by the gateway") {
			t.Fatalf("read_file %s: %d %s", c.path, resp.StatusCode, b)
		}
		if want := map[bool]string{true: `"functionCall"`, false: `"type":"function_call"`}[hdr["x-goog-api-key"] != ""]; !strings.Contains(b, want) {
			t.Fatalf("read_file %s: no %s in %s", c.path, want, b)
		}
		if strings.Contains(c.body, `"stream":true`) {
			if _, calls, _ := responsesStream(t, sseBodyData(b)); calls["read_file"] == "" {
				t.Fatalf("read_file not streamed whole: %s", b)
			}
		}
	}
}

// sseBodyData is the data of each event of an SSE body.
func sseBodyData(body string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// TestFirewallFormatsDryRun: under a dryRun policy a Gemini client of a
// Gemini provider and a Responses client of OpenAI get the delete_file
// call as it came, and the usage event records what would have been
// blocked.
func TestFirewallFormatsDryRun(t *testing.T) {
	site := "ai_auth\n\tai_gateway {\n\t\tfirewall_policy watch\n\t}"
	e := start(t, cfgOpts{extraAI: firewallAI, site: site})
	e.load(e.caddyfile(cfgOpts{extraAI: firewallAI + "\n\t\t" + googleProvider(e), site: site}))
	gem := `{"contents":[{"role":"user","parts":[{"text":"tidy up my files"}]}],"tools":[{"functionDeclarations":[{"name":"delete_file","parameters":{"type":"object"}}]}]}`
	resp := `{"model":"gpt-4o-mini","stream":%s,"input":"tidy up my files","tools":[{"type":"function","name":"delete_file","parameters":{"type":"object"}}]}`
	for _, c := range []struct {
		path, body, want string
		hdr              map[string]string
	}{
		{"/v1beta/models/google:gemini-2.5-flash:generateContent", gem, `"functionCall"`, map[string]string{"x-goog-api-key": e.token}},
		{"/v1beta/models/google:gemini-2.5-flash:streamGenerateContent?alt=sse", gem, `"functionCall"`, map[string]string{"x-goog-api-key": e.token}},
		{"/v1/responses", strings.Replace(resp, "%s", "false", 1), `"type":"function_call"`, e.bearer()},
		{"/v1/responses", strings.Replace(resp, "%s", "true", 1), `"type":"function_call"`, e.bearer()},
	} {
		r := e.post(c.path, c.body, c.hdr)
		b := string(readAll(t, r))
		if r.StatusCode != 200 || !strings.Contains(b, c.want) || strings.Contains(b, "blocked by the gateway") {
			t.Fatalf("%s: %d %s", c.path, r.StatusCode, b)
		}
		ev := e.usageFor(r.Header.Get("Ai-Gateway-Request-Id"), 1)[0]
		if len(ev.Firewall) != 1 || ev.Firewall[0].Mode != "dryRun" || ev.Firewall[0].Action != "block" || ev.Firewall[0].Tool != "delete_file" {
			t.Fatalf("%s: decisions %+v", c.path, ev.Firewall)
		}
	}
}
