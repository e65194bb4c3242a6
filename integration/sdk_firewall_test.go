package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFirewallOfficialSDK runs examples/sdk/firewall-test.mjs: an agent
// with the official openai SDK, behind a policy that blocks delete_*
// tools, never receives a delete_file call (JSON, stream, Responses API)
// and is told why; a refused prompt is the SDK's PermissionDeniedError.
func TestFirewallOfficialSDK(t *testing.T) {
	dir, _ := filepath.Abs("../examples/sdk")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "openai"))
	if err != nil || modErr != nil {
		if os.Getenv("AI_GATEWAY_REQUIRE_SDK") != "" {
			t.Fatalf("node or examples/sdk/node_modules missing (run npm ci in examples/sdk)")
		}
		t.Skip("node or examples/sdk/node_modules missing; run `npm ci` in examples/sdk")
	}
	e := firewallEnv(t, "agents")
	cmd := exec.Command(node, "firewall-test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE=http://"+e.httpAddr, "KEY="+e.token)
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("firewall SDK checks timed out:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "firewall SDK checks passed") {
		t.Fatalf("firewall SDK checks failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
