// Command fakeprovider serves the fake LLM provider (OpenAI and Anthropic
// wire formats) for demos and manual testing.
//
//	go run ./cmd/fakeprovider -listen 127.0.0.1:8790 -latency 100ms
//
// Per-request behaviour can also be scripted with X-Fake-* request headers;
// see package internal/fakeprovider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/fakeprovider"
)

func main() {
	var o fakeprovider.Options
	listen := flag.String("listen", "127.0.0.1:8790", "address to listen on (port 0 picks a free port)")
	verbose := flag.Bool("v", false, "log every request to stderr")
	flag.DurationVar(&o.Latency, "latency", 0, "delay before the response headers")
	flag.IntVar(&o.FailStatus, "fail-status", 0, "fail every request with this HTTP status")
	flag.StringVar(&o.RetryAfter, "retry-after", "", "Retry-After header sent with -fail-status 429")
	flag.DurationVar(&o.StallBeforeFirst, "stall-before-first", 0, "streams: pause before the first event")
	flag.IntVar(&o.StallAfterEvents, "stall-after", 0, "streams: pause -stall-for after this many events (0 = never)")
	flag.DurationVar(&o.StallFor, "stall-for", 0, "streams: length of the -stall-after pause")
	flag.DurationVar(&o.EventInterval, "event-interval", 0, "streams: pause between events, like a model producing tokens (0 = back to back)")
	flag.IntVar(&o.CutAfterEvents, "cut-after", 0, "streams: drop the connection after this many events (0 = never)")
	flag.BoolVar(&o.OmitUsage, "omit-usage", false, "leave usage out of answers")
	flag.IntVar(&o.CacheReadTokens, "cache-read-tokens", 0, "cached / cache-read input tokens to report")
	flag.IntVar(&o.CacheWriteTokens, "cache-write-tokens", 0, "anthropic cache_creation_input_tokens to report")
	flag.IntVar(&o.ReasoningTokens, "reasoning-tokens", 0, "openai reasoning tokens to report")
	flag.StringVar(&o.Reply, "reply", "", "assistant text (default: "+fmt.Sprintf("%q", fakeprovider.DefaultReply)+")")
	flag.StringVar(&o.RequireKey, "require-key", "", "answer 401 unless requests present this API key")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("fakeprovider: %v", err)
	}
	var h http.Handler = fakeprovider.New(o)
	if *verbose {
		h = logRequests(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()

	fmt.Printf("fakeprovider listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("fakeprovider: %v", err)
	}
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() {
			log.Printf("%s %s (%s)", r.Method, r.URL.Path, time.Since(start).Round(time.Millisecond))
		}()
		next.ServeHTTP(w, r)
	})
}
