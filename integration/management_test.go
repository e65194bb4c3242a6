package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// createJSON POSTs a resource and returns its decoded answer.
func (e *env) createJSON(path, body string) map[string]any {
	e.t.Helper()
	st, b := e.admin("POST", path, body)
	if st != http.StatusCreated {
		e.t.Fatalf("POST %s %s: %d %s", path, body, st, b)
	}
	var v map[string]any
	mustJSON(e.t, b, &v)
	return v
}

func (e *env) expectAdmin(method, path, body string, status int, contains string) []byte {
	e.t.Helper()
	st, b := e.admin(method, path, body)
	if st != status || !strings.Contains(string(b), contains) {
		e.t.Fatalf("%s %s %s: got %d %s, want %d containing %q", method, path, body, st, b, status, contains)
	}
	return b
}

func (e *env) chat(token, model string, extra map[string]string) *http.Response {
	e.t.Helper()
	hdr := map[string]string{"Authorization": "Bearer " + token}
	for k, v := range extra {
		hdr[k] = v
	}
	return e.post("/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`, hdr)
}

// TestResourceConventions drives each simple resource through create,
// list with paging, get, patch (omitted kept, null cleared), delete and the
// 400/404 paths.
func TestResourceConventions(t *testing.T) {
	e := start(t, cfgOpts{})
	resources := []struct {
		path, list, create, patch, prefix string
	}{
		{"/ai/accounts", "accounts", `{"name":"acme","description":"d","metadata":"m"}`, `{"description":null}`, "acct_"},
		{"/ai/access-key-configurations", "accessKeyConfigurations", `{"name":"c","description":"d","access":{"models":{"allow":["gpt-4o-mini"]}}}`, `{"description":null}`, "akc_"},
		{"/ai/api-keys", "apiKeys", `{"name":"ci","description":"d"}`, `{"description":null}`, "apik_"},
		{"/ai/virtual-models", "virtualModels", `{"name":"smart","description":"d","models":["gpt-4o","gpt-4o-mini"]}`, `{"description":null}`, "vm_"},
		{"/ai/provider-keys", "providerKeys", `{"providerId":"openai","name":"byok","description":"d","value":"sk-customer-1234567890abcdef"}`, `{"description":null}`, "pk_"},
		{"/ai/providers", "providers", `{"providerId":"vllm","name":"vLLM","description":"d","format":"openai","baseUrl":"http://127.0.0.1:1/v1","models":[{"id":"m1","pricing":{"input":"0.1","output":"0.2"}}]}`, `{"description":null}`, "prov_"},
	}
	for _, r := range resources {
		t.Run(r.list, func(t *testing.T) {
			var ids []string
			for i := 0; i < 3; i++ {
				body := r.create
				if r.list == "virtualModels" || r.list == "providers" {
					body = strings.Replace(strings.Replace(body, `"smart"`, fmt.Sprintf(`"smart%d"`, i), 1), `"vllm"`, fmt.Sprintf(`"vllm%d"`, i), 1)
				}
				v := e.createJSON(r.path, body)
				id, _ := v["id"].(string)
				if !strings.HasPrefix(id, r.prefix) || v["uri"] != r.path+"/"+id || v["createdAt"] == nil || v["updatedAt"] == nil || v["description"] != "d" {
					t.Fatalf("create answer %v", v)
				}
				ids = append(ids, id)
			}
			if r.list == "providerKeys" {
				b := e.expectAdmin("GET", r.path+"/"+ids[0], "", 200, `"keyRedacted"`)
				if strings.Contains(string(b), "1234567890abcdef") || strings.Contains(string(b), "sealed") || strings.Contains(string(b), `"value"`) {
					t.Fatalf("provider key secret shown: %s", b)
				}
			}
			// paging
			if r.list != "providers" {
				var page struct {
					NextPageURI *string
				}
				b := e.expectAdmin("GET", r.path+"?limit=2", "", 200, ids[2])
				mustJSON(t, b, &page)
				if page.NextPageURI == nil {
					t.Fatalf("no next page: %s", b)
				}
				e.expectAdmin("GET", *page.NextPageURI, "", 200, ids[0])
			}
			// patch: null clears, omitted keeps
			b := e.expectAdmin("PATCH", r.path+"/"+ids[0], r.patch, 200, `"description":""`)
			if !strings.Contains(string(b), `"name":"`) || strings.Contains(string(b), `"name":""`) {
				t.Fatalf("patch lost the name: %s", b)
			}
			e.expectAdmin("PATCH", r.path+"/"+ids[0], `{"bogus":1}`, 400, "bogus")
			if r.list == "providerKeys" {
				e.expectAdmin("PATCH", r.path+"/"+ids[0], `{"value":"sk-new-secret-value-123456"}`, 400, "rotate")
			}
			e.expectAdmin("POST", r.path, `{"bogus":1}`, 400, "bogus")
			e.expectAdmin("GET", r.path+"/nope_0", "", 404, "not found")
			e.expectAdmin("DELETE", r.path+"/"+ids[1], "", 204, "")
			e.expectAdmin("GET", r.path+"/"+ids[1], "", 404, "")
			e.expectAdmin("DELETE", r.path+"/"+ids[1], "", 404, "")
		})
	}

	t.Run("management keys", func(t *testing.T) {
		v := e.createJSON("/ai/api-keys", `{"name":"automation"}`)
		token := v["token"].(string)
		if !strings.HasPrefix(token, "cagm_") {
			t.Fatalf("token %q", token)
		}
		if st, _ := e.adminWith("Bearer "+token, "GET", "/ai/accounts", ""); st != 200 {
			t.Fatalf("new API key refused: %d", st)
		}
		e.expectAdmin("DELETE", "/ai/api-keys/"+v["id"].(string), "", 204, "")
		if st, _ := e.adminWith("Bearer "+token, "GET", "/ai/accounts", ""); st != 401 {
			t.Fatalf("deleted API key still works: %d", st)
		}
		// bootstrap admin_key still works
		e.expectAdmin("GET", "/ai/accounts", "", 200, `"default"`)
	})

	t.Run("references", func(t *testing.T) {
		acct := e.createJSON("/ai/accounts", `{"name":"held"}`)["id"].(string)
		cfg := e.createJSON("/ai/access-key-configurations", `{"name":"x"}`)["id"].(string)
		e.expectAdmin("POST", "/ai/access-keys", `{"accountId":"acct_nope"}`, 400, "accountId")
		e.expectAdmin("POST", "/ai/access-keys", `{"accessKeyConfigurationId":"akc_nope"}`, 400, "accessKeyConfigurationId")
		k := e.createJSON("/ai/access-keys", `{"accountId":"`+acct+`","accessKeyConfigurationId":"`+cfg+`"}`)["id"].(string)
		e.expectAdmin("DELETE", "/ai/accounts/"+acct, "", 409, k)
		e.expectAdmin("DELETE", "/ai/access-key-configurations/"+cfg, "", 409, k)
		e.expectAdmin("DELETE", "/ai/accounts/default", "", 409, "default")
		pk := e.createJSON("/ai/provider-keys", `{"providerId":"openai","value":"sk-customer-abcdefghijklmnop"}`)["id"].(string)
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"router":{"rules":[{"provider":"openai","steps":[{"type":"user","keys":[{"id":"`+pk+`"}]}]}]}}`, 200, pk)
		e.expectAdmin("DELETE", "/ai/provider-keys/"+pk, "", 409, cfg)
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"router":{"rules":[{"provider":"anthropic","steps":[{"type":"user","keys":["`+pk+`"]}]}]}}`, 400, "is for openai")
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"router":{"rules":[{"provider":"openai","steps":[{"type":"mystery"}]}]}}`, 400, "type")
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"access":{"providers":{"allow":["nobody"]}}}`, 400, "access.providers.allow[0]")
		e.expectAdmin("POST", "/ai/providers", `{"providerId":"openai","format":"openai","baseUrl":"http://x"}`, 400, "built-in")
		e.expectAdmin("POST", "/ai/providers", `{"providerId":"x","format":"grpc","baseUrl":"http://x"}`, 400, "format")
		e.expectAdmin("POST", "/ai/providers", `{"providerId":"x","format":"openai","baseUrl":"ftp://x"}`, 400, "baseUrl")
		e.expectAdmin("PATCH", "/ai/providers/openai", `{"name":"x"}`, 400, "read-only")
		e.expectAdmin("DELETE", "/ai/providers/openai", "", 409, "cannot be deleted")
		e.expectAdmin("POST", "/ai/virtual-models", `{"name":"gpt-4o","models":["gpt-4o-mini"]}`, 400, "catalog model")
		e.expectAdmin("POST", "/ai/virtual-models", `{"name":"big","models":["a","b","c","d","e","f","g","h","i","j","k"]}`, 400, "models")
		e.expectAdmin("PATCH", "/ai/gateway-config", `{"perRequestTimeout":"0s"}`, 400, "perRequestTimeout")
	})
}

