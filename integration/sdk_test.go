package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
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
	e := start(t, cfgOpts{site: "ai_auth\n\tai_gateway {\n\t\tfailover {\n\t\t\tstream_idle_timeout 500ms\n\t\t}\n\t}"})
	// gpt-4.1-mini and claude-opus-4-6 stall after a few events (their
	// streams must be continued); gpt-4.1 fails (the failing-OpenAI scenario)
	e.fake.SetOptions(fakeprovider.Options{
		StallModels: map[string]int{"gpt-4.1-mini": 4, "claude-opus-4-6": 6}, StallFor: 30 * time.Second,
		FailModels: map[string]int{"gpt-4.1": 503},
	})
	// a key that may use only gpt-4.1 (failing) and claude-haiku-4-5, OpenAI first
	cfg := e.createJSON("/ai/access-key-configurations", `{"access":{"models":{"allow":["openai:gpt-4.1","anthropic:claude-haiku-4-5"]}},"modelSelection":["ai.models.onlyProviders([\"openai\"]) + ai.models.onlyProviders([\"anthropic\"])"]}`)["id"].(string)
	failoverKey := e.createJSON("/ai/access-keys", `{"name":"failover","accessKeyConfigurationId":"`+cfg+`"}`)["token"].(string)
	cmd := exec.Command(node, "sdk-test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE=http://"+e.httpAddr, "KEY="+e.token, "FAILOVER_KEY="+failoverKey)
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

	// the usage API shows both attempts of the failover scenario and why
	// the first moved on
	// (usage events are group-committed after the answer: poll briefly)
	var u struct {
		Usage []struct {
			ProviderID, Model, RetryAction, Error string
			Status                                int
		}
	}
	var b []byte
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, b = e.admin("GET", "/ai/usage?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+time.Now().Add(time.Minute).UTC().Format(time.RFC3339)+"&includeRetries=true&accessKeyId="+keyIDOf(t, e, "failover"), "")
		mustJSON(t, b, &u)
		if len(u.Usage) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(u.Usage) != 2 || u.Usage[1].ProviderID != "openai" || u.Usage[1].RetryAction != "next_backend" || u.Usage[1].Status != 503 ||
		u.Usage[0].ProviderID != "anthropic" || u.Usage[0].RetryAction != "succeeded" {
		t.Fatalf("usage of the failover request: %s", b)
	}
}

func keyIDOf(t *testing.T, e *env, name string) string {
	_, b := e.admin("GET", "/ai/access-keys", "")
	var v struct{ AccessKeys []struct{ ID, Name string } }
	mustJSON(t, b, &v)
	for _, k := range v.AccessKeys {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no access key %q", name)
	return ""
}
