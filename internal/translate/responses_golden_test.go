package translate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Responses translations' expected outputs live in
// testdata/responses; go test -run Responses -responses.update rewrites
// them (then read the diff).
var updateResponses = flag.Bool("responses.update", false, "rewrite testdata/responses golden files")

func init() {
	newResponsesBase = func() string { return "gen" }
}

// golden compares got with testdata/responses/name, JSON indented.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if strings.HasSuffix(name, ".json") {
		var buf bytes.Buffer
		if err := json.Indent(&buf, got, "", "  "); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", name, err, got)
		}
		buf.WriteByte('\n')
		got = buf.Bytes()
	}
	path := filepath.Join("testdata", "responses", name)
	if *updateResponses {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -responses.update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -run %s -responses.update rewrites it)\ngot:\n%s\nwant:\n%s", path, t.Name(), got, want)
	}
}
