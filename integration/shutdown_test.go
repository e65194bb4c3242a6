package integration

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
)

// TestShutdownSettlesOpenStreams: streams still open when Caddy stops
// (past a finite grace_period) are cut with a well-formed error event,
// settled with what they delivered and recorded, before the store closes.
func TestShutdownSettlesOpenStreams(t *testing.T) {
	e := start(t, cfgOpts{})
	cf := creditsConfig(e, "")
	cf = strings.Replace(cf, "auto_https off", "auto_https off\n\tgrace_period 200ms", 1)
	e.load(cf)
	acct, token := e.meteredAccount("streamer", "1.00")
	e.fake.SetOptions(fakeprovider.Options{StallAfterEvents: 3, StallFor: time.Minute})

	const n = 3
	type result struct {
		id     string
		events []string
	}
	got := make(chan result, n)
	started := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		go func() {
			req, _ := http.NewRequest("POST", "http://"+e.httpAddr+"/v1/chat/completions",
				strings.NewReader(`{"model":"metered:tenner","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				got <- result{}
				return
			}
			defer resp.Body.Close()
			var r result
			r.id = resp.Header.Get("AI-Gateway-Request-Id")
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					if len(r.events) == 0 {
						started <- struct{}{}
					}
					r.events = append(r.events, d)
				}
			}
			got <- r
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("streams did not start")
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- caddy.Stop() }()
	var ids []string
	for i := 0; i < n; i++ {
		select {
		case r := <-got:
			if len(r.events) < 2 || !strings.Contains(r.events[len(r.events)-1], "shutting down") {
				t.Fatalf("stream %s did not end with the shutdown error event: %q", r.id, r.events)
			}
			ids = append(ids, r.id)
		case <-time.After(10 * time.Second):
			t.Fatal("open streams were not cut at shutdown")
		}
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}

	// The store is closed now; everything must be on disk.
	db, err := boltstore.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := credits.Open(db, credits.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	entries, _ := l.Entries()
	charged := map[string]bool{}
	for _, en := range entries {
		if en.AccountID == acct && en.Type == credits.Usage {
			charged[en.RequestID] = true
		}
	}
	for _, id := range ids {
		if !charged[id] {
			t.Errorf("request %s was cut by the shutdown but not charged for what it delivered", id)
		}
		evs, err := db.RequestUsage(context.Background(), id)
		if err != nil || len(evs) != 1 || evs[0].OutputTokens == 0 {
			t.Errorf("request %s: usage events %v (%v)", id, evs, err)
		}
	}
}
