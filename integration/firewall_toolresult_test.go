package integration

import (
	"net/http"
	"strings"
	"testing"
)

// TestFirewallToolResults: request rules see the tool results a client
// sends back — by the name of the call they answer and by their text —
// and refuse the request before any provider is called.
func TestFirewallToolResults(t *testing.T) {
	e := start(t, cfgOpts{extraAI: `firewall_policy results {
			rule {
				phase request
				action block
				regex text "BEGIN [A-Z ]*PRIVATE KEY"
				message "a secret in the conversation"
			}
			rule {
				phase request
				action block
				tool_name exfiltrate_*
				message "results of exfiltrate tools are not sent on"
			}
		}`, site: "ai_auth\n\tai_gateway {\n\t\tfirewall_policy results\n\t}"})
	history := func(tool, result string) string {
		return `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"read the config"},` +
			`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"` + tool + `","arguments":"{\"path\":\"/etc/app\"}"}}]},` +
			`{"role":"tool","tool_call_id":"call_1","content":"` + result + `"}]}`
	}
	anthropic := `{"model":"claude-haiku-4-5","max_tokens":50,"messages":[{"role":"user","content":"read it"},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"tu_1","name":"read_file","input":{"path":"/k"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"tu_1","content":"-----BEGIN RSA PRIVATE KEY-----"}]}]}`
	cases := []struct {
		name, path, body, rule string
		hdr                    map[string]string
		status                 int
	}{
		{"secret in a chat tool result", "/v1/chat/completions", history("read_file", "-----BEGIN OPENSSH PRIVATE KEY-----"), "a secret", e.bearer(), 403},
		{"result of an exfiltrate tool", "/v1/chat/completions", history("exfiltrate_env", "done"), "exfiltrate", e.bearer(), 403},
		{"secret in an Anthropic tool_result", "/v1/messages", anthropic, "a secret", e.anthropicHdr(), 403},
		{"a harmless result", "/v1/chat/completions", history("read_file", "port = 8080"), "", e.bearer(), 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fake.Reset()
			resp := e.post(c.path, c.body, c.hdr)
			b := string(readAll(t, resp))
			if resp.StatusCode != c.status {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if c.status == http.StatusForbidden && (!strings.Contains(b, "firewall_blocked") || !strings.Contains(b, c.rule) || e.fake.Count() != 0) {
				t.Fatalf("refusal %s, %d provider calls", b, e.fake.Count())
			}
		})
	}
}
