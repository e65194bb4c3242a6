package aicmd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fixedNow sets the commands' clock for a test.
func fixedNow(t *testing.T, at time.Time) {
	t.Helper()
	old := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = old })
}

func TestKeysCreate(t *testing.T) {
	at := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	fixedNow(t, at)
	var got map[string]any
	s, out, info := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/ai/access-keys" || r.Header.Get("Content-Type") != "application/json" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unexpected " + r.Method + " " + r.URL.Path})
			return
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		writeJSON(w, http.StatusCreated, map[string]any{"id": "ak_1", "name": got["name"], "accountId": "team",
			"expiresAt": got["expiresAt"], "keyRedacted": "cag_abc…wxyz", "token": "cag_abcdefghijklmnopwxyz", "createdAt": at})
	})
	if err := keysCreate(context.Background(), s, "laptop", "team", "akc_1", "30d"); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "laptop", "accountId": "team", "accessKeyConfigurationId": "akc_1", "expiresAt": "2026-06-09T12:00:00Z"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body %s = %v, want %v", k, got[k], v)
		}
	}
	if out.String() != "cag_abcdefghijklmnopwxyz\n" {
		t.Errorf("stdout %q: want the token alone, for KEY=$(caddy ai keys create)", out.String())
	}
	for _, w := range []string{`ak_1 "laptop"`, "account team", "expires 2026-06-09 12:00 UTC", "shown only now and cannot be shown again"} {
		if !strings.Contains(info.String(), w) {
			t.Errorf("the notes do not say %q:\n%s", w, info.String())
		}
	}

	got = nil
	if err := keysCreate(context.Background(), s, "", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("no flags: body %v, want {} (the API's defaults)", got)
	}
	if err := keysCreate(context.Background(), s, "", "", "", "yesterday"); err == nil || !strings.HasPrefix(err.Error(), "--expires: ") {
		t.Errorf("a bad --expires: %v", err)
	}
}

func TestKeysRevoke(t *testing.T) {
	var method, path, body string
	s, out, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		method, path, body = r.Method, r.URL.EscapedPath(), string(b)
		if r.Method == "DELETE" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": "ak_1", "name": "laptop", "disabled": true})
	})
	ctx := context.Background()
	if err := keysRevoke(ctx, s, "ak_1", false); err != nil {
		t.Fatal(err)
	}
	if method != "PATCH" || path != "/ai/access-keys/ak_1" || body != `{"disabled":true}` {
		t.Errorf("revoke sent %s %s %s, want PATCH /ai/access-keys/ak_1 {\"disabled\":true}", method, path, body)
	}
	if !strings.Contains(out.String(), `Revoked access key ak_1 "laptop"`) {
		t.Errorf("revoke printed %q", out.String())
	}
	out.Reset()
	if err := keysRevoke(ctx, s, "ak/1", true); err != nil {
		t.Fatal(err)
	}
	if method != "DELETE" || path != "/ai/access-keys/ak%2F1" {
		t.Errorf("revoke --delete sent %s %s", method, path)
	}
	s.json = true
	out.Reset()
	if err := keysRevoke(ctx, s, "ak_1", true); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v["id"] != "ak_1" || v["deleted"] != true {
		t.Errorf("revoke --delete --json printed %s (%v)", out.String(), err)
	}
}

func TestKeysTable(t *testing.T) {
	at := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	past, future := at.Add(-time.Hour), at.Add(time.Hour)
	conf := "akc_1"
	keys := []accessKeyView{
		{ID: "ak_3", Name: "ci", KeyRedacted: "cag_aaa…aaaa", AccountID: "default", CreatedAt: at, LastUsed: &past},
		{ID: "ak_2", KeyRedacted: "cag_bbb…bbbb", AccountID: "team", AccessKeyConfigurationID: &conf, Disabled: true, CreatedAt: past},
		{ID: "ak_1", Name: "old", KeyRedacted: "cag_ccc…cccc", AccountID: "default", ExpiresAt: &past, CreatedAt: past},
		{ID: "ak_0", Name: "new", KeyRedacted: "cag_ddd…dddd", AccountID: "default", ExpiresAt: &future, CreatedAt: past},
	}
	var b strings.Builder
	if err := keysTable(keys, at).write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID    NAME  KEY           ACCOUNT  CONFIGURATION  STATUS    EXPIRES (UTC)     LAST USED (UTC)   CREATED (UTC)\n" +
		"ak_3  ci    cag_aaa…aaaa  default  -              active    -                 2026-05-10 11:00  2026-05-10 12:00\n" +
		"ak_2  -     cag_bbb…bbbb  team     akc_1          disabled  -                 -                 2026-05-10 11:00\n" +
		"ak_1  old   cag_ccc…cccc  default  -              expired   2026-05-10 11:00  -                 2026-05-10 11:00\n" +
		"ak_0  new   cag_ddd…dddd  default  -              active    2026-05-10 13:00  -                 2026-05-10 11:00\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
