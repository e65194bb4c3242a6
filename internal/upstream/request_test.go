package upstream

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// NewRequest builds what http.NewRequestWithContext would, plus the
// forwarded headers and the JSON content type.
func TestNewRequest(t *testing.T) {
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, 1)
	client := http.Header{"User-Agent": {"sdk"}, "Authorization": {"Bearer client"}}
	for _, base := range []string{"http://127.0.0.1:8080/v1", "https://api.example.com:/v1", "http://[::1]:/v1"} {
		body := []byte(`{"model":"m"}`)
		got, err := NewRequest(ctx, base, "/chat/completions", "a=1", body, client)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/completions", nil)
		want.URL.RawQuery = "a=1"
		if got.URL.String() != want.URL.String() || got.Host != want.Host || got.Method != "POST" || got.Proto != want.Proto {
			t.Errorf("%s: %s %q, want %s %q", base, got.URL, got.Host, want.URL, want.Host)
		}
		if got.Context() != ctx || got.ContentLength != int64(len(body)) || got.Header.Get("Content-Type") != "application/json" ||
			got.Header.Get("User-Agent") != "sdk" || got.Header.Get("Authorization") != "" {
			t.Errorf("%s: %+v", base, got)
		}
		for range 2 {
			if b, _ := io.ReadAll(got.Body); string(b) != string(body) {
				t.Errorf("body %q", b)
			}
			rc, _ := got.GetBody()
			got.Body = rc
		}
	}
	if r, _ := NewRequest(ctx, "http://h/v1", "/x", "", nil, nil); r.Body != http.NoBody || r.ContentLength != 0 {
		t.Errorf("empty body: %v %d", r.Body, r.ContentLength)
	}
	if _, err := NewRequest(ctx, "http://h/%zz", "/x", "", nil, nil); err == nil {
		t.Error("bad URL accepted")
	}
}
