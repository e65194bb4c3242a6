package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeminiSDK runs examples/sdk/gemini-test.mjs (Google's @google/genai
// npm client) against the gateway, which serves it from an OpenAI-format,
// an Anthropic-format and a Gemini-format provider (all the fake). It
// needs node and `npm ci` in examples/sdk, as TestOfficialSDKs.
func TestGeminiSDK(t *testing.T) {
	dir, _ := filepath.Abs("../examples/sdk")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@google", "genai"))
	if err != nil || modErr != nil {
		if os.Getenv("AI_GATEWAY_REQUIRE_SDK") != "" {
			t.Fatalf("node or examples/sdk/node_modules missing (run npm ci in examples/sdk)")
		}
		t.Skip("node or examples/sdk/node_modules missing; run `npm ci` in examples/sdk")
	}
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: googleProvider(e)}))
	cmd := exec.Command(node, "gemini-test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE=http://"+e.httpAddr, "KEY="+e.token)
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("Gemini SDK checks timed out:\n%s", out)
	}
	if err != nil {
		t.Fatalf("Gemini SDK checks failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Gemini SDK checks passed") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	t.Logf("\n%s", out)
	// the SDK's key reached no provider
	for _, r := range e.fake.Requests() {
		if strings.Contains(r.Header.Get("X-Goog-Api-Key"), "cag_") || strings.Contains(r.Query, "key=") {
			t.Fatalf("the access key reached the provider: %s?%s", r.Path, r.Query)
		}
	}
}
