package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

// TestSDKMatrix runs examples/sdk/matrix-test.mjs: the translation matrix
// with the official npm SDKs (openai chat.completions and responses,
// @anthropic-ai/sdk messages, @google/genai models), streamed and not,
// plain text and a tool call, against every upstream format of TestMatrix.
// The script prints each cell's outcome and request id; this test reports
// the pass counts, fails on any failed cell, and checks the usage each
// request recorded. It needs node and `npm ci` in examples/sdk, as
// TestOfficialSDKs (AI_GATEWAY_REQUIRE_SDK=1 turns the skip into a failure).
func TestSDKMatrix(t *testing.T) {
	dir, _ := filepath.Abs("../examples/sdk")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "openai"))
	_, antErr := os.Stat(filepath.Join(dir, "node_modules", "@anthropic-ai", "sdk"))
	_, genErr := os.Stat(filepath.Join(dir, "node_modules", "@google", "genai"))
	if err != nil || modErr != nil || antErr != nil || genErr != nil {
		if os.Getenv("AI_GATEWAY_REQUIRE_SDK") != "" {
			t.Fatalf("node or examples/sdk/node_modules missing (run npm ci in examples/sdk)")
		}
		t.Skip("node or examples/sdk/node_modules missing; run `npm ci` in examples/sdk")
	}
	e := start(t, cfgOpts{})
	e.load(e.caddyfile(cfgOpts{extraAI: responsesExtra(e.fakeURL)}))

	type target struct {
		Name     string `json:"name"`
		Model    string `json:"model"`
		Provider string `json:"provider"`
	}
	var targets []target
	for _, up := range mxUpstreams {
		targets = append(targets, target{up.name, up.model, up.provider})
	}
	tj, _ := json.Marshal(targets)

	began := time.Now()
	cmd := exec.Command(node, "matrix-test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE=http://"+e.httpAddr, "KEY="+e.token, "REPLY="+fakeprovider.DefaultReply, "TARGETS="+string(tj))
	done := make(chan struct{})
	var out []byte
	var runErr error
	go func() { out, runErr = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("SDK matrix timed out:\n%s", out)
	}
	elapsed := time.Since(began)

	var result struct {
		Ms    int64 `json:"ms"`
		Cells []struct {
			Surface, Target, Kind, Error, Provider, RequestID string
			OK                                                bool
			Ms                                                int64
		} `json:"cells"`
	}
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(line, "MATRIX_RESULT "); ok {
			if err := json.Unmarshal([]byte(j), &result); err != nil {
				t.Fatalf("MATRIX_RESULT: %v\n%s", err, out)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no MATRIX_RESULT (%v):\n%s", runErr, out)
	}
	if want := 8 * len(targets) * 2; len(result.Cells) != want {
		t.Fatalf("%d cells, want %d:\n%s", len(result.Cells), want, out)
	}

	// the usage each passed cell's request recorded
	type key struct{ surface, target string }
	passed, total := map[key]int{}, map[key]int{}
	var surfaces []string
	var failures []string
	for _, c := range result.Cells {
		k := key{c.Surface, c.Target}
		if total[k] == 0 && (len(surfaces) == 0 || surfaces[len(surfaces)-1] != c.Surface) {
			surfaces = append(surfaces, c.Surface)
		}
		total[k]++
		name := c.Surface + " × " + c.Target + " × " + c.Kind
		if !c.OK {
			failures = append(failures, name+": "+c.Error)
			continue
		}
		if c.RequestID == "" {
			failures = append(failures, name+": no AI-Gateway-Request-Id")
			continue
		}
		ev := e.usageFor(c.RequestID, 1)[0]
		stream := strings.Contains(c.Surface, "stream") || strings.HasSuffix(c.Surface, "Stream")
		if ev.ProviderID != c.Provider || ev.Status != 200 || ev.Streaming != stream || ev.InputTokens <= 0 || ev.OutputTokens <= 0 || ev.UsageEstimated {
			failures = append(failures, fmt.Sprintf("%s: usage event %+v", name, *ev))
			continue
		}
		passed[k]++
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "SDK translation matrix (passed/cells; each cell: text + tool call)\n%-40s", "SDK surface")
	for _, tg := range targets {
		fmt.Fprintf(&sb, " %17s", tg.Name)
	}
	sb.WriteString("\n")
	all, allPassed := 0, 0
	for _, s := range surfaces {
		fmt.Fprintf(&sb, "%-40s", s)
		for _, tg := range targets {
			k := key{s, tg.Name}
			fmt.Fprintf(&sb, " %17s", fmt.Sprintf("%d/%d", passed[k], total[k]))
			all += total[k]
			allPassed += passed[k]
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "%d/%d cells passed in %s (node: %d ms of SDK calls)", allPassed, all, elapsed.Round(time.Millisecond), result.Ms)
	t.Log("\n" + sb.String())
	if len(failures) > 0 {
		t.Fatalf("%d SDK matrix cells failed:\n%s\n\nnode output:\n%s", len(failures), strings.Join(failures, "\n"), out)
	}
	if runErr != nil {
		t.Fatalf("matrix-test.mjs: %v\n%s", runErr, out)
	}
}