// TestGatewayObeysManagementChanges: every change applies to the next
// request, without a reload.
func TestGatewayObeysManagementChanges(t *testing.T) {
	e := start(t, cfgOpts{})
	cfg := e.createJSON("/ai/access-key-configurations", `{"name":"team"}`)["id"].(string)
	key := e.createJSON("/ai/access-keys", `{"name":"team","accessKeyConfigurationId":"`+cfg+`"}`)
	token, keyID := key["token"].(string), key["id"].(string)
	status := func(resp *http.Response) int { readAll(t, resp); return resp.StatusCode }

	if s := status(e.chat(token, "gpt-4o-mini", nil)); s != 200 {
		t.Fatalf("unrestricted configuration: %d", s)
	}

	t.Run("model allow list", func(t *testing.T) {
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"access":{"models":{"allow":["gpt-4o-mini","anthropic:claude-haiku-4-5"]}}}`, 200, "")
		resp := e.chat(token, "gpt-4o", nil)
		b := readAll(t, resp)
		var v openAIError
		mustJSON(t, b, &v)
		if resp.StatusCode != 403 || v.Error.Code != "model_not_allowed" || resp.Header.Get("AI-Gateway-Rejected-Models") != "openai:gpt-4o" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
		}
		// a refused fallback is named, the allowed model serves
		resp = e.post("/v1/chat/completions", `{"model":"gpt-4o-mini","models":["gpt-4o"],"messages":[{"role":"user","content":"hi"}]}`, map[string]string{"Authorization": "Bearer " + token})
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Rejected-Models") != "openai:gpt-4o" {
			t.Fatalf("fallback refusal: %d %v", resp.StatusCode, resp.Header)
		}
		// [] allows nothing
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"access":{"models":{"allow":[]}}}`, 200, "")
		if s := status(e.chat(token, "gpt-4o-mini", nil)); s != 403 {
			t.Fatalf("empty allow list: %d", s)
		}
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"access":null}`, 200, "")
	})

	t.Run("provider allow list", func(t *testing.T) {
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"access":{"providers":{"allow":["anthropic"]}}}`, 200, "")
		resp := e.chat(token, "gpt-4o-mini", nil)
		b := readAll(t, resp)
		if resp.StatusCode != 403 || !strings.Contains(string(b), "provider_not_allowed") {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"access":null}`, 200, "")
	})

	t.Run("router step sends the customer's key", func(t *testing.T) {
		pk := e.createJSON("/ai/provider-keys", `{"providerId":"openai","name":"customer","value":"sk-customer-key-0000000001"}`)["id"].(string)
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"router":{"rules":[{"provider":"openai","steps":[{"type":"user","keys":[{"id":"`+pk+`"}]},{"type":"managed"}]}]}}`, 200, "")
		e.fake.Reset()
		resp := e.chat(token, "gpt-4o-mini", nil)
		readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%d", resp.StatusCode)
		}
		assertKeySwap(t, e, "Authorization", "Bearer sk-customer-key-0000000001")
		ev := e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)[0]
		if ev.KeySource != "user" {
			t.Fatalf("key source %q", ev.KeySource)
		}
		// the customer's key is refused → the managed step serves
		e.fake.Reset()
		e.fake.SetOptions(fakeOptsRequireKey("sk-managed-openai-0123456789abcdef"))
		resp = e.chat(token, "gpt-4o-mini", nil)
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Attempts") != "2" {
			t.Fatalf("user → managed failover: %d %v", resp.StatusCode, resp.Header)
		}
		e.fake.SetOptions(fakeOptsRequireKey(""))

		// rotation keeps the id: the rule still names it, the new secret goes upstream
		e.expectAdmin("POST", "/ai/provider-keys/"+pk+"/rotate", `{"value":"sk-customer-key-0000000002"}`, 200, pk)
		e.fake.Reset()
		readAll(t, e.chat(token, "gpt-4o-mini", nil))
		assertKeySwap(t, e, "Authorization", "Bearer sk-customer-key-0000000002")
		// model rules beat provider rules
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"router":{"rules":[{"provider":"openai","steps":[{"type":"user","keys":["`+pk+`"]}]},{"model":"gpt-4o","steps":[{"type":"managed"}]}]}}`, 200, "")
		e.fake.Reset()
		readAll(t, e.chat(token, "gpt-4o", nil))
		assertKeySwap(t, e, "Authorization", "Bearer sk-managed-openai-0123456789abcdef")
		e.expectAdmin("PATCH", "/ai/access-key-configurations/"+cfg, `{"router":null}`, 200, "")
		time.Sleep(10 * time.Millisecond)
		e.expectAdmin("GET", "/ai/provider-keys/"+pk, "", 200, `"lastUsed":"`)
	})

	t.Run("access key rotation with grace", func(t *testing.T) {
		b := e.expectAdmin("POST", "/ai/access-keys/"+keyID+"/rotate", `{"gracePeriod":"1h"}`, 200, keyID)
		var v struct{ ID, Token string }
		mustJSON(t, b, &v)
		if v.ID != keyID || v.Token == token {
			t.Fatalf("rotate answer %s", b)
		}
		for _, tok := range []string{token, v.Token} {
			if s := status(e.chat(tok, "gpt-4o-mini", nil)); s != 200 {
				t.Fatalf("token during grace: %d", s)
			}
		}
		e.expectAdmin("POST", "/ai/access-keys/"+keyID+"/rotate", `{}`, 200, keyID)
		if s := status(e.chat(v.Token, "gpt-4o-mini", nil)); s != 401 {
			t.Fatalf("token rotated without grace still works: %d", s)
		}
	})

	t.Run("disabled key refused, re-enabled works", func(t *testing.T) {
		k := e.createJSON("/ai/access-keys", `{"name":"toggle"}`)
		tok, id := k["token"].(string), k["id"].(string)
		e.expectAdmin("PATCH", "/ai/access-keys/"+id, `{"disabled":true}`, 200, `"disabled":true`)
		if s := status(e.chat(tok, "gpt-4o-mini", nil)); s != 401 {
			t.Fatalf("disabled: %d", s)
		}
		e.expectAdmin("PATCH", "/ai/access-keys/"+id, `{"disabled":false,"expiresAt":null}`, 200, `"disabled":false`)
		if s := status(e.chat(tok, "gpt-4o-mini", nil)); s != 200 {
			t.Fatalf("re-enabled: %d", s)
		}
	})

	t.Run("virtual model", func(t *testing.T) {
		e.createJSON("/ai/virtual-models", `{"name":"house-model","models":["openai:gpt-4o-mini","gpt-4o"]}`)
		e.fake.Reset()
		resp := e.chat(e.token, "house-model", map[string]string{"X-Fake-Status": ""})
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Model") != "gpt-4o-mini" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		var body map[string]any
		mustJSON(t, e.fake.Requests()[0].Body, &body)
		if body["model"] != "gpt-4o-mini" {
			t.Fatalf("upstream model %v", body["model"])
		}
		req, _ := http.NewRequest("GET", "http://"+e.httpAddr+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		mresp, _ := http.DefaultClient.Do(req)
		if b := readAll(t, mresp); !strings.Contains(string(b), `"id":"house-model"`) {
			t.Fatalf("virtual model not listed: %s", b)
		}
	})

	t.Run("custom provider at runtime", func(t *testing.T) {
		e.createJSON("/ai/providers", `{"providerId":"selfhosted","format":"openai","baseUrl":"`+e.fakeURL+`/v1","models":[{"id":"llama-3.3-70b","pricing":{"input":"0","output":"0"}}]}`)
		e.fake.Reset()
		resp := e.chat(e.token, "llama-3.3-70b", nil)
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Provider") != "selfhosted" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		if got := e.fake.Requests()[0].Header.Get("Authorization"); got != "" {
			t.Fatalf("keyless provider got a credential: %q", got)
		}
		e.expectAdmin("GET", "/ai/models", "", 200, `"selfhosted:llama-3.3-70b"`)
	})

	t.Run("gateway config", func(t *testing.T) {
		e.expectAdmin("PATCH", "/ai/gateway-config", `{"maxInputTokens":5}`, 200, `"maxInputTokens":5`)
		resp := e.chat(e.token, "gpt-4o-mini", nil)
		b := readAll(t, resp)
		if resp.StatusCode != 413 || !strings.Contains(string(b), "input_too_large") {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		e.expectAdmin("PATCH", "/ai/gateway-config", `{"maxInputTokens":null,"maxOutputTokens":3}`, 200, `"maxInputTokens":null`)
		e.fake.Reset()
		readAll(t, e.chat(e.token, "gpt-4o-mini", nil))
		var body map[string]any
		mustJSON(t, e.fake.Requests()[0].Body, &body)
		if body["max_completion_tokens"] != float64(3) {
			t.Fatalf("output not capped: %s", e.fake.Requests()[0].Body)
		}
		e.expectAdmin("PATCH", "/ai/gateway-config", `{"maxOutputTokens":null,"perRequestTimeout":"2s","totalTimeout":"3s"}`, 200, `"totalTimeout":"3s"`)
		b = e.expectAdmin("GET", "/ai/gateway-config", "", 200, `"effective"`)
		var gc struct{ Effective map[string]string }
		mustJSON(t, b, &gc)
		if gc.Effective["perRequestTimeout"] != "2s" {
			t.Fatalf("effective %s", b)
		}
	})

	t.Run("unauthorized", func(t *testing.T) {
		for _, path := range []string{"/ai/accounts", "/ai/providers", "/ai/gateway-config", "/ai/provider-keys"} {
			if st, _ := e.adminWith("Bearer nope-nope-nope-nope", "GET", path, ""); st != 401 {
				t.Fatalf("%s without a valid key: %d", path, st)
			}
		}
	})
	_ = json.Valid
}
