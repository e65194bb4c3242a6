// Command ttft is the streaming load client of bench/load.sh (wrk cannot
// time the first token of a stream, nor hold thousands of streams open).
// It speaks OpenAI chat-completion streams over HTTP/1.1 and has two modes.
//
// Time to first token: c concurrent workers per target, each sending
// streaming requests back to back over keep-alive connections. For every
// stream it records the time from sending the request to the first
// "data:" event whose delta carries non-empty content (the role chunk does
// not count: the gateway holds events back until content arrives), and
// checks that the stream ends with "data: [DONE]". The targets run in
// interleaved slices (round r starts with target r mod n), so a disturbance
// of the machine hits all of them alike.
//
//	ttft -body chat-stream.json -c 16 -rounds 5 -slice 2s -warmup 2s \
//	    -target reverse_proxy,http://127.0.0.1:8001/v1/chat/completions,sk-x \
//	    -target gateway,http://127.0.0.1:8002/v1/chat/completions,sk-y
//
// prints, per target:
//
//	TTFT_RESULT target=gateway streams=812 errors=0 duration_us=10012345 p50_us=20512 p99_us=21877 stream_p50_us=245100
//
// Idle streams (-idle): opens -n streams against the first target (with at
// most -open-c being opened at once), waits until each has delivered its
// first content, then reads the resident set size (VmRSS, and its anonymous
// part RssAnon) and open file descriptors of process -pid before and after,
// and prints
//
//	IDLE_RESULT opened=10000 errors=0 open_s=6.1 rss_before_kib=61234 rss_after_kib=301234 kib_per_stream=24.0 anon_before_kib=41234 anon_after_kib=281234 anon_kib_per_stream=24.0 fds_before=40 fds_after=20040
//
// The upstream must send the first content and then stay silent (for
// cmd/fakeprovider: -stall-after 2 -stall-for 1h). -src spreads the
// client's connections over several loopback source addresses, in case the
// ephemeral ports of one address do not suffice.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type target struct {
	name, url, token string
	client           *http.Client

	mu      sync.Mutex
	ttft    []time.Duration // per complete stream
	total   []time.Duration
	errors  int
	firstEr string
	elapsed time.Duration // wall time of the measured slices
}

type targetFlags []string

func (t *targetFlags) String() string     { return strings.Join(*t, " ") }
func (t *targetFlags) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	var targets targetFlags
	flag.Var(&targets, "target", "name,url,token (repeatable)")
	bodyFile := flag.String("body", "", "request body (a streaming chat completion request)")
	conc := flag.Int("c", 16, "ttft: concurrent streams per target")
	rounds := flag.Int("rounds", 5, "ttft: interleaved rounds")
	slice := flag.Duration("slice", 2*time.Second, "ttft: measured time per target and round")
	warmup := flag.Duration("warmup", 2*time.Second, "ttft: unmeasured time per target before the rounds")
	idle := flag.Bool("idle", false, "open -n idle streams against the first target and report the RSS of -pid")
	n := flag.Int("n", 10000, "idle: streams to open")
	openC := flag.Int("open-c", 64, "idle: streams being opened at once")
	pid := flag.Int("pid", 0, "idle: process whose RSS and file descriptors are read from /proc")
	settle := flag.Duration("settle", 2*time.Second, "idle: wait after the last stream opened, before reading the RSS")
	hold := flag.Duration("hold", 0, "idle: keep the streams open this much longer after reporting (e.g. to take a heap profile)")
	src := flag.String("src", "", "comma-separated local source addresses to spread connections over (e.g. 127.0.0.1,127.0.0.2)")
	timeout := flag.Duration("timeout", 30*time.Second, "per stream: until its first content (idle) or its end (ttft)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("ttft: ")

	if len(targets) == 0 || *bodyFile == "" {
		log.Fatal("need -body and at least one -target")
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	var srcs []net.IP
	for _, s := range strings.Split(*src, ",") {
		if s = strings.TrimSpace(s); s != "" {
			ip := net.ParseIP(s)
			if ip == nil {
				log.Fatalf("bad -src address %q", s)
			}
			srcs = append(srcs, ip)
		}
	}
	maxConns := *conc
	if *idle {
		maxConns = *n
	}
	var ts []*target
	for _, spec := range targets {
		f := strings.SplitN(spec, ",", 3)
		if len(f) != 3 {
			log.Fatalf("bad -target %q: want name,url,token", spec)
		}
		ts = append(ts, &target{name: f[0], url: f[1], token: f[2], client: newClient(srcs, maxConns)})
	}

	if *idle {
		os.Exit(runIdle(ts[0], body, *n, *openC, *pid, *settle, *hold, *timeout))
	}
	if *warmup > 0 {
		for _, t := range ts {
			measure(t, body, *conc, *warmup, *timeout, false)
		}
	}
	for r := 0; r < *rounds; r++ {
		for i := range ts {
			measure(ts[(r+i)%len(ts)], body, *conc, *slice, *timeout, true)
		}
	}
	failed := false
	for _, t := range ts {
		fmt.Printf("TTFT_RESULT target=%s streams=%d errors=%d duration_us=%d p50_us=%d p99_us=%d stream_p50_us=%d\n",
			t.name, len(t.ttft), t.errors, t.elapsed.Microseconds(),
			pct(t.ttft, 50).Microseconds(), pct(t.ttft, 99).Microseconds(), pct(t.total, 50).Microseconds())
		if t.errors > 0 || len(t.ttft) == 0 {
			failed = true
			fmt.Printf("TTFT_FIRST_ERROR target=%s %s\n", t.name, t.firstEr)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// newClient returns an HTTP/1.1 client that keeps up to maxConns idle
// connections, dialing from the source addresses in turn.
func newClient(srcs []net.IP, maxConns int) *http.Client {
	var next atomic.Uint64
	d := &net.Dialer{Timeout: 10 * time.Second}
	dial := d.DialContext
	if len(srcs) > 0 {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ip := srcs[next.Add(1)%uint64(len(srcs))]
			d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
			return d.DialContext(ctx, network, addr)
		}
	}
	return &http.Client{Transport: &http.Transport{
		DialContext:         dial,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		DisableCompression:  true,
		// Plain http:// URLs: HTTP/1.1, one stream per connection.
	}}
}

// measure runs c workers against t for d; with record it keeps the results.
func measure(t *target, body []byte, c int, d, timeout time.Duration, record bool) {
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				ttft, total, err := stream(ctx, t, body, false)
				cancel()
				if !record {
					continue
				}
				t.mu.Lock()
				if err != nil {
					t.errors++
					if t.firstEr == "" {
						t.firstEr = err.Error()
					}
				} else {
					t.ttft = append(t.ttft, ttft)
					t.total = append(t.total, total)
				}
				t.mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond) // no hot loop on a dead target
				}
			}
		}()
	}
	wg.Wait()
	if record {
		t.elapsed += time.Since(start)
	}
}

