package caddyaigateway

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of the Caddyfile adapt tests")

// TestCaddyfileAdapt adapts each testdata/caddyfile_adapt/*.caddyfiletest
// (Caddyfile, a line of dashes, the expected JSON) and compares.
func TestCaddyfileAdapt(t *testing.T) {
	files, _ := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if len(files) == 0 {
		t.Fatal("no adapt tests")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cf, want, ok := strings.Cut(string(raw), "----------\n")
			if !ok {
				t.Fatal("missing separator")
			}
			got, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, got, "", "\t")
			if *update {
				_ = os.WriteFile(f, []byte(cf+"----------\n"+pretty.String()+"\n"), 0o644)
				return
			}
			if strings.TrimSpace(pretty.String()) != strings.TrimSpace(want) {
				t.Fatalf("adapted JSON differs (run with -update to accept):\n%s", pretty.String())
			}
		})
	}
}

func TestCaddyfileErrors(t *testing.T) {
	cases := map[string]string{
		"unknown ai option":       "{\n ai {\n  nonsense 1\n }\n}\n:80 {\n ai_gateway\n}",
		"unknown provider option": "{\n ai {\n  provider x {\n   colour red\n  }\n }\n}",
		"bad model number":        "{\n ai {\n  provider x {\n   model m {\n    context_window lots\n   }\n  }\n }\n}",
		"ai_auth with args":       ":80 {\n ai_auth foo\n}",
		"bad body size":           ":80 {\n ai_gateway {\n  max_request_body huge\n }\n}",
		"body size past int64":    ":80 {\n ai_gateway {\n  max_request_body 10EB\n }\n}",
		"bad timeout":             "{\n ai {\n  total_timeout soon\n }\n}",
	}
	for name, cf := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
