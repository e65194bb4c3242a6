package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// now is the dashboard's clock; tests move it to expire sessions.
var now = time.Now

// session is one dashboard login. It lives only in this process's memory:
// the browser holds its random id in a cookie, never the management key.
type session struct {
	key      string // the management key logged in with; checked again on every call
	csrf     string // the token non-GET calls must send in X-CSRF-Token
	created  time.Time
	lastSeen time.Time
}

// sessionStore holds the dashboard sessions of this process. It is shared
// by every ai_dashboard handler through a caddy.UsagePool, so a config
// reload does not log operators out; each handler applies its own
// lifetimes when it looks a session up.
type sessionStore struct {
	mu sync.Mutex
	// byHash is keyed by the SHA-256 of the session id, so the id itself
	// is kept nowhere and a lookup's timing says nothing about it.
	byHash map[[32]byte]*session
}

// Destruct implements caddy.Destructor: the last dashboard is gone.
func (s *sessionStore) Destruct() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.byHash)
	return nil
}

var sessionPool = caddy.NewUsagePool()

const sessionPoolKey = "ai_dashboard_sessions"

// loadSessionStore returns the process's session store; release it with
// sessionPool.Delete(sessionPoolKey).
func loadSessionStore() *sessionStore {
	v, _, _ := sessionPool.LoadOrNew(sessionPoolKey, func() (caddy.Destructor, error) {
		return &sessionStore{byHash: map[[32]byte]*session{}}, nil
	})
	return v.(*sessionStore)
}

// sessionLifetimes say when a session ends: after idle without a call,
// and after absolute since login whatever its use.
type sessionLifetimes struct {
	idle, absolute time.Duration
}

func (l sessionLifetimes) expired(s *session, t time.Time) bool {
	return t.Sub(s.lastSeen) >= l.idle || t.Sub(s.created) >= l.absolute
}

// expiresAt is when s ends if it is not used again.
func (l sessionLifetimes) expiresAt(s *session) time.Time {
	idle, abs := s.lastSeen.Add(l.idle), s.created.Add(l.absolute)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// create starts a session for key and returns its id. Sessions expired
// under l are swept first.
func (s *sessionStore) create(key string, l sessionLifetimes) (id string, sess *session) {
	t := now()
	id, csrf := randomToken(), randomToken()
	sess = &session{key: key, csrf: csrf, created: t, lastSeen: t}
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, old := range s.byHash {
		if l.expired(old, t) {
			delete(s.byHash, h)
		}
	}
	s.byHash[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// lookup returns the live session with id and marks it used; an expired
// one is deleted and nil returned.
func (s *sessionStore) lookup(id string, l sessionLifetimes) *session {
	if id == "" {
		return nil
	}
	h := sha256.Sum256([]byte(id))
	t := now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byHash[h]
	if sess == nil {
		return nil
	}
	if l.expired(sess, t) {
		delete(s.byHash, h)
		return nil
	}
	sess.lastSeen = t
	cp := *sess
	return &cp
}

// remove ends the session with id (logout, or its key was revoked).
func (s *sessionStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byHash, sha256.Sum256([]byte(id)))
}

// randomToken is 256 random bits, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Interface guards
var _ caddy.Destructor = (*sessionStore)(nil)
