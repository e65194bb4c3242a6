// Package health keeps what the gateway learns from its own traffic: a
// rolling window of outcomes per model (LiveStats) and the cooldowns of
// refused or rate-limited provider keys (KeyHealth). Both are shared by all
// requests and bounded, since clients choose pass-through model names.
package health

import (
	"crypto/sha256"
	"sync"
	"time"
)

// KeyHealth remembers provider keys that were refused (401/403) or rate
// limited (429), shared by all requests: a cooling key is tried only
// after the healthy ones. Cooldowns double with each consecutive failure
// (capped) and a success forgets them, so health decays back.
//
// Entries are keyed by key, not by model, so clients cannot mint them;
// still, rotated and deleted keys never succeed again, so the map is
// bounded by maxKeyStates (see forget).
type KeyHealth struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[16]byte]*keyState
}

type keyState struct {
	until    time.Time
	failures int
}

func NewKeyHealth() *KeyHealth { return &KeyHealth{now: time.Now, m: map[[16]byte]*keyState{}} }

// fingerprint identifies a key without keeping it.
func fingerprint(providerID, key string) [16]byte {
	h := sha256.Sum256([]byte(providerID + "\x00" + key))
	var f [16]byte
	copy(f[:], h[:16])
	return f
}

// Base cooldowns, doubled per consecutive failure up to the cap.
const (
	cooldownRateLimited = 5 * time.Second
	cooldownRefused     = 60 * time.Second
	cooldownCap         = 10 * time.Minute
)

// maxKeyStates bounds how many keys KeyHealth remembers.
const maxKeyStates = 4096

// Failed starts or extends a key's cooldown; retryAfter (if any) is the
// provider's own hint for a 429.
func (h *KeyHealth) Failed(providerID, key string, status int, retryAfter time.Duration) {
	base := cooldownRateLimited
	if status == 401 || status == 403 {
		base = cooldownRefused
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	f := fingerprint(providerID, key)
	st := h.m[f]
	if st == nil {
		if len(h.m) >= maxKeyStates {
			h.forget(now)
		}
		st = &keyState{}
		h.m[f] = st
	}
	st.failures++
	d := base << min(st.failures-1, 8)
	d = min(d, cooldownCap)
	if retryAfter > d {
		d = min(retryAfter, cooldownCap)
	}
	st.until = now.Add(d)
}

// forget makes room for new keys: it drops the keys that cooled down more
// than cooldownCap ago; if that is not enough, up to maxKeyStates/8 keys
// that are not cooling now (their failure count is all they hold); and
// if every key is cooling, the one whose cooldown ends first. h.mu is held.
func (h *KeyHealth) forget(now time.Time) {
	for f, st := range h.m {
		if now.Sub(st.until) > cooldownCap {
			delete(h.m, f)
		}
	}
	if len(h.m) < maxKeyStates {
		return
	}
	dropped := 0
	var first [16]byte
	var firstUntil time.Time
	for f, st := range h.m {
		if !now.Before(st.until) {
			delete(h.m, f)
			if dropped++; dropped == maxKeyStates/8 {
				return
			}
			continue
		}
		if firstUntil.IsZero() || st.until.Before(firstUntil) {
			first, firstUntil = f, st.until
		}
	}
	if dropped == 0 {
		delete(h.m, first)
	}
}

// Succeeded forgets a key's failures.
func (h *KeyHealth) Succeeded(providerID, key string) {
	h.mu.Lock()
	delete(h.m, fingerprint(providerID, key))
	h.mu.Unlock()
}

// Cooling reports whether a key is in its cooldown.
func (h *KeyHealth) Cooling(providerID, key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.m[fingerprint(providerID, key)]
	return st != nil && h.now().Before(st.until)
}

// Order moves cooling keys after healthy ones, keeping the order within
// each group; secret gives a key's value. It returns a new slice.
func Order[K any](h *KeyHealth, providerID string, keys []K, secret func(K) string) []K {
	if len(keys) < 2 {
		return keys
	}
	healthy := make([]K, 0, len(keys))
	var cooling []K
	for _, k := range keys {
		if h.Cooling(providerID, secret(k)) {
			cooling = append(cooling, k)
		} else {
			healthy = append(healthy, k)
		}
	}
	return append(healthy, cooling...)
}