var (
	dataPrefix = []byte("data: ")
	doneLine   = []byte("data: [DONE]")
)

// stream sends one streaming request and returns its time to first content
// and its total time. With hold it returns right after the first content and
// leaves the response open (it is closed when ctx is cancelled).
func stream(ctx context.Context, t *target, body []byte, hold bool) (ttft, total time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+t.token)
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	if !hold {
		defer resp.Body.Close()
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	br := bufio.NewReaderSize(resp.Body, 8192)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			resp.Body.Close()
			if ttft == 0 {
				return 0, 0, fmt.Errorf("stream ended before its first content: %v", err)
			}
			return 0, 0, fmt.Errorf("stream ended before data: [DONE]: %v", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if !bytes.HasPrefix(line, dataPrefix) {
			continue
		}
		if bytes.Equal(line, doneLine) {
			if ttft == 0 {
				return 0, 0, errors.New("data: [DONE] before any content")
			}
			return ttft, time.Since(start), nil
		}
		if ttft == 0 && hasContent(line[len(dataPrefix):]) {
			ttft = time.Since(start)
			if hold {
				return ttft, 0, nil
			}
		}
	}
}

// hasContent reports whether a chat.completion.chunk carries non-empty
// delta content.
func hasContent(data []byte) bool {
	if !bytes.Contains(data, []byte(`"content"`)) {
		return false
	}
	var c struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(data, &c) != nil {
		return false
	}
	for _, ch := range c.Choices {
		if ch.Delta.Content != "" {
			return true
		}
	}
	return false
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p/100*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i]
}

// runIdle opens n streams against t, holds them and reports the RSS of pid.
func runIdle(t *target, body []byte, n, openC, pid int, settle, hold, timeout time.Duration) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(n)+64 {
		log.Printf("%d streams need %d file descriptors; the limit is %d (ulimit -n)", n, n+64, lim.Cur)
		return 1
	}
	rssBefore, fdsBefore := rss(pid), fds(pid)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		opened   int
		errs     int
		firstErr string
		cancels  []context.CancelFunc
		sem      = make(chan struct{}, openC)
	)
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	start := time.Now()
	for range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// The stream lives until the run ends (its context is a child
			// of the run's); its first content must come within timeout.
			sctx, scancel := context.WithCancel(ctx)
			timer := time.AfterFunc(timeout, scancel)
			_, _, err := stream(sctx, t, body, true)
			timer.Stop()
			mu.Lock()
			defer mu.Unlock()
			cancels = append(cancels, scancel)
			if err != nil {
				errs++
				if firstErr == "" {
					firstErr = err.Error()
				}
				return
			}
			opened++
		}()
	}
	wg.Wait()
	openTime := time.Since(start)
	time.Sleep(settle)
	rssAfter, fdsAfter := rss(pid), fds(pid)
	per, perAnon := 0.0, 0.0
	if opened > 0 {
		per = float64(rssAfter.rss-rssBefore.rss) / float64(opened)
		perAnon = float64(rssAfter.anon-rssBefore.anon) / float64(opened)
	}
	fmt.Printf("IDLE_RESULT opened=%d errors=%d open_s=%.1f rss_before_kib=%d rss_after_kib=%d kib_per_stream=%.1f anon_before_kib=%d anon_after_kib=%d anon_kib_per_stream=%.1f fds_before=%d fds_after=%d\n",
		opened, errs, openTime.Seconds(), rssBefore.rss, rssAfter.rss, per, rssBefore.anon, rssAfter.anon, perAnon, fdsBefore, fdsAfter)
	if errs > 0 || opened == 0 {
		fmt.Printf("IDLE_FIRST_ERROR %s\n", firstErr)
		return 1
	}
	if hold > 0 {
		log.Printf("%d streams open; holding them for %v", opened, hold)
		time.Sleep(hold)
	}
	return 0
}

// memory is a process's resident set, in KiB (0 if unknown): all of it
// (VmRSS) and its anonymous part (RssAnon: heap and stacks, without mapped
// files such as the gateway's bbolt database).
type memory struct{ rss, anon int64 }

func rss(pid int) memory {
	var m memory
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return m
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n
		case "RssAnon":
			m.anon = n
		}
	}
	return m
}

// fds returns the number of open file descriptors of pid (-1 if unknown).
func fds(pid int) int {
	es, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(es)
}
