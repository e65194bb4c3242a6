package fakeprovider

import (
	"net/http"
	"net/url"
	"testing"
)

func TestInMemoryRoute(t *testing.T) {
	s := NewInMemory("fake.invalid:80", New(Options{}))
	s.Start()
	defer s.Close()
	proxied := false
	tr := &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { proxied = true; return nil, nil }}
	s.Route(tr)
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://" + s.Addr() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || proxied {
		t.Fatalf("status %d, proxied %v", resp.StatusCode, proxied)
	}
	if _, err := tr.Proxy(&http.Request{URL: &url.URL{Host: "elsewhere.invalid:80"}}); err != nil || !proxied {
		t.Fatalf("another address must keep the transport's proxy (%v)", err)
	}
}
