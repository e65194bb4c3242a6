package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReloadUnderTraffic reloads a changed Caddyfile through the admin
// endpoint (what `caddy reload` does) while requests flow: nothing fails,
// the access key keeps working, the new config applies, and reloading does
// not deadlock on the bbolt file lock.
func TestReloadUnderTraffic(t *testing.T) {
	e := start(t, cfgOpts{})
	var ok, failed, connRetries atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := postRetryingConnErrors(e, &connRetries)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, b))
				}
			}
		}()
	}

	custom := `provider local {
			format openai
			base_url ` + e.fakeURL + `/v1
			api_key local-key
			model my-model {
				input_price 0
				output_price 0
			}
		}`
	for i := 0; i < 5; i++ {
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		cf := e.caddyfile(cfgOpts{extraAI: custom})
		if i%2 == 1 {
			cf = e.caddyfile(cfgOpts{})
		}
		e.load(cf)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("reload %d took %s", i, d)
		}
	}
	e.load(e.caddyfile(cfgOpts{extraAI: custom}))
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if ok.Load() == 0 {
		t.Fatal("no traffic went through")
	}

	// the key created before the reloads still works, on the new config
	resp := e.post("/v1/chat/completions", `{"model":"local:my-model","messages":[{"role":"user","content":"hi"}]}`, e.bearer())
	b := readAll(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("AI-Gateway-Provider") != "local" {
		t.Fatalf("after reload: %d %s", resp.StatusCode, b)
	}
	// and a key created after the reloads too
	tok := e.createKey(`{"name":"after"}`)
	resp = e.post("/v1/chat/completions", chatBody, map[string]string{"Authorization": "Bearer " + tok})
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("new key after reload: %d", resp.StatusCode)
	}
	t.Logf("%d requests served across 6 reloads; %d retried after a keep-alive connection closed by the old server", ok.Load(), connRetries.Load())
}

// postRetryingConnErrors sends a chat request and, like the official SDKs,
// retries when the connection fails before any response: on reload Caddy
// closes the old server's idle keep-alive connections, and a request
// racing that close sees a reset (plain reverse_proxy behaves the same).
func postRetryingConnErrors(e *env, retries *atomic.Int64) (*http.Response, error) {
	var err error
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodPost, "http://"+e.httpAddr+"/v1/chat/completions", strings.NewReader(chatBody))
		req.Header.Set("Authorization", "Bearer "+e.token)
		var resp *http.Response
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			return resp, nil
		}
		retries.Add(1)
	}
	return nil, err
}

func TestManagementAPI(t *testing.T) {
	e := start(t, cfgOpts{})

	// every call needs the management key
	for _, hdr := range []string{"", "Bearer wrong-key-0123456789", "Basic " + adminKey} {
		req := strings.NewReader("")
		_ = req
		st, _ := e.adminWith(hdr, "GET", "/ai/access-keys", "")
		if st != 401 {
			t.Fatalf("auth header %q: %d", hdr, st)
		}
	}

	var ids []string
	for i := 0; i < 5; i++ {
		st, b := e.admin("POST", "/ai/access-keys", fmt.Sprintf(`{"name":"k%d","description":"d","metadata":"{\"team\":\"x\"}"}`, i))
		if st != 201 {
			t.Fatalf("%d %s", st, b)
		}
		var v struct{ ID, Token, KeyRedacted, URI string }
		mustJSON(t, b, &v)
		if !strings.HasPrefix(v.Token, "cag_") || !strings.HasPrefix(v.ID, "ak_") || v.URI != "/ai/access-keys/"+v.ID || strings.Contains(v.KeyRedacted, v.Token[8:30]) {
			t.Fatalf("create response %s", b)
		}
		ids = append(ids, v.ID)
	}
	// the token is never shown again
	st, b := e.admin("GET", "/ai/access-keys/"+ids[0], "")
	if st != 200 || strings.Contains(string(b), `"token"`) {
		t.Fatalf("get: %d %s", st, b)
	}
	// paging, newest first
	st, b = e.admin("GET", "/ai/access-keys?limit=2", "")
	var page struct {
		AccessKeys  []struct{ ID string }
		NextPageURI *string
	}
	mustJSON(t, b, &page)
	if st != 200 || len(page.AccessKeys) != 2 || page.AccessKeys[0].ID != ids[4] || page.NextPageURI == nil {
		t.Fatalf("page 1: %s", b)
	}
	seen := 2
	for page.NextPageURI != nil {
		_, b = e.admin("GET", *page.NextPageURI, "")
		page.NextPageURI = nil
		mustJSON(t, b, &page)
		seen += len(page.AccessKeys)
	}
	if seen != 6 { // 5 + the harness's key
		t.Fatalf("paged through %d keys", seen)
	}
	// validation
	for body, field := range map[string]string{`{"nmae":"x"}`: "nmae", `{"accountId":"acct_nope"}`: "accountId", `{"expiresAt":"2001-01-01T00:00:00Z"}`: "expiresAt"} {
		st, b := e.admin("POST", "/ai/access-keys", body)
		if st != 400 || !strings.Contains(string(b), field) {
			t.Fatalf("%s: %d %s", body, st, b)
		}
	}
	// delete: the token stops working at once
	st, _ = e.admin("DELETE", "/ai/access-keys/"+keyID(t, e), "")
	if st != 204 {
		t.Fatalf("delete: %d", st)
	}
	resp := e.post("/v1/chat/completions", chatBody, e.bearer())
	readAll(t, resp)
	if resp.StatusCode != 401 {
		t.Fatalf("deleted key still works: %d", resp.StatusCode)
	}
	if st, _ := e.admin("DELETE", "/ai/access-keys/ak_missing", ""); st != 404 {
		t.Fatalf("delete missing: %d", st)
	}
	if st, _ := e.admin("PUT", "/ai/access-keys", ""); st != 405 {
		t.Fatalf("wrong method: %d", st)
	}
}

// keyID finds the id of the harness's key (named "test").
func keyID(t *testing.T, e *env) string {
	_, b := e.admin("GET", "/ai/access-keys", "")
	var v struct{ AccessKeys []struct{ ID, Name string } }
	mustJSON(t, b, &v)
	for _, k := range v.AccessKeys {
		if k.Name == "test" {
			return k.ID
		}
	}
	t.Fatal("harness key not found")
	return ""
}
