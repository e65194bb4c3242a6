package node

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// KeyLimiter enforces the per-key limits: in memory on one node
// (credits.Limiter); on a store shared by several nodes against every
// node's admissions (credits.SharedLimiter).
type KeyLimiter interface {
	Admit(keyID string, lim credits.Limits, estTokens int64, worstCost money.Nano) (*credits.Admission, error)
}

func (s *State) openLimiter(db engine) KeyLimiter {
	if ls, ok := db.(credits.LimitStore); ok {
		return credits.NewSharedLimiter(ls, nil, func(err error) {
			s.logger.Error("recording what a limited request used", zap.Error(err))
		})
	}
	l := credits.NewLimiter(nil)
	// spendPerDay counts what keys already spent today (UTC)
	if spent, err := s.Ledger.SpentSince(time.Now().UTC().Truncate(24 * time.Hour)); err == nil {
		for keyID, n := range spent {
			l.SeedSpent(keyID, n)
		}
	} else {
		s.logger.Error("reading today's spend for spendPerDay limits", zap.Error(err))
	}
	return l
}

// openLedger opens the credit ledger: the balances in memory on one node;
// on a store shared by several nodes, leases (credits.OpenLeased) under a
// node name unique to this process.
func (s *State) openLedger(db engine) (*credits.Ledger, error) {
	l, ok := db.(credits.Leaser)
	if !ok {
		return credits.Open(db, credits.Config{}, nil)
	}
	host, _ := os.Hostname()
	node := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), ids.New("node"))
	return credits.OpenLeased(credits.LeaseConfig{Store: l, Node: node, OnLost: func(err error) {
		s.logger.Error("credit leases", zap.Error(err))
	}}, credits.Config{}, nil)
}
