package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The management half of the bad-input suite: every refused call answers
// in the admin API's shape ({"error": "<message>"}, the message naming the
// field at fault) and changes nothing: no resource created or modified, no
// ledger entry, no balance change, no provider call.

// mgCase is one refused management call.
type mgCase struct {
	name   string
	method string
	path   string
	body   string
	// hdr replaces the default headers (the bootstrap key as Bearer and
	// Content-Type: application/json).
	hdr    http.Header
	status int
	// field is a word the error message must contain (the field at fault),
	// when there is one.
	field string
}

// mgFixtures are the resources the table's calls target.
type mgFixtures struct {
	account, accessKey, accessToken, config, providerKey, provider, apiKey, virtualModel string
}

func setupManagementFixtures(e *env) mgFixtures {
	var f mgFixtures
	f.account = e.createJSON("/ai/accounts", `{"name":"bad-input"}`)["id"].(string)
	e.buy(f.account, "10")
	f.config = e.createJSON("/ai/access-key-configurations", `{"name":"cfg","limits":{"requestsPerMinute":10}}`)["id"].(string)
	ak := e.createJSON("/ai/access-keys", `{"name":"k","accountId":"`+f.account+`","accessKeyConfigurationId":"`+f.config+`"}`)
	f.accessKey, f.accessToken = ak["id"].(string), ak["token"].(string)
	f.providerKey = e.createJSON("/ai/provider-keys", `{"providerId":"openai","name":"byok","value":"sk-customer-0123456789abcdef"}`)["id"].(string)
	f.provider = e.createJSON("/ai/providers", `{"providerId":"selfhosted","format":"openai","baseUrl":"`+e.fakeURL+`/v1","models":[{"id":"m1","pricing":{"input":"0.1","output":"0.2"}}]}`)["id"].(string)
	f.apiKey = e.createJSON("/ai/api-keys", `{"name":"automation"}`)["id"].(string)
	f.virtualModel = e.createJSON("/ai/virtual-models", `{"name":"house","models":["gpt-4o-mini"]}`)["id"].(string)
	e.expectAdmin("PATCH", "/ai/gateway-config", `{"maxOutputTokens":1000}`, 200, "")
	return f
}

