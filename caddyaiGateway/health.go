package caddyaigateway

import (
	"crypto/sha256"
	"sync"
	"time"
)

// keyHealth remembers provider keys that were refused (401/403) or rate
// limited (429), shared by all requests: a cooling key is tried only
// after the healthy ones. Cooldowns double with each consecutive failure
// (capped) and a success forgets them, so health decays back.
//
// Entries are keyed by key, not by model, so clients cannot mint them;
// still, rotated and deleted keys never succeed again, so the map is
// bounded by maxKeyStates (see forget).
type keyHealth struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[16]byte]*keyState
}

type keyState struct {
	until    time.Time
	failures int
}

func newKeyHealth() *keyHealth { return &keyHealth{now: time.Now, m: map[[16]byte]*keyState{}} }

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

// maxKeyStates bounds how many keys keyHealth remembers.
const maxKeyStates = 4096

// failed starts or extends a key's cooldown; retryAfter (if any) is the
// provider's own hint for a 429.
func (h *keyHealth) failed(providerID, key string, status int, retryAfter time.Duration) {
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
func (h *keyHealth) forget(now time.Time) {
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

// succeeded forgets a key's failures.
func (h *keyHealth) succeeded(providerID, key string) {
	h.mu.Lock()
	delete(h.m, fingerprint(providerID, key))
	h.mu.Unlock()
}

// cooling reports whether a key is in its cooldown.
func (h *keyHealth) cooling(providerID, key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.m[fingerprint(providerID, key)]
	return st != nil && h.now().Before(st.until)
}

// order moves cooling keys after healthy ones, keeping the order within
// each group.
func (h *keyHealth) order(providerID string, keys []keyChoice) []keyChoice {
	if len(keys) < 2 {
		return keys
	}
	healthy := make([]keyChoice, 0, len(keys))
	var cooling []keyChoice
	for _, k := range keys {
		if h.cooling(providerID, k.value) {
			cooling = append(cooling, k)
		} else {
			healthy = append(healthy, k)
		}
	}
	return append(healthy, cooling...)
}
