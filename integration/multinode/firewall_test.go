package multinode

import (
	"testing"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/testpg"
)

// TestFirewallPolicyReachesEveryNode: a firewall policy created through
// one node and attached by a configuration refuses the key's requests on
// every node; a PATCH to dryRun through another node lets them through
// everywhere, each within a second (the change notification, no reload).
func TestFirewallPolicyReachesEveryNode(t *testing.T) {
	url := testpg.URL(t)
	nodes := startNodes(t, 2, url, fakeUpstream(t))
	fp := nodes[0].create("/ai/firewall-policies", `{"name":"no-hi","rules":[{"phase":"request","regex":{"on":"text","pattern":"^hi$"},"message":"no greetings"}]}`)["id"].(string)
	cfg := nodes[0].create("/ai/access-key-configurations", `{"name":"guarded","firewallPolicyId":"`+fp+`"}`)["id"].(string)
	acct := nodes[0].create("/ai/accounts", `{"name":"team"}`)["id"].(string)
	nodes[0].create("/ai/credits/purchases", `{"accountId":"`+acct+`","amount":"10"}`)
	token := nodes[0].create("/ai/access-keys", `{"accountId":"`+acct+`","accessKeyConfigurationId":"`+cfg+`"}`)["token"].(string)
	for i, took := range answers(t, nodes, token, 403, time.Second, "the attached policy") {
		t.Logf("node %d enforces the policy after %s", i, took.Round(time.Millisecond))
	}
	if st, b := nodes[1].admin("PATCH", "/ai/firewall-policies/"+fp, `{"mode":"dryRun"}`); st != 200 {
		t.Fatalf("PATCH: %d %s", st, b)
	}
	for i, took := range answers(t, nodes, token, 200, time.Second, "the policy in dryRun") {
		t.Logf("node %d only records after %s", i, took.Round(time.Millisecond))
	}
	if st, b := nodes[1].admin("DELETE", "/ai/firewall-policies/"+fp, ""); st != 409 {
		t.Fatalf("delete while attached: %d %s", st, b)
	}
}
