package translate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/streamcheck"
)

// The Responses streams the translation writes (the golden .sse files)
// are accepted by the official openai npm SDK's stream helper
// (client.responses.stream(): its SSE parsing, ResponseStream and
// accumulateResponse), and it accumulates the same answer as readResponses.
// It needs node and the SDK installed in examples/sdk (npm ci there);
// without them it skips, unless AI_GATEWAY_REQUIRE_SDK is set.
func TestResponsesStreamOpenAISDK(t *testing.T) {
	sdkDir, _ := filepath.Abs(filepath.Join("..", "..", "examples", "sdk"))
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(sdkDir, "node_modules", "openai"))
	if err != nil || modErr != nil {
		if os.Getenv("AI_GATEWAY_REQUIRE_SDK") != "" {
			t.Fatal("node or examples/sdk/node_modules missing (run npm ci in examples/sdk)")
		}
		t.Skip("node or examples/sdk/node_modules missing; run `npm ci` in examples/sdk")
	}
	files := []string{"chat_text.sse", "chat_tools.sse", "chat_reasoning.sse", "anthropic_tools.sse", "anthropic_thinking.sse", "anthropic_error.sse"}
	args := []string{filepath.Join("testdata", "responses_sdk.mjs")}
	for _, f := range files {
		args = append(args, filepath.Join("testdata", "responses", f))
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "OPENAI_SDK_DIR="+sdkDir)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node: %v\n%s%s", err, out, stderr)
	}
	var results []struct {
		File         string `json:"file"`
		Events       int    `json:"events"`
		Status       string `json:"status"`
		Incomplete   string `json:"incomplete"`
		Error        string `json:"error"`
		OutputText   string `json:"output_text"`
		Snapshot     string `json:"snapshot"`
		ArgsSnapshot string `json:"args_snapshot"`
		Reasoning    string `json:"reasoning"`
		Calls        []struct {
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"calls"`
		Usage *struct {
			InputTokens        int64 `json:"input_tokens"`
			InputTokensDetails struct {
				CachedTokens     int64 `json:"cached_tokens"`
				CacheWriteTokens int64 `json:"cache_write_tokens"`
			} `json:"input_tokens_details"`
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(files) {
		t.Fatalf("node printed %s (%v)", out, err)
	}
	for i, r := range results {
		data, err := os.ReadFile(args[i+1])
		if err != nil {
			t.Fatal(err)
		}
		evs := streamcheck.ParseSSE(string(data))
		want, err := readResponses(evs)
		if err != nil {
			t.Fatalf("%s: %v", r.File, err)
		}
		got := streamcheck.Answer{Text: r.OutputText, Thinking: r.Reasoning, Stop: r.Status, Error: r.Error, Events: r.Events}
		if r.Incomplete != "" {
			got.Stop = r.Incomplete
		}
		for _, c := range r.Calls {
			got.Calls = append(got.Calls, streamcheck.Call{ID: c.CallID, Name: c.Name, Args: c.Arguments})
		}
		if u := r.Usage; u != nil {
			got.CacheRead, got.CacheWrite = u.InputTokensDetails.CachedTokens, u.InputTokensDetails.CacheWriteTokens
			got.Input = u.InputTokens - got.CacheRead - got.CacheWrite
			got.Output = u.OutputTokens
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the SDK accumulated\n%+v\nreadResponses\n%+v", r.File, got, want)
		}
		if r.Snapshot != want.Text { // the golden streams have at most one message
			t.Errorf("%s: the SDK's last output_text snapshot %q", r.File, r.Snapshot)
		}
		if n := len(want.Calls); n > 0 && r.ArgsSnapshot != want.Calls[n-1].Args {
			t.Errorf("%s: the SDK's last arguments snapshot %q", r.File, r.ArgsSnapshot)
		}
	}
}
