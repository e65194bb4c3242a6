package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOfficialSDKs runs examples/sdk/sdk-test.mjs (the official openai and
// @anthropic-ai/sdk npm clients) against the gateway. It needs node and
// `npm ci` in examples/sdk; .ci/run provides both and sets
// AI_GATEWAY_REQUIRE_SDK=1 so a missing toolchain fails instead of skips.
func TestOfficialSDKs(t *testing.T) {
	dir, _ := filepath.Abs("../examples/sdk")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "openai"))
	if err != nil || modErr != nil {
		if os.Getenv("AI_GATEWAY_REQUIRE_SDK") != "" {
			t.Fatalf("node or examples/sdk/node_modules missing (run npm ci in examples/sdk)")
		}
		t.Skip("node or examples/sdk/node_modules missing; run `npm ci` in examples/sdk")
	}
	e := start(t, cfgOpts{})
	cmd := exec.Command(node, "sdk-test.mjs")
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
		t.Fatalf("SDK checks timed out:\n%s", out)
	}
	if err != nil {
		t.Fatalf("SDK checks failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SDK checks passed") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	t.Logf("\n%s", out)
}
