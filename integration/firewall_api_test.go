package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestFirewallPoliciesAPI: a policy created through the management API and
// attached by an access key configuration removes delete_file from that
// key's answers (winning over the site's dryRun policy) but not from
// another key's; a PATCH to dryRun applies to the next request with no
// reload; the policy cannot be deleted while attached.
func TestFirewallPoliciesAPI(t *testing.T) {
	e := firewallEnv(t, "watch") // the site's policy only records

	// compiled when written: a 400 naming the field
	st, b := e.admin("POST", "/ai/firewall-policies", `{"name":"api-agents","rules":[{"phase":"response","toolName":"x"},{"phase":"request","regex":{"on":"text","pattern":"(unclosed"}}]}`)
	if st != http.StatusBadRequest || !strings.Contains(string(b), "rules[1].regex.pattern") {
		t.Fatalf("bad pattern: %d %s", st, b)
	}
	st, b = e.admin("POST", "/ai/firewall-policies", `{"name":"api-agents","description":"no deletes","rules":[{"phase":"response","action":"block","toolName":"delete_*","message":"deleting files is not allowed"}]}`)
	if st != http.StatusCreated {
		t.Fatalf("create policy: %d %s", st, b)
	}
	var fp struct {
		ID, URI, Name, Mode, OnError string
		Rules                        []map[string]any
	}
	mustJSON(t, b, &fp)
	if !strings.HasPrefix(fp.ID, "fwp_") || fp.URI != "/ai/firewall-policies/"+fp.ID || fp.Mode != "enforce" || fp.OnError != "block" || len(fp.Rules) != 1 {
		t.Fatalf("created %s", b)
	}
	if st, b := e.admin("POST", "/ai/firewall-policies", `{"name":"API-agents"}`); st != http.StatusConflict {
		t.Fatalf("duplicate name: %d %s", st, b)
	}
	if st, b := e.admin("GET", "/ai/firewall-policies", ""); st != 200 || !strings.Contains(string(b), `"firewallPolicies":[{"uri":"/ai/firewall-policies/`+fp.ID) {
		t.Fatalf("list: %d %s", st, b)
	}

	// attached by a configuration to a new access key
	if st, b := e.admin("POST", "/ai/access-key-configurations", `{"name":"agents","firewallPolicyId":"fwp_nope"}`); st != http.StatusBadRequest || !strings.Contains(string(b), "firewallPolicyId") {
		t.Fatalf("unknown policy: %d %s", st, b)
	}
	st, b = e.admin("POST", "/ai/access-key-configurations", `{"name":"agents","firewallPolicyId":"`+fp.ID+`"}`)
	if st != http.StatusCreated || !strings.Contains(string(b), `"firewallPolicyId":"`+fp.ID+`"`) {
		t.Fatalf("create configuration: %d %s", st, b)
	}
	var cfg struct{ ID string }
	mustJSON(t, b, &cfg)
	agent := map[string]string{"Authorization": "Bearer " + e.createKey(`{"name":"agent","accessKeyConfigurationId":"`+cfg.ID+`"}`)}

	call := func(hdr map[string]string, stream bool) (string, string) {
		t.Helper()
		resp := e.post("/v1/chat/completions", toolBody("gpt-4o-mini", stream, "delete_file"), hdr)
		b := string(readAll(t, resp))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return b, resp.Header.Get("Ai-Gateway-Request-Id")
	}
	for _, stream := range []bool{false, true} {
		b, rid := call(agent, stream)
		if strings.Contains(b, `"name":"delete_file"`) || !strings.Contains(b, "deleting files is not allowed") {
			t.Fatalf("stream %v: the agent key received delete_file:\n%s", stream, b)
		}
		ev := e.usageFor(rid, 1)[0]
		if len(ev.Firewall) != 1 || ev.Firewall[0].Policy != "api-agents" || ev.Firewall[0].Mode != "enforce" || ev.Firewall[0].Action != "block" {
			raw, _ := json.Marshal(ev.Firewall)
			t.Fatalf("stream %v: decisions %s", stream, raw)
		}
		// another key keeps the site's (dryRun) policy: the call passes
		b, rid = call(e.bearer(), stream)
		if !strings.Contains(b, "delete_file") || strings.Contains(b, "blocked by the gateway") {
			t.Fatalf("stream %v: the other key's call was changed:\n%s", stream, b)
		}
		if ev := e.usageFor(rid, 1)[0]; len(ev.Firewall) != 1 || ev.Firewall[0].Policy != "watch" {
			t.Fatalf("stream %v: the other key's decisions %+v", stream, ev.Firewall)
		}
	}

	// PATCH to dryRun: the next request passes, no reload
	st, b = e.admin("PATCH", "/ai/firewall-policies/"+fp.ID, `{"mode":"dryRun"}`)
	if st != 200 || !strings.Contains(string(b), `"mode":"dryRun"`) || !strings.Contains(string(b), `"toolName":"delete_*"`) {
		t.Fatalf("PATCH: %d %s", st, b)
	}
	for _, stream := range []bool{false, true} {
		b, rid := call(agent, stream)
		if !strings.Contains(b, "delete_file") || strings.Contains(b, "blocked by the gateway") {
			t.Fatalf("stream %v: dryRun still blocks:\n%s", stream, b)
		}
		if ev := e.usageFor(rid, 1)[0]; len(ev.Firewall) != 1 || ev.Firewall[0].Policy != "api-agents" || ev.Firewall[0].Mode != "dryRun" {
			t.Fatalf("stream %v: decisions %+v", stream, ev.Firewall)
		}
	}
	// a PATCH that does not compile is refused naming the field, and changes nothing
	if st, b := e.admin("PATCH", "/ai/firewall-policies/"+fp.ID, `{"rules":[{"phase":"response","cel":"call.name =="}]}`); st != http.StatusBadRequest || !strings.Contains(string(b), "rules[0].cel") {
		t.Fatalf("bad PATCH: %d %s", st, b)
	}

	// delete refused while attached, naming the configuration
	st, b = e.admin("DELETE", "/ai/firewall-policies/"+fp.ID, "")
	if st != http.StatusConflict || !strings.Contains(string(b), cfg.ID) {
		t.Fatalf("delete while attached: %d %s", st, b)
	}
	if st, b := e.admin("PATCH", "/ai/access-key-configurations/"+cfg.ID, `{"firewallPolicyId":null}`); st != 200 || !strings.Contains(string(b), `"firewallPolicyId":""`) {
		t.Fatalf("detach: %d %s", st, b)
	}
	if st, b := e.admin("DELETE", "/ai/firewall-policies/"+fp.ID, ""); st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, b)
	}
	if st, _ := e.admin("GET", "/ai/firewall-policies/"+fp.ID, ""); st != http.StatusNotFound {
		t.Fatalf("get after delete: %d", st)
	}
}
