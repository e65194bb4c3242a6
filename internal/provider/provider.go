// Package provider describes the wire formats the gateway speaks, one
// implementation of Format per format: how an upstream request in it is
// addressed and authenticated, how a chat request is translated into it,
// how its answers, streams and errors reach a client of another format,
// and how a client's request in it continues a stalled stream. The
// gateway holds no per-format branches of its own; a new format is one
// new file here (and its translations in package translate).
//
// The package has no Caddy types and keeps no state beyond the table of
// formats built at init; every Format is safe for concurrent use.
package provider

import (
	"net/http"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/translate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// Format is how one wire format works. A provider speaks it upstream; a
// client speaks it on the endpoints of its shape.
type Format interface {
	// Name is the catalog's name for the format.
	Name() catalog.Format
	// Wire is the format as package translate knows it.
	Wire() translate.Format

	// BasePath is the path of the API's root on a server of this format,
	// which a provider's base URL ends with: the paths of its endpoints
	// are relative to it.
	BasePath() string
	// Chat is its chat endpoint for model, streaming or not: the path
	// relative to the base URL, the query it needs (Gemini's alt=sse), and
	// how usage is read from the answers.
	Chat(model string, stream bool) (path, query string, kind usage.Endpoint)
	// Authenticate sets the headers of an upstream request in this format:
	// key (when not empty) in the format's credential header, and the
	// format's version headers. translated says the body was translated
	// from a client of another format, whose own format headers do not
	// apply upstream.
	Authenticate(h http.Header, key string, translated bool)
	// TranslateRequest translates a chat request of a client speaking
	// from into this format, returning the members it dropped (see
	// package translate).
	TranslateRequest(from Format, body []byte, o translate.Options) (out []byte, removed []string, err error)
	// TranslateResponse translates a complete chat answer in this format
	// into the client's format to; model names the model in it.
	TranslateResponse(to Format, body []byte, model string) ([]byte, error)
	// TranslateStream returns the translator of a stream in this format
	// into the client's format to (a pass-through that observes when to is
	// this format). includeUsage adds the usage chunk to OpenAI streams it
	// writes.
	TranslateStream(to Format, model string, includeUsage bool) translate.Stream
	// IsStreamError reports whether an event of a stream in this format
	// reports an error.
	IsStreamError(name string, data []byte) bool

	// ErrorBody renders, in this format, the error body a provider of
	// another format answered with; status stays the provider's.
	ErrorBody(status int, body []byte) []byte
	// StreamError is the event that ends a stream in this format with an
	// error saying msg.
	StreamError(msg string) (name string, data []byte)
	// Continue turns a client's chat request in this format into the one
	// that continues an answer of which delivered already reached it.
	Continue(body []byte, delivered string) ([]byte, error)
}

// formats holds every Format by its catalog name.
var formats = map[catalog.Format]Format{}

// register adds f to the formats For finds.
func register(f Format) Format {
	formats[f.Name()] = f
	return f
}

// For returns the Format named f, or nil for a format the gateway does not
// speak (catalog.Format.Valid rejects those at provision).
func For(f catalog.Format) Format {
	return formats[f]
}
