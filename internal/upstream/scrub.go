package upstream

import (
	"bytes"
	"regexp"
)

// maskedSecret matches how providers echo a key back in error messages
// ("sk-ab***********wxyz").
var maskedSecret = regexp.MustCompile(`[A-Za-z0-9_\-]*\*{3,}[A-Za-z0-9_\-]*`)

var redacted = []byte("[redacted]")

// Scrub removes every trace of a provider key from a provider's
// error body: the key itself, its first and last eight characters, and
// masked renderings of it.
func Scrub(body []byte, key string) []byte {
	if key == "" {
		return body
	}
	body = bytes.ReplaceAll(body, []byte(key), redacted)
	if len(key) >= 16 {
		body = bytes.ReplaceAll(body, []byte(key[:8]), redacted)
		body = bytes.ReplaceAll(body, []byte(key[len(key)-8:]), redacted)
	}
	return maskedSecret.ReplaceAll(body, redacted)
}

// RedactError renders a transport error without any secret in it.
func RedactError(err error, key string) string {
	return string(Scrub([]byte(err.Error()), key))
}
