package credits

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// LowBalanceNotifier tells about an account's balance crossing a
// threshold downward (Config.OnLowBalance): a structured warning and,
// when a webhook is set, a JSON POST {"accountId","balance","threshold",
// "at"} queued for delivery in the background with retries, never
// blocking the request that crossed it.
type LowBalanceNotifier struct {
	logger *zap.Logger
	url    atomic.Pointer[string]
	// queue is never closed: a threshold crossed after Close (a late
	// settlement, a management call) must find a channel it can send to.
	queue chan queuedEvent
	stop  chan struct{}
}

type queuedEvent struct {
	url string
	ev  lowBalanceEvent
}

type lowBalanceEvent struct {
	AccountID string     `json:"accountId"`
	Balance   money.Nano `json:"balance"`
	Threshold money.Nano `json:"threshold"`
	At        time.Time  `json:"at"`
}

// webhookBackoff are the waits between delivery attempts.
var webhookBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// NewLowBalanceNotifier starts delivery; Close ends it.
func NewLowBalanceNotifier(logger *zap.Logger) *LowBalanceNotifier {
	n := &LowBalanceNotifier{logger: logger, queue: make(chan queuedEvent, 1024), stop: make(chan struct{})}
	n.SetWebhook("")
	go n.deliver()
	return n
}

// SetWebhook sets the URL later crossings are posted to; "" only logs them.
func (n *LowBalanceNotifier) SetWebhook(url string) { n.url.Store(&url) }

// Notify reports a crossing (the signature of Config.OnLowBalance).
func (n *LowBalanceNotifier) Notify(accountID string, balance, threshold money.Nano) {
	n.logger.Warn("account balance below threshold", zap.String("account_id", accountID),
		zap.String("balance_usd", balance.String()), zap.String("threshold_usd", threshold.String()))
	url := *n.url.Load()
	if url == "" {
		return
	}
	select {
	case n.queue <- queuedEvent{url, lowBalanceEvent{AccountID: accountID, Balance: balance, Threshold: threshold, At: time.Now().UTC()}}:
	default:
		n.logger.Error("low-balance webhook queue full; notification dropped", zap.String("account_id", accountID))
	}
}

// Close ends delivery: later crossings are only logged (no URL), and
// events still queued are dropped with a log line.
func (n *LowBalanceNotifier) Close() {
	close(n.stop)
	n.SetWebhook("")
	dropped := 0
	for {
		select {
		case <-n.queue:
			dropped++
			continue
		default:
		}
		break
	}
	if dropped > 0 {
		n.logger.Warn("low-balance webhooks not delivered: the store closed", zap.Int("events", dropped))
	}
}

// deliver posts queued events, retrying with backoff.
func (n *LowBalanceNotifier) deliver() {
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		var q queuedEvent
		select {
		case <-n.stop:
			return
		case q = <-n.queue:
		}
		body, _ := json.Marshal(q.ev)
		for i := 0; ; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(body))
			var status int
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "caddy-ai-gateway")
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
			}
			cancel()
			if err == nil && status < 300 {
				break
			}
			if i == len(webhookBackoff) {
				n.logger.Error("low-balance webhook failed", zap.String("account_id", q.ev.AccountID), zap.Int("status", status), zap.Error(err))
				break
			}
			select {
			case <-n.stop:
				return
			case <-time.After(webhookBackoff[i]):
			}
		}
	}
}
