package integration

import (
	"strings"
	"testing"
)

// TestUsageNamesVirtualModel: a request naming a virtual model records it
// on each usage event (ngrok.ai's virtualModel) beside the member that
// served, in the store and in the management API; a request naming a
// model records none.
func TestUsageNamesVirtualModel(t *testing.T) {
	e := start(t, cfgOpts{})
	if st, b := e.admin("POST", "/ai/virtual-models", `{"name":"House-Default","models":["gpt-4o-mini"]}`); st != 201 {
		t.Fatalf("virtual model: %d %s", st, b)
	}
	for model, want := range map[string]string{"house-default": "House-Default", "gpt-4o-mini": ""} {
		resp := e.post("/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
		readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", model, resp.StatusCode)
		}
		rid := resp.Header.Get("Ai-Gateway-Request-Id")
		evs := e.usageFor(rid, 1)
		if evs[0].VirtualModel != want || evs[0].Model != "gpt-4o-mini" {
			t.Errorf("%s: virtualModel %q model %q, want %q and the member", model, evs[0].VirtualModel, evs[0].Model, want)
		}
		st, b := e.admin("GET", "/ai/usage/requests/"+rid, "")
		has := strings.Contains(string(b), `"virtualModel":"House-Default"`)
		if st != 200 || has != (want != "") {
			t.Errorf("%s: /ai/usage/requests: %d %s", model, st, b)
		}
	}
}
