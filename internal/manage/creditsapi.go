package manage

import (
	"errors"
	"fmt"
	"math"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Purchase adds credits to an account. With an idempotency key a retried
// purchase returns the original instead of buying twice.
// The amount is an unsigned USD decimal string: no sign, no exponent, no
// spaces, at most nine decimals.
func (s *Service) Purchase(p Patch, idempotencyKey string) (*credits.PurchaseResult, error) {
	var accountID, description, rawAmount string
	if err := errors.Join(Field(p, "accountId", &accountID), Field(p, "amount", &rawAmount), Field(p, "description", &description), p.Done()); err != nil {
		return nil, err
	}
	if err := s.checkAccount(accountID); err != nil {
		return nil, err
	}
	amount, err := money.ParseUnsignedUSD(rawAmount)
	if err != nil {
		return nil, &InvalidError{"amount", err.Error() + `; a USD decimal string such as "25.00"`}
	}
	if len(idempotencyKey) > 255 {
		return nil, &InvalidError{"Idempotency-Key", "at most 255 characters"}
	}
	res, err := s.ledger.Purchase(accountID, amount, idempotencyKey, description)
	switch {
	case errors.Is(err, credits.ErrBelowMinimum):
		return nil, &InvalidError{"amount", fmt.Sprintf("the minimum purchase is %s USD", s.minPurchase())}
	case errors.Is(err, credits.ErrIdempotencyConflict):
		return nil, &ConflictError{"Idempotency-Key was used for a purchase of another amount"}
	}
	return res, s.creditError(err)
}

// creditError turns the ledger's refusals of a credit into 400s.
func (s *Service) creditError(err error) error {
	switch {
	case errors.Is(err, credits.ErrAboveMaximum):
		return &InvalidError{"amount", fmt.Sprintf("the maximum purchase (and adjustment) is %s USD", s.maxPurchase())}
	case errors.Is(err, credits.ErrOverflow):
		return &InvalidError{"amount", fmt.Sprintf("would take the account's balance beyond %s USD either way", money.Nano(math.MaxInt64))}
	case errors.Is(err, credits.ErrUnknownAccount):
		return &InvalidError{"accountId", "no such account (deleted meanwhile)"}
	}
	return err
}

// Adjust credits or debits an account by hand (type adjustment or refund).
func (s *Service) Adjust(p Patch) (*credits.Entry, error) {
	var accountID, typ, description string
	var amount money.Nano
	if err := errors.Join(Field(p, "accountId", &accountID), Field(p, "type", &typ), Field(p, "amount", &amount),
		Field(p, "description", &description), p.Done()); err != nil {
		return nil, err
	}
	if err := s.checkAccount(accountID); err != nil {
		return nil, err
	}
	if typ == "" {
		typ = string(credits.Adjustment)
	}
	if typ != string(credits.Adjustment) && typ != string(credits.Refund) {
		return nil, &InvalidError{"type", "must be adjustment or refund"}
	}
	if amount == 0 {
		return nil, &InvalidError{"amount", "must not be zero"}
	}
	e, err := s.ledger.Adjust(accountID, credits.EntryType(typ), amount, description)
	return e, s.creditError(err)
}

// CreditBalance returns an account's balance, holds and next expiry.
func (s *Service) CreditBalance(accountID string) (credits.Balance, error) {
	if err := s.checkAccount(accountID); err != nil {
		return credits.Balance{}, err
	}
	return s.ledger.Balance(accountID)
}

// CreditTransactions lists an account's ledger, newest first.
func (s *Service) CreditTransactions(accountID string, limit int, beforeID string) ([]credits.Entry, error) {
	if err := s.checkAccount(accountID); err != nil {
		return nil, err
	}
	return s.ledger.Transactions(accountID, limit, beforeID)
}

// Ledger exposes the credit ledger (audits, tests).
func (s *Service) Ledger() *credits.Ledger { return s.ledger }

func (s *Service) minPurchase() money.Nano {
	min, _ := s.env.PurchaseLimits(s.Snapshot())
	return min
}

func (s *Service) maxPurchase() money.Nano {
	_, max := s.env.PurchaseLimits(s.Snapshot())
	return max
}

func (s *Service) checkAccount(id string) error {
	if id == "" {
		return &InvalidError{"accountId", "required"}
	}
	if s.Snapshot().Accounts[id] == nil {
		return &InvalidError{"accountId", fmt.Sprintf("no account %q", id)}
	}
	return nil
}