func managementCases(f mgFixtures) []mgCase {
	auth := func(kv ...string) http.Header {
		h := hdrs(kv...)
		h.Set("Content-Type", "application/json")
		return h
	}
	long := strings.Repeat("a", 10_000)
	now := time.Now().UTC()
	from, to := url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)), url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339))
	window := "from=" + from + "&to=" + to
	purchase := func(amount string) string { return `{"accountId":"` + f.account + `","amount":` + amount + `}` }
	adjust := func(members string) string { return `{"accountId":"` + f.account + `",` + members + `}` }
	prov := func(members string) string {
		return `{"providerId":"vllm","format":"openai","baseUrl":"http://127.0.0.1:1/v1","models":[{"id":"m"}],` + members + `}`
	}
	provModel := func(pricing string) string {
		return `{"providerId":"vllm","format":"openai","baseUrl":"http://127.0.0.1:1/v1","models":[{"id":"m","pricing":` + pricing + `}]}`
	}
	const validKey = `{"name":"should-not-exist"}`
	ak, cfg, pk, apik, vm, acct := "/ai/access-keys/"+f.accessKey, "/ai/access-key-configurations/"+f.config,
		"/ai/provider-keys/"+f.providerKey, "/ai/api-keys/"+f.apiKey, "/ai/virtual-models/"+f.virtualModel, "/ai/accounts/"+f.account

	return []mgCase{
		// management keys
		{name: "auth/no key", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth(), status: 401},
		{name: "auth/empty bearer", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer "), status: 401},
		{name: "auth/scheme only", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer"), status: 401},
		{name: "auth/wrong key", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer cagm_nope"), status: 401},
		{name: "auth/access key as management key", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer "+f.accessToken), status: 401},
		{name: "auth/key without scheme", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", adminKey), status: 401},
		{name: "auth/basic", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Basic "+adminKey), status: 401},
		{name: "auth/key in x-api-key", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("X-Api-Key", adminKey), status: 401},
		{name: "auth/key with suffix", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer "+adminKey+"x"), status: 401},
		{name: "auth/key prefix", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer "+adminKey[:len(adminKey)-1]), status: 401},
		{name: "auth/two Authorization headers, valid first", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer "+adminKey, "Authorization", "Bearer cagm_forged"), status: 401},
		{name: "auth/two Authorization headers, valid last", method: "POST", path: "/ai/access-keys", body: validKey, hdr: auth("Authorization", "Bearer cagm_forged", "Authorization", "Bearer "+adminKey), status: 401},

		// paths and methods
		{name: "path/prefix only", method: "GET", path: "/ai/", status: 404},
		{name: "path/unknown resource", method: "GET", path: "/ai/nope", status: 404},
		{name: "path/unknown sub-resource", method: "GET", path: "/ai/credits/balance/x", status: 404},
		{name: "path/dot-dot slash id GET", method: "GET", path: "/ai/access-keys/..%2f", status: 404},
		{name: "path/dot-dot slash id PATCH", method: "PATCH", path: "/ai/access-keys/..%2f", body: `{"disabled":true}`, status: 404},
		{name: "path/dot-dot slash id DELETE", method: "DELETE", path: "/ai/access-keys/..%2f", status: 404},
		{name: "path/encoded dot-dot id", method: "DELETE", path: "/ai/accounts/%2e%2e", status: 404},
		{name: "path/encoded slash in id", method: "GET", path: "/ai/access-keys/" + url.PathEscape(f.accessKey+"/x"), status: 404},
		{name: "path/10k-character id GET", method: "GET", path: "/ai/access-keys/" + long, status: 404},
		{name: "path/10k-character id DELETE", method: "DELETE", path: "/ai/accounts/" + long, status: 404},
		{name: "path/10k-character id PATCH", method: "PATCH", path: "/ai/virtual-models/" + long, body: `{"description":"x"}`, status: 404},
		{name: "path/unicode id", method: "GET", path: "/ai/access-keys/" + url.PathEscape("ключ✓"), status: 404},
		{name: "path/unicode id PATCH", method: "PATCH", path: "/ai/access-key-configurations/" + url.PathEscape("設定"), body: `{"name":"x"}`, status: 404},
		{name: "path/NUL id", method: "DELETE", path: "/ai/provider-keys/%00", status: 404},
		{name: "path/id of another resource", method: "DELETE", path: "/ai/accounts/" + f.accessKey, status: 404},
		{name: "path/id in other case", method: "DELETE", path: "/ai/access-keys/" + strings.ToUpper(f.accessKey), status: 404},
		{name: "path/rotate unknown access key", method: "POST", path: "/ai/access-keys/ak_nope/rotate", body: `{}`, status: 404},
		{name: "path/rotate unknown provider key", method: "POST", path: "/ai/provider-keys/pk_nope/rotate", body: `{"value":"sk-new-0123456789abcdef"}`, status: 404},
		{name: "path/usage of dot-dot request", method: "GET", path: "/ai/usage/requests/%2e%2e", status: 404},
		{name: "method/PUT collection", method: "PUT", path: "/ai/accounts", body: `{"name":"x"}`, status: 405},
		{name: "method/DELETE collection", method: "DELETE", path: "/ai/access-keys", status: 405},
		{name: "method/POST on an item", method: "POST", path: acct, body: `{"name":"x"}`, status: 405},
		{name: "method/PUT on an item", method: "PUT", path: ak, body: `{"name":"x"}`, status: 405},
		{name: "method/PATCH balance", method: "PATCH", path: "/ai/credits/balance?accountId=" + f.account, body: `{"balance":"1000"}`, status: 405},
		{name: "method/GET purchases", method: "GET", path: "/ai/credits/purchases", status: 405},
		{name: "method/DELETE transactions", method: "DELETE", path: "/ai/credits/transactions?accountId=" + f.account, status: 405},
		{name: "method/DELETE gateway config", method: "DELETE", path: "/ai/gateway-config", status: 405},
		{name: "method/POST usage", method: "POST", path: "/ai/usage", body: `{}`, status: 405},
		{name: "method/DELETE a built-in model list", method: "DELETE", path: "/ai/models", status: 405},

		// bodies (POST /ai/access-keys takes {}: anything it accepts creates a key)
		{name: "body/truncated JSON", method: "POST", path: "/ai/access-keys", body: `{"name":`, status: 400, field: "body"},
		{name: "body/top-level array", method: "POST", path: "/ai/access-keys", body: `[` + validKey + `]`, status: 400, field: "body"},
		{name: "body/top-level string", method: "POST", path: "/ai/access-keys", body: `"k"`, status: 400, field: "body"},
		{name: "body/top-level number", method: "POST", path: "/ai/access-keys", body: `1`, status: 400, field: "body"},
		{name: "body/top-level null", method: "POST", path: "/ai/access-keys", body: `null`, status: 400, field: "body"},
		{name: "body/top-level null on accounts", method: "POST", path: "/ai/accounts", body: `null`, status: 400, field: "body"},
		{name: "body/trailing garbage", method: "POST", path: "/ai/access-keys", body: validKey + `x`, status: 400, field: "body"},
		{name: "body/two objects", method: "POST", path: "/ai/access-keys", body: validKey + validKey, status: 400, field: "body"},
		{name: "body/duplicate member", method: "POST", path: "/ai/access-keys", body: `{"name":"a","name":"b"}`, status: 400, field: "name"},
		{name: "body/duplicate member on purchase", method: "POST", path: "/ai/credits/purchases", body: `{"accountId":"` + f.account + `","amount":"5","amount":"50"}`, status: 400, field: "amount"},
		{name: "body/member differing in case", method: "POST", path: "/ai/access-keys", body: `{"name":"a","NAME":"b"}`, status: 400, field: "NAME"},
		{name: "body/100k nested arrays", method: "POST", path: "/ai/access-keys", body: `{"name":` + nested("[", "]", 100_000) + `}`, status: 400},
		{name: "body/over 1 MiB", method: "POST", path: "/ai/access-keys", body: `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, status: 413},
		{name: "body/invalid UTF-8", method: "POST", path: "/ai/access-keys", body: "{\"name\":\"k\xff\xfe\"}", status: 400, field: "body"},
		{name: "body/raw control character", method: "POST", path: "/ai/access-keys", body: "{\"name\":\"k\x01\"}", status: 400},
		{name: "body/form-encoded", method: "POST", path: "/ai/access-keys", body: `name=k`, hdr: auth("Authorization", "Bearer "+adminKey, "Content-Type", "application/x-www-form-urlencoded"), status: 400},

		// access keys
		{name: "access-keys/name as number", method: "POST", path: "/ai/access-keys", body: `{"name":5}`, status: 400, field: "name"},
		{name: "access-keys/name of 256 characters", method: "POST", path: "/ai/access-keys", body: `{"name":"` + strings.Repeat("n", 256) + `"}`, status: 400, field: "name"},
		{name: "access-keys/disabled as string", method: "POST", path: "/ai/access-keys", body: `{"disabled":"true"}`, status: 400, field: "disabled"},
		{name: "access-keys/expiresAt garbage", method: "POST", path: "/ai/access-keys", body: `{"expiresAt":"tomorrow"}`, status: 400, field: "expiresAt"},
		{name: "access-keys/expiresAt as number", method: "POST", path: "/ai/access-keys", body: `{"expiresAt":1893456000}`, status: 400, field: "expiresAt"},
		{name: "access-keys/expiresAt in the past", method: "POST", path: "/ai/access-keys", body: `{"expiresAt":"2001-01-01T00:00:00Z"}`, status: 400, field: "expiresAt"},
		{name: "access-keys/metadata as object", method: "POST", path: "/ai/access-keys", body: `{"metadata":{"team":"a"}}`, status: 400, field: "metadata"},
		{name: "access-keys/accountId as number", method: "POST", path: "/ai/access-keys", body: `{"accountId":1}`, status: 400, field: "accountId"},
		{name: "access-keys/unknown accountId", method: "POST", path: "/ai/access-keys", body: `{"accountId":"acct_nope"}`, status: 400, field: "accountId"},
		{name: "access-keys/unknown configuration", method: "POST", path: "/ai/access-keys", body: `{"accessKeyConfigurationId":"akc_nope"}`, status: 400, field: "accessKeyConfigurationId"},
		{name: "access-keys/token given", method: "POST", path: "/ai/access-keys", body: `{"token":"cag_mine"}`, status: 400, field: "token"},
		{name: "access-keys/id given", method: "POST", path: "/ai/access-keys", body: `{"id":"ak_mine"}`, status: 400, field: "id"},
		{name: "access-keys/unknown field", method: "POST", path: "/ai/access-keys", body: `{"bogus":1}`, status: 400, field: "bogus"},
		{name: "access-keys/PATCH disabled as string", method: "PATCH", path: ak, body: `{"disabled":"yes"}`, status: 400, field: "disabled"},
		{name: "access-keys/PATCH unknown accountId", method: "PATCH", path: ak, body: `{"accountId":"acct_nope"}`, status: 400, field: "accountId"},
		{name: "access-keys/PATCH keyRedacted", method: "PATCH", path: ak, body: `{"keyRedacted":"cag_x"}`, status: 400, field: "keyRedacted"},
		{name: "access-keys/PATCH valid and invalid together", method: "PATCH", path: ak, body: `{"name":"renamed","disabled":"yes"}`, status: 400, field: "disabled"},
		{name: "access-keys/rotate gracePeriod garbage", method: "POST", path: ak + "/rotate", body: `{"gracePeriod":"forever"}`, status: 400, field: "gracePeriod"},
		{name: "access-keys/rotate gracePeriod negative", method: "POST", path: ak + "/rotate", body: `{"gracePeriod":"-1h"}`, status: 400, field: "gracePeriod"},
		{name: "access-keys/rotate gracePeriod over 720h", method: "POST", path: ak + "/rotate", body: `{"gracePeriod":"721h"}`, status: 400, field: "gracePeriod"},
		{name: "access-keys/rotate gracePeriod overflowing", method: "POST", path: ak + "/rotate", body: `{"gracePeriod":"9999999999h"}`, status: 400, field: "gracePeriod"},
		{name: "access-keys/rotate gracePeriod 1e30 seconds", method: "POST", path: ak + "/rotate", body: `{"gracePeriod":1e30}`, status: 400, field: "gracePeriod"},
		{name: "access-keys/rotate unknown field", method: "POST", path: ak + "/rotate", body: `{"grace":"1h"}`, status: 400, field: "grace"},

		// access key configurations
		{name: "configurations/access as string", method: "POST", path: "/ai/access-key-configurations", body: `{"access":"all"}`, status: 400, field: "access"},
		{name: "configurations/models.allow as string", method: "POST", path: "/ai/access-key-configurations", body: `{"access":{"models":{"allow":"gpt-4o"}}}`, status: 400, field: "access"},
		{name: "configurations/models.allow of numbers", method: "POST", path: "/ai/access-key-configurations", body: `{"access":{"models":{"allow":[1]}}}`, status: 400, field: "access"},
		{name: "configurations/models.allow empty name", method: "POST", path: "/ai/access-key-configurations", body: `{"access":{"models":{"allow":[" "]}}}`, status: 400, field: "access.models.allow[0]"},
		{name: "configurations/unknown nested field", method: "POST", path: "/ai/access-key-configurations", body: `{"access":{"models":{"deny":["gpt-4o"]}}}`, status: 400, field: "deny"},
		{name: "configurations/unknown provider allowed", method: "POST", path: "/ai/access-key-configurations", body: `{"access":{"providers":{"allow":["nobody"]}}}`, status: 400, field: "access.providers.allow[0]"},
		{name: "configurations/rules as object", method: "POST", path: "/ai/access-key-configurations", body: `{"router":{"rules":{"provider":"openai"}}}`, status: 400, field: "router"},
		{name: "configurations/step of unknown type", method: "POST", path: "/ai/access-key-configurations", body: `{"router":{"rules":[{"provider":"openai","steps":[{"type":"mystery"}]}]}}`, status: 400, field: "type"},
		{name: "configurations/step with unknown key", method: "POST", path: "/ai/access-key-configurations", body: `{"router":{"rules":[{"provider":"openai","steps":[{"type":"user","keys":["pk_nope"]}]}]}}`, status: 400, field: "keys[0]"},
		{name: "configurations/modelSelection as string", method: "POST", path: "/ai/access-key-configurations", body: `{"modelSelection":"cheapest"}`, status: 400, field: "modelSelection"},
		{name: "configurations/modelSelection not CEL", method: "POST", path: "/ai/access-key-configurations", body: `{"modelSelection":["ai.models.filter(m, "]}`, status: 400, field: "modelSelection[0]"},
		{name: "configurations/requestsPerMinute negative", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"requestsPerMinute":-1}}`, status: 400, field: "limits"},
		{name: "configurations/requestsPerMinute as string", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"requestsPerMinute":"10"}}`, status: 400, field: "limits"},
		{name: "configurations/requestsPerMinute 1e30", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"requestsPerMinute":1e30}}`, status: 400, field: "limits"},
		{name: "configurations/tokensPerMinute as float", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"tokensPerMinute":1.5}}`, status: 400, field: "limits"},
		{name: "configurations/spendPerDay garbage", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"spendPerDay":"abc"}}`, status: 400, field: "limits"},
		{name: "configurations/spendPerDay 1e3", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"spendPerDay":"1e3"}}`, status: 400, field: "limits"},
		{name: "configurations/spendPerDay as number", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"spendPerDay":5}}`, status: 400, field: "limits"},
		{name: "configurations/spendPerDay negative", method: "POST", path: "/ai/access-key-configurations", body: `{"limits":{"spendPerDay":"-1"}}`, status: 400, field: "limits"},
		{name: "configurations/PATCH name as array", method: "PATCH", path: cfg, body: `{"name":["a"]}`, status: 400, field: "name"},
		{name: "configurations/PATCH limits overflow", method: "PATCH", path: cfg, body: `{"limits":{"requestsPerMinute":9223372036854775808}}`, status: 400, field: "limits"},

		// providers
		{name: "providers/providerId as number", method: "POST", path: "/ai/providers", body: `{"providerId":5,"format":"openai","baseUrl":"http://127.0.0.1:1/v1"}`, status: 400, field: "providerId"},
		{name: "providers/no providerId", method: "POST", path: "/ai/providers", body: `{"format":"openai","baseUrl":"http://127.0.0.1:1/v1"}`, status: 400, field: "providerId"},
		{name: "providers/providerId with colon", method: "POST", path: "/ai/providers", body: `{"providerId":"my:prov","format":"openai","baseUrl":"http://127.0.0.1:1/v1"}`, status: 400, field: "providerId"},
		{name: "providers/providerId of a built-in", method: "POST", path: "/ai/providers", body: `{"providerId":"openai","format":"openai","baseUrl":"http://127.0.0.1:1/v1"}`, status: 400, field: "providerId"},
		{name: "providers/providerId already used", method: "POST", path: "/ai/providers", body: `{"providerId":"selfhosted","format":"openai","baseUrl":"http://127.0.0.1:1/v1"}`, status: 409, field: "selfhosted"},
		{name: "providers/format unknown", method: "POST", path: "/ai/providers", body: `{"providerId":"vllm","format":"grpc","baseUrl":"http://127.0.0.1:1/v1"}`, status: 400, field: "format"},
		{name: "providers/baseUrl ftp", method: "POST", path: "/ai/providers", body: `{"providerId":"vllm","format":"openai","baseUrl":"ftp://127.0.0.1/v1"}`, status: 400, field: "baseUrl"},
		{name: "providers/baseUrl not a URL", method: "POST", path: "/ai/providers", body: `{"providerId":"vllm","format":"openai","baseUrl":"not a url"}`, status: 400, field: "baseUrl"},
		{name: "providers/models as object", method: "POST", path: "/ai/providers", body: `{"providerId":"vllm","format":"openai","baseUrl":"http://127.0.0.1:1/v1","models":{"id":"m"}}`, status: 400, field: "models"},
		{name: "providers/negative price", method: "POST", path: "/ai/providers", body: provModel(`{"input":"-1","output":"0"}`), status: 400, field: "models"},
		{name: "providers/price garbage", method: "POST", path: "/ai/providers", body: provModel(`{"input":"abc","output":"0"}`), status: 400, field: "models"},
		{name: "providers/price as number", method: "POST", path: "/ai/providers", body: provModel(`{"input":0.1,"output":"0"}`), status: 400, field: "models"},
		{name: "providers/price 1e3", method: "POST", path: "/ai/providers", body: provModel(`{"input":"1e3","output":"0"}`), status: 400, field: "models"},
		{name: "providers/unknown field", method: "POST", path: "/ai/providers", body: prov(`"bogus":1`), status: 400, field: "bogus"},
		{name: "providers/PATCH a built-in", method: "PATCH", path: "/ai/providers/openai", body: `{"name":"x"}`, status: 400, field: "read-only"},
		{name: "providers/PATCH providerId", method: "PATCH", path: "/ai/providers/" + f.provider, body: `{"providerId":"other"}`, status: 400, field: "providerId"},
		{name: "providers/PATCH format garbage", method: "PATCH", path: "/ai/providers/" + f.provider, body: `{"format":1}`, status: 400, field: "format"},

		// provider keys
		{name: "provider-keys/unknown provider", method: "POST", path: "/ai/provider-keys", body: `{"providerId":"nobody","value":"sk-0123456789abcdef"}`, status: 400, field: "providerId"},
		{name: "provider-keys/no provider", method: "POST", path: "/ai/provider-keys", body: `{"value":"sk-0123456789abcdef"}`, status: 400, field: "providerId"},
		{name: "provider-keys/no value", method: "POST", path: "/ai/provider-keys", body: `{"providerId":"openai"}`, status: 400, field: "value"},
		{name: "provider-keys/empty value", method: "POST", path: "/ai/provider-keys", body: `{"providerId":"openai","value":""}`, status: 400, field: "value"},
		{name: "provider-keys/value as number", method: "POST", path: "/ai/provider-keys", body: `{"providerId":"openai","value":12345678901234567890}`, status: 400, field: "value"},
		{name: "provider-keys/unknown accountId", method: "POST", path: "/ai/provider-keys", body: `{"providerId":"openai","value":"sk-0123456789abcdef","accountId":"acct_nope"}`, status: 400, field: "accountId"},
		{name: "provider-keys/PATCH value", method: "PATCH", path: pk, body: `{"value":"sk-new-0123456789abcdef"}`, status: 400, field: "rotate"},
		{name: "provider-keys/PATCH providerId", method: "PATCH", path: pk, body: `{"providerId":"anthropic"}`, status: 400, field: "providerId"},
		{name: "provider-keys/rotate without value", method: "POST", path: pk + "/rotate", body: `{}`, status: 400, field: "value"},
		{name: "provider-keys/rotate value as number", method: "POST", path: pk + "/rotate", body: `{"value":5}`, status: 400, field: "value"},

		// API keys
		{name: "api-keys/name as number", method: "POST", path: "/ai/api-keys", body: `{"name":1}`, status: 400, field: "name"},
		{name: "api-keys/token given", method: "POST", path: "/ai/api-keys", body: `{"token":"cagm_mine"}`, status: 400, field: "token"},
		{name: "api-keys/unknown field", method: "POST", path: "/ai/api-keys", body: `{"scopes":["all"]}`, status: 400, field: "scopes"},
		{name: "api-keys/PATCH description as object", method: "PATCH", path: apik, body: `{"description":{}}`, status: 400, field: "description"},

		// gateway config
		{name: "gateway-config/perRequestTimeout zero", method: "PATCH", path: "/ai/gateway-config", body: `{"perRequestTimeout":"0s"}`, status: 400, field: "perRequestTimeout"},
		{name: "gateway-config/perRequestTimeout garbage", method: "PATCH", path: "/ai/gateway-config", body: `{"perRequestTimeout":"soon"}`, status: 400, field: "perRequestTimeout"},
		{name: "gateway-config/perRequestTimeout negative number", method: "PATCH", path: "/ai/gateway-config", body: `{"perRequestTimeout":-5}`, status: 400, field: "perRequestTimeout"},
		{name: "gateway-config/totalTimeout 1e30 seconds", method: "PATCH", path: "/ai/gateway-config", body: `{"totalTimeout":1e30}`, status: 400, field: "totalTimeout"},
		{name: "gateway-config/totalTimeout below perRequestTimeout", method: "PATCH", path: "/ai/gateway-config", body: `{"perRequestTimeout":"30s","totalTimeout":"10s"}`, status: 400, field: "totalTimeout"},
		{name: "gateway-config/maxInputTokens negative", method: "PATCH", path: "/ai/gateway-config", body: `{"maxInputTokens":-1}`, status: 400, field: "maxInputTokens"},
		{name: "gateway-config/maxInputTokens as string", method: "PATCH", path: "/ai/gateway-config", body: `{"maxInputTokens":"5"}`, status: 400, field: "maxInputTokens"},
		{name: "gateway-config/maxOutputTokens as float", method: "PATCH", path: "/ai/gateway-config", body: `{"maxOutputTokens":1.5}`, status: 400, field: "maxOutputTokens"},
		{name: "gateway-config/maxOutputTokens zero", method: "PATCH", path: "/ai/gateway-config", body: `{"maxOutputTokens":0}`, status: 400, field: "maxOutputTokens"},
		{name: "gateway-config/maxOutputTokens 2^63", method: "PATCH", path: "/ai/gateway-config", body: `{"maxOutputTokens":9223372036854775808}`, status: 400, field: "maxOutputTokens"},
		{name: "gateway-config/minPurchase negative", method: "PATCH", path: "/ai/gateway-config", body: `{"minPurchase":"-1"}`, status: 400, field: "minPurchase"},
		{name: "gateway-config/minPurchase 1e3", method: "PATCH", path: "/ai/gateway-config", body: `{"minPurchase":"1e3"}`, status: 400, field: "minPurchase"},
		{name: "gateway-config/processingFee negative", method: "PATCH", path: "/ai/gateway-config", body: `{"processingFee":"-0.5"}`, status: 400, field: "processingFee"},
		{name: "gateway-config/creditLifetime too short", method: "PATCH", path: "/ai/gateway-config", body: `{"creditLifetime":"1s"}`, status: 400, field: "creditLifetime"},
		{name: "gateway-config/lowBalanceWebhook ftp", method: "PATCH", path: "/ai/gateway-config", body: `{"lowBalanceWebhook":"ftp://example.com/hook"}`, status: 400, field: "lowBalanceWebhook"},
		{name: "gateway-config/lowBalanceThresholds not a list", method: "PATCH", path: "/ai/gateway-config", body: `{"lowBalanceThresholds":"5"}`, status: 400, field: "lowBalanceThresholds"},
		{name: "gateway-config/unknown field", method: "PATCH", path: "/ai/gateway-config", body: `{"maxRequestBody":1}`, status: 400, field: "maxRequestBody"},
		{name: "gateway-config/valid and invalid together", method: "PATCH", path: "/ai/gateway-config", body: `{"maxOutputTokens":5,"maxInputTokens":-1}`, status: 400, field: "maxInputTokens"},

		// virtual models
		{name: "virtual-models/name as number", method: "POST", path: "/ai/virtual-models", body: `{"name":1,"models":["gpt-4o"]}`, status: 400, field: "name"},
		{name: "virtual-models/no name", method: "POST", path: "/ai/virtual-models", body: `{"models":["gpt-4o"]}`, status: 400, field: "name"},
		{name: "virtual-models/name with colon", method: "POST", path: "/ai/virtual-models", body: `{"name":"a:b","models":["gpt-4o"]}`, status: 400, field: "name"},
		{name: "virtual-models/name of a catalog model", method: "POST", path: "/ai/virtual-models", body: `{"name":"gpt-4o","models":["gpt-4o-mini"]}`, status: 400, field: "name"},
		{name: "virtual-models/models as string", method: "POST", path: "/ai/virtual-models", body: `{"name":"vm2","models":"gpt-4o"}`, status: 400, field: "models"},
		{name: "virtual-models/no models", method: "POST", path: "/ai/virtual-models", body: `{"name":"vm2","models":[]}`, status: 400, field: "models"},
		{name: "virtual-models/11 models", method: "POST", path: "/ai/virtual-models", body: `{"name":"vm2","models":["a","b","c","d","e","f","g","h","i","j","k"]}`, status: 400, field: "models"},
		{name: "virtual-models/empty model name", method: "POST", path: "/ai/virtual-models", body: `{"name":"vm2","models":[""]}`, status: 400, field: "models[0]"},
		{name: "virtual-models/PATCH models of numbers", method: "PATCH", path: vm, body: `{"models":[1]}`, status: 400, field: "models"},

		// accounts
		{name: "accounts/name as number", method: "POST", path: "/ai/accounts", body: `{"name":1}`, status: 400, field: "name"},
		{name: "accounts/id given", method: "POST", path: "/ai/accounts", body: `{"id":"acct_mine","name":"x"}`, status: 400, field: "id"},
		{name: "accounts/balance given", method: "POST", path: "/ai/accounts", body: `{"name":"x","balance":"1000"}`, status: 400, field: "balance"},
		{name: "accounts/name of 256 characters", method: "POST", path: "/ai/accounts", body: `{"name":"` + strings.Repeat("n", 256) + `"}`, status: 400, field: "name"},
		{name: "accounts/PATCH metadata as object", method: "PATCH", path: acct, body: `{"metadata":{"a":1}}`, status: 400, field: "metadata"},
		{name: "accounts/PATCH default unknown field", method: "PATCH", path: "/ai/accounts/default", body: `{"credits":"1000"}`, status: 400, field: "credits"},

		// credit purchases
		{name: "purchases/9223372036.00", method: "POST", path: "/ai/credits/purchases", body: purchase(`"9223372036.00"`), status: 400, field: "amount"},
		{name: "purchases/int64 max nano", method: "POST", path: "/ai/credits/purchases", body: purchase(`"9223372036.854775807"`), status: 400, field: "amount"},
		{name: "purchases/past int64", method: "POST", path: "/ai/credits/purchases", body: purchase(`"9223372036.854775808"`), status: 400, field: "amount"},
		{name: "purchases/9223372037", method: "POST", path: "/ai/credits/purchases", body: purchase(`"9223372037"`), status: 400, field: "amount"},
		{name: "purchases/above the maximum", method: "POST", path: "/ai/credits/purchases", body: purchase(`"100000.01"`), status: 400, field: "amount"},
		{name: "purchases/exponent", method: "POST", path: "/ai/credits/purchases", body: purchase(`"1e3"`), status: 400, field: "amount"},
		{name: "purchases/plus sign", method: "POST", path: "/ai/credits/purchases", body: purchase(`"+5"`), status: 400, field: "amount"},
		{name: "purchases/negative", method: "POST", path: "/ai/credits/purchases", body: purchase(`"-5"`), status: 400, field: "amount"},
		{name: "purchases/ten decimals", method: "POST", path: "/ai/credits/purchases", body: purchase(`"5.0000000001"`), status: 400, field: "amount"},
		{name: "purchases/leading space", method: "POST", path: "/ai/credits/purchases", body: purchase(`" 5"`), status: 400, field: "amount"},
		{name: "purchases/trailing space", method: "POST", path: "/ai/credits/purchases", body: purchase(`"5 "`), status: 400, field: "amount"},
		{name: "purchases/number", method: "POST", path: "/ai/credits/purchases", body: purchase(`5`), status: 400, field: "amount"},
		{name: "purchases/empty string", method: "POST", path: "/ai/credits/purchases", body: purchase(`""`), status: 400, field: "amount"},
		{name: "purchases/null", method: "POST", path: "/ai/credits/purchases", body: purchase(`null`), status: 400, field: "amount"},
		{name: "purchases/missing", method: "POST", path: "/ai/credits/purchases", body: `{"accountId":"` + f.account + `"}`, status: 400, field: "amount"},
		{name: "purchases/two points", method: "POST", path: "/ai/credits/purchases", body: purchase(`"5.00.00"`), status: 400, field: "amount"},
		{name: "purchases/hexadecimal", method: "POST", path: "/ai/credits/purchases", body: purchase(`"0x10"`), status: 400, field: "amount"},
		{name: "purchases/NaN", method: "POST", path: "/ai/credits/purchases", body: purchase(`"NaN"`), status: 400, field: "amount"},
		{name: "purchases/decimal comma", method: "POST", path: "/ai/credits/purchases", body: purchase(`"5,00"`), status: 400, field: "amount"},
		{name: "purchases/fullwidth digit", method: "POST", path: "/ai/credits/purchases", body: purchase(`"５"`), status: 400, field: "amount"},
		{name: "purchases/currency sign", method: "POST", path: "/ai/credits/purchases", body: purchase(`"$5"`), status: 400, field: "amount"},
		{name: "purchases/below the minimum", method: "POST", path: "/ai/credits/purchases", body: purchase(`"4.99"`), status: 400, field: "amount"},
		{name: "purchases/no account", method: "POST", path: "/ai/credits/purchases", body: `{"amount":"5"}`, status: 400, field: "accountId"},
		{name: "purchases/unknown account", method: "POST", path: "/ai/credits/purchases", body: `{"accountId":"acct_nope","amount":"5"}`, status: 400, field: "accountId"},
		{name: "purchases/unknown field", method: "POST", path: "/ai/credits/purchases", body: `{"accountId":"` + f.account + `","amount":"5","currency":"EUR"}`, status: 400, field: "currency"},
		{name: "purchases/Idempotency-Key of 256 characters", method: "POST", path: "/ai/credits/purchases", body: purchase(`"5"`),
			hdr: auth("Authorization", "Bearer "+adminKey, "Idempotency-Key", strings.Repeat("k", 256)), status: 400, field: "Idempotency-Key"},

		// credit adjustments
		{name: "adjustments/zero", method: "POST", path: "/ai/credits/adjustments", body: adjust(`"amount":"0"`), status: 400, field: "amount"},
		{name: "adjustments/unknown type", method: "POST", path: "/ai/credits/adjustments", body: adjust(`"type":"gift","amount":"1"`), status: 400, field: "type"},
		{name: "adjustments/exponent", method: "POST", path: "/ai/credits/adjustments", body: adjust(`"amount":"1e3"`), status: 400, field: "amount"},
		{name: "adjustments/past int64", method: "POST", path: "/ai/credits/adjustments", body: adjust(`"amount":"9223372036.854775808"`), status: 400, field: "amount"},
		{name: "adjustments/below -int64", method: "POST", path: "/ai/credits/adjustments", body: adjust(`"amount":"-9223372037"`), status: 400, field: "amount"},
		{name: "adjustments/overflowing the balance", method: "POST", path: "/ai/credits/adjustments", body: adjust(`"amount":"9223372036.854775807"`), status: 400, field: "amount"},
		{name: "adjustments/number", method: "POST", path: "/ai/credits/adjustments", body: adjust(`"amount":1`), status: 400, field: "amount"},
		{name: "adjustments/unknown account", method: "POST", path: "/ai/credits/adjustments", body: `{"accountId":"acct_nope","amount":"1"}`, status: 400, field: "accountId"},

		// balance and transactions
		{name: "balance/no accountId", method: "GET", path: "/ai/credits/balance", status: 400, field: "accountId"},
		{name: "balance/unknown accountId", method: "GET", path: "/ai/credits/balance?accountId=acct_nope", status: 400, field: "accountId"},
		{name: "transactions/no accountId", method: "GET", path: "/ai/credits/transactions", status: 400, field: "accountId"},
		{name: "transactions/limit -1", method: "GET", path: "/ai/credits/transactions?accountId=" + f.account + "&limit=-1", status: 400, field: "limit"},
		{name: "transactions/limit abc", method: "GET", path: "/ai/credits/transactions?accountId=" + f.account + "&limit=abc", status: 400, field: "limit"},
		{name: "transactions/limit 0", method: "GET", path: "/ai/credits/transactions?accountId=" + f.account + "&limit=0", status: 400, field: "limit"},
		{name: "transactions/limit 101", method: "GET", path: "/ai/credits/transactions?accountId=" + f.account + "&limit=101", status: 400, field: "limit"},
		{name: "transactions/limit 1e2", method: "GET", path: "/ai/credits/transactions?accountId=" + f.account + "&limit=1e2", status: 400, field: "limit"},

		// list paging
		{name: "lists/accounts limit -1", method: "GET", path: "/ai/accounts?limit=-1", status: 400, field: "limit"},
		{name: "lists/access keys limit abc", method: "GET", path: "/ai/access-keys?limit=abc", status: 400, field: "limit"},
		{name: "lists/virtual models limit 0", method: "GET", path: "/ai/virtual-models?limit=0", status: 400, field: "limit"},
		{name: "lists/provider keys limit past int64", method: "GET", path: "/ai/provider-keys?limit=99999999999999999999", status: 400, field: "limit"},
		{name: "lists/configurations limit 101", method: "GET", path: "/ai/access-key-configurations?limit=101", status: 400, field: "limit"},

		// usage
		{name: "usage/no range", method: "GET", path: "/ai/usage", status: 400, field: "from"},
		{name: "usage/startTime garbage", method: "GET", path: "/ai/usage?startTime=garbage", status: 400, field: "startTime"},
		{name: "usage/from garbage", method: "GET", path: "/ai/usage?from=garbage&to=" + to, status: 400, field: "from"},
		{name: "usage/from as unix time", method: "GET", path: "/ai/usage?from=1700000000&to=" + to, status: 400, field: "from"},
		{name: "usage/to before from", method: "GET", path: "/ai/usage?from=" + to + "&to=" + from, status: 400, field: "to"},
		{name: "usage/limit -1", method: "GET", path: "/ai/usage?" + window + "&limit=-1", status: 400, field: "limit"},
		{name: "usage/limit abc", method: "GET", path: "/ai/usage?" + window + "&limit=abc", status: 400, field: "limit"},
		{name: "usage/includeRetries maybe", method: "GET", path: "/ai/usage?" + window + "&includeRetries=maybe", status: 400, field: "includeRetries"},
		{name: "usage/from twice", method: "GET", path: "/ai/usage?" + window + "&from=" + from, status: 400, field: "from"},
		{name: "usage/unknown beforeId", method: "GET", path: "/ai/usage?" + window + "&beforeId=ue_nope", status: 400, field: "beforeId"},
		{name: "usage/malformed query", method: "GET", path: "/ai/usage?" + window + "&x=%zz", status: 400},
		{name: "usage/overview bucket minute", method: "GET", path: "/ai/usage/overview?" + window + "&bucket=minute", status: 400, field: "bucket"},
		{name: "usage/overview groupBy color", method: "GET", path: "/ai/usage/overview?" + window + "&groupBy=color", status: 400, field: "groupBy"},
		{name: "usage/overview over a year", method: "GET", path: "/ai/usage/overview?from=2000-01-01T00:00:00Z&to=" + to, status: 400, field: "to"},
		{name: "usage/overview hours over a month", method: "GET", path: "/ai/usage/overview?from=2000-01-01T00:00:00Z&to=2000-03-01T00:00:00Z&bucket=hour", status: 400, field: "to"},
		{name: "usage/request with a query", method: "GET", path: "/ai/usage/requests/req_x?verbose=1", status: 400, field: "verbose"},
	}
}

// sendAdmin sends one raw management call.
func (e *env) sendAdmin(c mgCase) (*http.Response, []byte) {
	e.t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, "http://"+e.adminAddr+c.path, body)
	if err != nil {
		e.t.Fatalf("%s %q: %v", c.method, c.path, err)
	}
	if c.hdr != nil {
		req.Header = c.hdr
	} else {
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	return resp, readAll(e.t, resp)
}

func TestBadInputManagement(t *testing.T) {
	e := start(t, cfgOpts{})
	f := setupManagementFixtures(e)
	cases := managementCases(f)
	w := newWatch([]string{"default", f.account}, []string{
		"/ai/accounts?limit=100", "/ai/access-keys?limit=100", "/ai/access-key-configurations?limit=100", "/ai/providers",
		"/ai/provider-keys?limit=100", "/ai/api-keys?limit=100", "/ai/virtual-models?limit=100", "/ai/gateway-config",
	}, true)
	began := time.Now()
	base := e.sideEffects(w)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			resp, b := e.sendAdmin(c)
			if after := e.sideEffects(w); base.diff(after) != "" {
				t.Errorf("side effects: %.1000s (status %d %.300s)", base.diff(after), resp.StatusCode, b)
				base = after
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.400s", resp.StatusCode, c.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil || len(v) != 1 {
				t.Fatalf("not a management API error: %.400s", b)
			}
			msg, _ := v["error"].(string)
			if msg == "" {
				t.Fatalf("not a management API error: %.400s", b)
			}
			if c.field != "" && !strings.Contains(msg, c.field) {
				t.Errorf("error %q does not name %q", msg, c.field)
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
		e.t = t
	}
	t.Logf("%d cases in %v", len(cases), time.Since(began).Round(time.Millisecond))
}
