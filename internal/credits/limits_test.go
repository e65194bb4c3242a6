package credits

import (
	"errors"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC)}
	l := NewLimiter(c.now)
	var le *LimitError

	// requests per minute
	for i := 0; i < 3; i++ {
		if _, err := l.Admit("k", Limits{RequestsPerMinute: 3}, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Admit("k", Limits{RequestsPerMinute: 3}, 0, 0); !errors.As(err, &le) || le.Limit != "requestsPerMinute" || le.RetryAfter != time.Minute {
		t.Fatalf("rpm: %v", err)
	}
	c.add(61 * time.Second)
	if _, err := l.Admit("k", Limits{RequestsPerMinute: 3}, 0, 0); err != nil {
		t.Fatalf("rpm window did not slide: %v", err)
	}

	// tokens per minute: reserved estimates count until settled
	a, err := l.Admit("t", Limits{TokensPerMinute: 1000}, 800, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit("t", Limits{TokensPerMinute: 1000}, 300, 0); !errors.As(err, &le) || le.Limit != "tokensPerMinute" {
		t.Fatalf("tpm: %v", err)
	}
	a.Settle(100, 0) // used far less than reserved
	if _, err := l.Admit("t", Limits{TokensPerMinute: 1000}, 300, 0); err != nil {
		t.Fatalf("after settle: %v", err)
	}
	if _, err := l.Admit("t", Limits{TokensPerMinute: 1000}, 5000, 0); !errors.As(err, &le) {
		t.Fatal("request larger than the limit admitted")
	}

	// spend per day, resetting at UTC midnight
	c.t = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	lim := Limits{SpendPerDay: usd("1")}
	b, err := l.Admit("s", lim, 0, usd("0.6"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit("s", lim, 0, usd("0.6")); !errors.As(err, &le) || le.Limit != "spendPerDay" || le.RetryAfter != 4*time.Hour {
		t.Fatalf("spend: %v", err)
	}
	b.Settle(0, usd("0.2"))
	if _, err := l.Admit("s", lim, 0, usd("0.6")); err != nil {
		t.Fatalf("after settling less: %v", err)
	}
	c.t = time.Date(2026, 11, 24, 0, 0, 1, 0, time.UTC)
	if _, err := l.Admit("s", lim, 0, usd("0.9")); err != nil {
		t.Fatalf("new day: %v", err)
	}
	if a, err := l.Admit("none", Limits{}, 1e9, usd("1000")); a != nil || err != nil {
		t.Fatal("no limits must admit without bookkeeping")
	}
}
