package upstream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// NewRequest is the POST of body to base+path, with the client's query
// (rawQuery) and forwarded headers (Headers(client)) and a JSON content
// type: what http.NewRequestWithContext builds, in fewer allocations, with
// the URL parsed once per base and path.
func NewRequest(ctx context.Context, base, path, rawQuery string, body []byte, client http.Header) (*http.Request, error) {
	u, err := parsedURL(base, path)
	if err != nil {
		return nil, err
	}
	r := &request{url: *u}
	r.url.RawQuery = rawQuery
	r.body.Reset(body)
	h := Headers(client)
	h["Content-Type"] = jsonContentType
	r.req = http.Request{
		Method:        http.MethodPost,
		URL:           &r.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          &r.body,
		ContentLength: int64(len(body)),
		Host:          r.url.Host,
		// The transport rewinds the body to retry a request a reused
		// connection dropped before answering.
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}
	if len(body) == 0 {
		r.req.Body = http.NoBody
		r.req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	return r.req.WithContext(ctx), nil
}

// jsonContentType is the Content-Type of every upstream request. Shared:
// nothing modifies a header's values in place.
var jsonContentType = []string{"application/json"}

// request holds what an upstream request points to, in one allocation.
type request struct {
	req  http.Request
	url  url.URL
	body requestBody
}

type requestBody struct{ bytes.Reader }

func (*requestBody) Close() error { return nil }

// urls caches the parsed URL of each base and path; providers and paths
// are few (it is emptied if it ever holds maxURLs).
var urls struct {
	sync.RWMutex
	m map[[2]string]*url.URL
}

const maxURLs = 1024

func parsedURL(base, path string) (*url.URL, error) {
	k := [2]string{base, path}
	urls.RLock()
	u := urls.m[k]
	urls.RUnlock()
	if u != nil {
		return u, nil
	}
	u, err := url.Parse(base + path)
	if err != nil {
		return nil, err
	}
	if strings.LastIndex(u.Host, ":") > strings.LastIndex(u.Host, "]") {
		u.Host = strings.TrimSuffix(u.Host, ":") // as http.NewRequest does: no empty port
	}
	urls.Lock()
	if urls.m == nil || len(urls.m) >= maxURLs {
		urls.m = make(map[[2]string]*url.URL)
	}
	urls.m[k] = u
	urls.Unlock()
	return u, nil
}
