package manage

import "github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

// ErrNotFound is returned for resources that do not exist.
var ErrNotFound = store.ErrNotFound

// InvalidError is a management request the caller must fix (HTTP 400).
type InvalidError struct{ Field, Reason string }

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// ConflictError is a change refused because of another resource (HTTP 409).
type ConflictError struct{ Reason string }

func (e *ConflictError) Error() string { return e.Reason }
