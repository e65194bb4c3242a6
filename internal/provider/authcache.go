package provider

import "sync"

// headerValues caches the one-value slices credential headers are set to
// (per key: "Bearer <key>" for OpenAI, the key for Anthropic), so an
// upstream request does not build them again. Header values are never
// modified in place, so the slices are shared. Provider keys are few; the
// cache is emptied if it ever holds maxCachedKeys.
type headerValues struct {
	mu     sync.RWMutex
	m      map[string][]string
	prefix string
}

const maxCachedKeys = 1024

var (
	bearerValues = &headerValues{prefix: "Bearer "}
	plainValues  = &headerValues{}
)

func (c *headerValues) get(key string) []string {
	c.mu.RLock()
	v := c.m[key]
	c.mu.RUnlock()
	if v != nil {
		return v
	}
	v = []string{c.prefix + key}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[string][]string)
	}
	c.m[key] = v
	c.mu.Unlock()
	return v
}
