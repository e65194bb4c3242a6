// Package ids makes the gateway's resource identifiers: a typed prefix and
// a 26-character, time-ordered, base32 body (ULID layout: 48 bits of
// milliseconds, 80 random bits). Ordering by id is ordering by creation,
// which is what cursor paging (?beforeId=) relies on.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford base32, lower case

var (
	mu       sync.Mutex
	lastMs   uint64
	lastRand [10]byte
)

// New returns prefix + "_" + a new time-ordered id. Ids made in the same
// millisecond by this process still sort in creation order.
func New(prefix string) string {
	return prefix + "_" + body(time.Now())
}

// At returns an id for time t with a random tail (no monotonic guarantee
// within a millisecond); for keys of records whose time is given.
func At(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	var r [10]byte
	_, _ = rand.Read(r[:])
	copy(b[6:], r[:])
	return prefix + "_" + encode(b)
}

func body(t time.Time) string {
	ms := uint64(t.UnixMilli())
	mu.Lock()
	var r [10]byte
	if ms == lastMs {
		// monotonic within the millisecond: increment the random part
		r = lastRand
		for i := 9; i >= 0; i-- {
			r[i]++
			if r[i] != 0 {
				break
			}
		}
	} else {
		_, _ = rand.Read(r[:])
		if ms < lastMs {
			ms = lastMs // clock went backwards: stay ordered
			r = lastRand
			r[9]++
		}
	}
	lastMs, lastRand = ms, r
	mu.Unlock()

	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	copy(b[6:], r[:])
	return encode(b)
}

// encode writes the 128-bit value as 26 base32 characters (the first
// character carries only 3 bits).
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
