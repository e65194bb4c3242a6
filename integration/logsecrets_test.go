package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// accessLogRedaction is the site `log` block README.md and
// Caddyfile.example document: Caddy's access log redacts Authorization
// itself, and the filter removes the other headers an access key travels
// in and Gemini's key query parameter from the logged URI.
const accessLogRedaction = `log {
		output file %s
		format filter {
			wrap json
			request>headers>X-Api-Key replace REDACTED
			request>headers>X-Goog-Api-Key replace REDACTED
			request>uri query {
				replace key REDACTED
			}
		}
	}`

// TestNoSecretInLogs: with the documented access log and the gateway's own
// logs at DEBUG, no access key (valid, invalid, in either header form) and
// no provider key appears in any log line, for answers and refusals alike.
func TestNoSecretInLogs(t *testing.T) {
	e := start(t, cfgOpts{})
	dir := t.TempDir()
	access, debug := filepath.Join(dir, "access.log"), filepath.Join(dir, "debug.log")
	cf := e.caddyfile(cfgOpts{site: strings.Replace(accessLogRedaction, "%s", access, 1) + "\n\tai_auth\n\tai_gateway"})
	cf = strings.Replace(cf, "log default {\n\t\toutput discard\n\t}", "log default {\n\t\toutput file "+debug+"\n\t\tlevel DEBUG\n\t}", 1)
	e.load(cf)

	bogus := "cag_thisIsNotAValidKeyButStillASecret0123456789"
	chat := `{"model":"openai:gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	msgs := `{"model":"anthropic:claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		path, body string
		hdr        map[string]string
	}{
		{"/v1/chat/completions", chat, map[string]string{"Authorization": "Bearer " + e.token}},
		{"/v1/messages", msgs, map[string]string{"X-Api-Key": e.token, "anthropic-version": "2023-06-01"}},
		{"/v1/messages", msgs, map[string]string{"X-Api-Key": bogus}},
		{"/v1/chat/completions", chat, map[string]string{"Authorization": "Bearer " + bogus}},
		{"/v1/nope", chat, map[string]string{"X-Api-Key": e.token}},
		{"/v1/chat/completions", `{"model":`, map[string]string{"X-Api-Key": e.token}},
		{"/v1/chat/completions", chat, map[string]string{"X-Api-Key": e.token, "X-Fake-Status": "401"}}, // the provider refuses the managed key
		{"/v1/chat/completions", chat, map[string]string{"X-Goog-Api-Key": e.token}},
	} {
		readAll(t, e.post(tc.path, tc.body, tc.hdr))
	}
	// logs are written as requests end; give the file writers a moment
	time.Sleep(200 * time.Millisecond)
	for _, f := range []string{access, debug} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("%s is empty: the test would prove nothing", f)
		}
		for _, secret := range []string{e.token, bogus, "sk-managed-openai-0123456789abcdef", "sk-ant-managed-0123456789abcdef", e.token[4:16]} {
			if strings.Contains(string(b), secret) {
				i := strings.Index(string(b), secret)
				t.Fatalf("%s contains a secret: …%s…", filepath.Base(f), string(b)[max(0, i-200):min(len(b), i+80)])
			}
		}
	}
}
