package boltstore

import (
	"context"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"

	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Usage events live in nested buckets of the usage_events bucket:
//
//	events         pk → event (binary, see appendEvent)
//	ids            event id → pk
//	requests       lp(requestId) pk → ∅
//	access_keys    lp(accessKeyId) pk → flags
//	accounts       lp(accountId) pk → flags
//	hourly         hour lp(providerId) lp(model) lp(accessKeyId) lp(accountId) → totals
//	hourly_models  the same with access key and account empty
//	hourly_keys    the same with provider and model empty
//
// pk is the event's timestamp in Unix nanoseconds, big-endian, moved on
// by a nanosecond in the rare case it is taken: key order is time order,
// so a time range is one cursor walk. Every index key is its value's
// prefix followed by the pk, so a filtered range is one walk in the index.
// lp is a uvarint length and the bytes; hour is a big-endian uint32 of
// pk/1h (UTC hours); flags (flagFinal) lets a walk over an index skip
// retried attempts without reading the event.
//
// The rollups hold the sums of each hour per provider, model, access key
// and account, updated in the transaction that adds the events: an
// overview reads rollups, not events. With many access keys the full
// rollup has nearly a row per event, so two narrow ones answer what needs
// only the model dimensions (a few rows an hour) or only the key ones (a
// row per active key).
//
// A top-level key "format" marks this layout; top-level values are events
// of the first layout (JSON by id), which NewWriter converts.
var (
	usageFormatKey   = []byte("format")
	usageFormat      = []byte("2")
	usageEventsB     = []byte("events")
	usageIDsB        = []byte("ids")
	usageRequestsB   = []byte("requests")
	usageAccessKeysB = []byte("access_keys")
	usageAccountsB   = []byte("accounts")
	usageHourlyB     = []byte("hourly")
	usageHourlyModB  = []byte("hourly_models")
	usageHourlyKeyB  = []byte("hourly_keys")
)

const (
	flagFinal     = 1 << 0
	flagStreaming = 1 << 1
	flagEstimated = 1 << 2

	eventVersion = 1
)

// usageBuckets are the nested buckets of one transaction.
type usageBuckets struct {
	events, ids, requests, accessKeys, accounts *bolt.Bucket
	hourly, hourlyModels, hourlyKeys            *bolt.Bucket
}

// openUsage returns the usage buckets; nil (in a read transaction) when no
// event was ever written.
func openUsage(tx *bolt.Tx) *usageBuckets {
	root := tx.Bucket(bucketUsage)
	if root == nil {
		return nil
	}
	ub := &usageBuckets{events: root.Bucket(usageEventsB), ids: root.Bucket(usageIDsB), requests: root.Bucket(usageRequestsB),
		accessKeys: root.Bucket(usageAccessKeysB), accounts: root.Bucket(usageAccountsB),
		hourly: root.Bucket(usageHourlyB), hourlyModels: root.Bucket(usageHourlyModB), hourlyKeys: root.Bucket(usageHourlyKeyB)}
	for _, b := range []*bolt.Bucket{ub.events, ub.ids, ub.requests, ub.accessKeys, ub.accounts, ub.hourly, ub.hourlyModels, ub.hourlyKeys} {
		if b == nil {
			return nil
		}
	}
	return ub
}

// readRollupKey splits a rollup key; ok is false for a malformed one.
func readRollupKey(k []byte) (hour uint64, provider, model, accessKey, account []byte, ok bool) {
	if len(k) < 4 {
		return 0, nil, nil, nil, nil, false
	}
	r := reader{b: k[4:]}
	provider, model, accessKey, account = r.bytes(), r.bytes(), r.bytes(), r.bytes()
	return uint64(binary.BigEndian.Uint32(k)), provider, model, accessKey, account, !r.bad
}

// pkOf is the key of time t: Unix nanoseconds, clamped to what fits.
func pkOf(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

// indexKey is lp(value) followed by pk.
func indexKey(value string, pk uint64) []byte {
	k := make([]byte, 0, binary.MaxVarintLen64+len(value)+8)
	k = appendLP(k, value)
	return binary.BigEndian.AppendUint64(k, pk)
}

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func eventFlags(e *store.UsageEvent) byte {
	var f byte
	if e.Final() {
		f |= flagFinal
	}
	if e.Streaming {
		f |= flagStreaming
	}
	if e.UsageEstimated {
		f |= flagEstimated
	}
	return f
}

// appendEvent encodes an event. The fields filters look at come first,
// so a walk can test an event without decoding it (readHead).
//
//	version flags uvarint(pk-ts) lp(providerId) lp(model) lp(accessKeyId) lp(accountId)
//	lp(id) lp(requestId) varint(attempt) lp(endpoint) lp(keySource) varint(status)
//	lp(stopReason) lp(retryAction) varint(input output cacheRead cacheWrite reasoning
//	cost latencyMs ttftMs) lp(error), then fields added later, each read
//	only when present: varint(fee) lp(providerKeyId) lp(virtualModel)
//	lp(firewall decisions as JSON)
func appendEvent(b []byte, e *store.UsageEvent, ts time.Time, pk uint64, flags byte) []byte {
	b = append(b, eventVersion, flags)
	b = binary.AppendUvarint(b, pk-pkOf(ts))
	b = appendLP(b, e.ProviderID)
	b = appendLP(b, e.Model)
	b = appendLP(b, e.AccessKeyID)
	b = appendLP(b, e.AccountID)
	b = appendLP(b, e.ID)
	b = appendLP(b, e.RequestID)
	b = binary.AppendVarint(b, int64(e.Attempt))
	b = appendLP(b, e.Endpoint)
	b = appendLP(b, e.KeySource)
	b = binary.AppendVarint(b, int64(e.Status))
	b = appendLP(b, e.StopReason)
	b = appendLP(b, e.RetryAction)
	for _, n := range [...]int64{e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens,
		e.ReasoningTokens, int64(e.Cost), e.LatencyMs, e.TTFTMs} {
		b = binary.AppendVarint(b, n)
	}
	b = appendLP(b, e.Error)
	// fields added later: decoders read them only when present
	b = binary.AppendVarint(b, int64(e.Fee))
	b = appendLP(b, e.ProviderKeyID)
	b = appendLP(b, e.VirtualModel)
	return appendLP(b, firewallJSON(e.Firewall))
}

// firewallJSON encodes an event's firewall decisions ("" for none).
func firewallJSON(ds []store.FirewallDecision) string {
	if len(ds) == 0 {
		return ""
	}
	b, _ := json.Marshal(ds) // plain strings and ints: cannot fail
	return string(b)
}

// parseFirewall decodes what firewallJSON encoded.
func parseFirewall(s string) ([]store.FirewallDecision, error) {
	if s == "" {
		return nil, nil
	}
	var ds []store.FirewallDecision
	err := json.Unmarshal([]byte(s), &ds)
	return ds, err
}

// reader reads an encoded value; a short or malformed value sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.bytes()) }

// eventHead is the part of an encoded event filters look at; its slices
// point into the database page and are valid only in the transaction.
type eventHead struct {
	flags                               byte
	delta                               uint64
	provider, model, accessKey, account []byte
}

func readHead(v []byte) (h eventHead, rest reader, err error) {
	if len(v) < 2 || v[0] != eventVersion {
		return h, rest, errors.New("unknown usage event encoding")
	}
	rest = reader{b: v[2:]}
	h.flags = v[1]
	h.delta = rest.uvarint()
	h.provider, h.model, h.accessKey, h.account = rest.bytes(), rest.bytes(), rest.bytes(), rest.bytes()
	if rest.bad {
		return h, rest, errors.New("truncated usage event")
	}
	return h, rest, nil
}

// decodeEvent decodes the event stored under pk.
func decodeEvent(pk uint64, v []byte) (*store.UsageEvent, error) {
	h, r, err := readHead(v)
	if err != nil {
		return nil, err
	}
	e := &store.UsageEvent{
		Timestamp:  time.Unix(0, int64(pk-h.delta)).UTC(),
		ProviderID: string(h.provider), Model: string(h.model),
		AccessKeyID: string(h.accessKey), AccountID: string(h.account),
		Streaming: h.flags&flagStreaming != 0, UsageEstimated: h.flags&flagEstimated != 0,
	}
	e.ID = r.str()
	e.RequestID = r.str()
	e.Attempt = int(r.varint())
	e.Endpoint = r.str()
	e.KeySource = r.str()
	e.Status = int(r.varint())
	e.StopReason = r.str()
	e.RetryAction = r.str()
	e.InputTokens, e.OutputTokens, e.CacheReadTokens = r.varint(), r.varint(), r.varint()
	e.CacheWriteTokens, e.ReasoningTokens = r.varint(), r.varint()
	e.Cost = money.Nano(r.varint())
	e.LatencyMs, e.TTFTMs = r.varint(), r.varint()
	e.Error = r.str()
	if r.bad {
		return nil, errors.New("truncated usage event")
	}
	if len(r.b) > 0 {
		e.Fee = money.Nano(r.varint())
		e.ProviderKeyID = r.str()
		if r.bad {
			return nil, errors.New("truncated usage event")
		}
	}
	if len(r.b) > 0 {
		e.VirtualModel = r.str()
		if r.bad {
			return nil, errors.New("truncated usage event")
		}
	}
	if len(r.b) > 0 {
		fw, err := parseFirewall(r.str())
		if r.bad || err != nil {
			return nil, errors.New("malformed firewall decisions in a usage event")
		}
		e.Firewall = fw
	}
	return e, nil
}

// eventTotals reads what an overview sums from an encoded event, without
// allocating: the head and the counters.
func eventTotals(v []byte) (eventHead, store.UsageTotals, error) {
	h, r, err := readHead(v)
	if err != nil {
		return h, store.UsageTotals{}, err
	}
	r.bytes()  // id
	r.bytes()  // requestId
	r.varint() // attempt
	r.bytes()  // endpoint
	r.bytes()  // keySource
	r.varint() // status
	r.bytes()  // stopReason
	action := r.bytes()
	t := store.UsageTotals{Attempts: 1}
	if h.flags&flagFinal != 0 {
		t.Requests = 1
		if string(action) != store.RetrySucceeded {
			t.FailedRequests = 1
		}
	}
	t.InputTokens, t.OutputTokens, t.CacheReadTokens = r.varint(), r.varint(), r.varint()
	t.CacheWriteTokens, t.ReasoningTokens = r.varint(), r.varint()
	t.Cost = money.Nano(r.varint())
	r.varint() // latencyMs
	r.varint() // ttftMs
	r.bytes()  // error
	if r.bad {
		return h, t, errors.New("truncated usage event")
	}
	if len(r.b) > 0 {
		t.Fees = money.Nano(r.varint())
	}
	return h, t, nil
}

func appendTotals(b []byte, t *store.UsageTotals) []byte {
	for _, n := range [...]int64{t.Requests, t.FailedRequests, t.Attempts, t.InputTokens, t.OutputTokens,
		t.CacheReadTokens, t.CacheWriteTokens, t.ReasoningTokens, int64(t.Cost), int64(t.Fees)} {
		b = binary.AppendVarint(b, n)
	}
	return b
}

func decodeTotals(v []byte) (store.UsageTotals, error) {
	r := reader{b: v}
	t := store.UsageTotals{Requests: r.varint(), FailedRequests: r.varint(), Attempts: r.varint(),
		InputTokens: r.varint(), OutputTokens: r.varint(), CacheReadTokens: r.varint(),
		CacheWriteTokens: r.varint(), ReasoningTokens: r.varint(), Cost: money.Nano(r.varint())}
	if r.bad {
		return t, errors.New("truncated usage totals")
	}
	if len(r.b) > 0 {
		t.Fees = money.Nano(r.varint())
	}
	return t, nil
}

// ListUsage returns up to q.Limit events, newest first, and whether more
// follow. With an access key or account filter it walks that index; with
// a provider or model filter, the events of the hours whose rollup shows a
// match; otherwise the events of the range, newest first, testing each
// one's head.
func (db *DB) ListUsage(_ context.Context, q store.UsageList) (events []*store.UsageEvent, more bool, err error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	lo, hi := pkOf(q.From), pkOf(q.To)
	err = db.bolt.View(func(tx *bolt.Tx) error {
		ub := openUsage(tx)
		if ub == nil {
			if q.BeforeID != "" {
				return store.ErrUnknownCursor
			}
			return nil
		}
		if q.BeforeID != "" {
			v := ub.ids.Get([]byte(q.BeforeID))
			if len(v) != 8 {
				return store.ErrUnknownCursor
			}
			hi = min(hi, binary.BigEndian.Uint64(v))
		}
		var ferr error
		done := false
		// visit tests one event; false stops the walk.
		visit := func(pk uint64, v []byte) bool {
			h, _, err := readHead(v)
			if err != nil {
				ferr = fmt.Errorf("usage event at %d: %w", pk, err)
				done = true
				return false
			}
			if (!q.IncludeRetries && h.flags&flagFinal == 0) || !q.Match(h.provider, h.model, h.accessKey, h.account) {
				return true
			}
			if len(events) == q.Limit {
				more, done = true, true
				return false
			}
			e, err := decodeEvent(pk, v)
			if err != nil {
				ferr = fmt.Errorf("usage event at %d: %w", pk, err)
				done = true
				return false
			}
			events = append(events, e)
			return true
		}
		viaIndex := func(pk uint64, flags []byte) bool {
			if !q.IncludeRetries && len(flags) == 1 && flags[0]&flagFinal == 0 {
				return true
			}
			if v := ub.events.Get(be64(pk)); v != nil {
				return visit(pk, v)
			}
			return true
		}
		switch {
		case q.AccessKeyID != "":
			walkBack(ub.accessKeys, lpPrefix(q.AccessKeyID), lo, hi, viaIndex)
		case q.AccountID != "":
			walkBack(ub.accounts, lpPrefix(q.AccountID), lo, hi, viaIndex)
		case q.ProviderID != "" || q.Model != "":
			for _, h := range matchingHours(ub.hourlyModels, &q.UsageFilter, !q.IncludeRetries, lo, hi) {
				walkBack(ub.events, nil, max(lo, h*hourNs), min(hi, (h+1)*hourNs), visit)
				if done {
					break
				}
			}
		default:
			walkBack(ub.events, nil, lo, hi, visit)
		}
		return ferr
	})
	return events, more, err
}

const hourNs = uint64(time.Hour)

// matchingHours returns, newest first, the hours of [lo, hi) whose rollup
// rows in b match f (with a final attempt, if finalOnly).
func matchingHours(b *bolt.Bucket, f *store.UsageFilter, finalOnly bool, lo, hi uint64) []uint64 {
	if lo >= hi {
		return nil
	}
	first, last := lo/hourNs, (hi-1)/hourNs
	var hours []uint64
	c := b.Cursor()
	var v []byte
	k, _ := c.Seek(binary.BigEndian.AppendUint32(nil, uint32(last+1)))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil; k, v = c.Prev() {
		h, provider, model, accessKey, account, ok := readRollupKey(k)
		if !ok {
			continue
		}
		if h < first {
			break
		}
		if (len(hours) > 0 && hours[len(hours)-1] == h) || !f.Match(provider, model, accessKey, account) {
			continue
		}
		if finalOnly {
			if t, err := decodeTotals(v); err != nil || t.Requests == 0 {
				continue
			}
		}
		hours = append(hours, h)
	}
	return hours
}

func lpPrefix(s string) []byte { return appendLP(nil, s) }

// walkBack calls fn for the keys prefix+pk of b with pk in [lo, hi),
// newest first, while fn returns true.
func walkBack(b *bolt.Bucket, prefix []byte, lo, hi uint64, fn func(pk uint64, v []byte) bool) {
	if lo >= hi {
		return
	}
	c := b.Cursor()
	var v []byte
	k, _ := c.Seek(append(append([]byte(nil), prefix...), be64(hi)...))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil; k, v = c.Prev() {
		if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
			return
		}
		pk := binary.BigEndian.Uint64(k[len(prefix):])
		if pk < lo || !fn(pk, v) {
			return
		}
	}
}

// walkForward calls fn for the keys prefix+pk of b with pk in [lo, hi),
// oldest first, while fn returns true.
func walkForward(b *bolt.Bucket, prefix []byte, lo, hi uint64, fn func(pk uint64, v []byte) bool) {
	if lo >= hi {
		return
	}
	c := b.Cursor()
	for k, v := c.Seek(append(append([]byte(nil), prefix...), be64(lo)...)); k != nil; k, v = c.Next() {
		if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
			return
		}
		pk := binary.BigEndian.Uint64(k[len(prefix):])
		if pk >= hi || !fn(pk, v) {
			return
		}
	}
}

// RequestUsage returns a request's attempts in order; ErrNotFound when it
// has none. It reads the request's index entries only.
func (db *DB) RequestUsage(_ context.Context, requestID string) ([]*store.UsageEvent, error) {
	var out []*store.UsageEvent
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ub := openUsage(tx)
		if ub == nil {
			return nil
		}
		var err error
		walkForward(ub.requests, lpPrefix(requestID), 0, math.MaxUint64, func(pk uint64, _ []byte) bool {
			v := ub.events.Get(be64(pk))
			if v == nil {
				return true
			}
			var e *store.UsageEvent
			if e, err = decodeEvent(pk, v); err != nil {
				return false
			}
			out = append(out, e)
			return true
		})
		return err
	})
	if err == nil && len(out) == 0 {
		return nil, store.ErrNotFound
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Attempt < out[j].Attempt })
	return out, err
}

// UsageEventByID returns one event; ErrNotFound if absent.
func (db *DB) UsageEventByID(_ context.Context, id string) (*store.UsageEvent, error) {
	var e *store.UsageEvent
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ub := openUsage(tx)
		if ub == nil {
			return store.ErrNotFound
		}
		k := ub.ids.Get([]byte(id))
		if len(k) != 8 {
			return store.ErrNotFound
		}
		v := ub.events.Get(k)
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		e, err = decodeEvent(binary.BigEndian.Uint64(k), v)
		return err
	})
	return e, err
}

// Usage returns the events of q in the order they were recorded (by id).
// It serves tests and tools; the management API pages with ListUsage.
func (db *DB) Usage(ctx context.Context, q store.UsageQuery) ([]*store.UsageEvent, error) {
	lo, hi := pkOf(q.From), uint64(math.MaxUint64)
	if !q.To.IsZero() {
		hi = pkOf(q.To)
	}
	var out []*store.UsageEvent
	if q.RequestID != "" {
		all, err := db.RequestUsage(ctx, q.RequestID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		for _, e := range all {
			if pk := pkOf(e.Timestamp); pk >= lo && pk < hi && (q.Limit <= 0 || len(out) < q.Limit) {
				out = append(out, e)
			}
		}
	} else {
		err := db.bolt.View(func(tx *bolt.Tx) error {
			ub := openUsage(tx)
			if ub == nil {
				return nil
			}
			var err error
			walkForward(ub.events, nil, lo, hi, func(pk uint64, v []byte) bool {
				var e *store.UsageEvent
				if e, err = decodeEvent(pk, v); err != nil {
					return false
				}
				out = append(out, e)
				return q.Limit <= 0 || len(out) < q.Limit
			})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// UsageOverview sums usage over [From, To). The whole hours of the range
// come from the narrowest rollup that has the dimensions the query groups
// and filters by; only the partial hours at its ends are summed from
// events.
func (db *DB) UsageOverview(_ context.Context, q store.UsageOverviewQuery) (*store.UsageOverview, error) {
	width := uint64(24 * time.Hour)
	if q.Bucket == store.BucketHour {
		width = hourNs
	}
	groups := make(map[string]*store.UsageBucket)
	var kb []byte
	add := func(pk uint64, provider, model, accessKey, account []byte, t *store.UsageTotals) {
		switch q.GroupBy {
		case store.GroupByProvider:
			model, accessKey, account = nil, nil, nil
		case store.GroupByModel:
			accessKey, account = nil, nil
		case store.GroupByAccessKey:
			provider, model, account = nil, nil, nil
		case store.GroupByAccount:
			provider, model, accessKey = nil, nil, nil
		default:
			provider, model, accessKey, account = nil, nil, nil, nil
		}
		start := pk - pk%width
		kb = binary.BigEndian.AppendUint64(kb[:0], start)
		for _, d := range [...][]byte{provider, model, accessKey, account} {
			kb = binary.AppendUvarint(kb, uint64(len(d)))
			kb = append(kb, d...)
		}
		g := groups[string(kb)]
		if g == nil {
			g = &store.UsageBucket{Start: time.Unix(0, int64(start)).UTC(), ProviderID: string(provider), Model: string(model),
				AccessKeyID: string(accessKey), AccountID: string(account)}
			groups[string(kb)] = g
		}
		g.Add(*t)
	}
	lo, hi := pkOf(q.From), pkOf(q.To)
	fullLo, fullHi := (lo+hourNs-1)/hourNs*hourNs, hi/hourNs*hourNs
	if fullLo >= fullHi {
		fullLo, fullHi = hi, hi
	}

	err := db.bolt.View(func(tx *bolt.Tx) error {
		ub := openUsage(tx)
		if ub == nil {
			return nil
		}
		var err error
		scan := func(lo, hi uint64) {
			walkForward(ub.events, nil, lo, hi, func(pk uint64, v []byte) bool {
				h, t, e := eventTotals(v)
				if e != nil {
					err = fmt.Errorf("usage event at %d: %w", pk, e)
					return false
				}
				if q.Match(h.provider, h.model, h.accessKey, h.account) {
					add(pk, h.provider, h.model, h.accessKey, h.account, &t)
				}
				return true
			})
		}
		scan(lo, fullLo)
		if err == nil {
			scan(fullHi, hi)
		}
		if err != nil || fullLo >= fullHi {
			return err
		}
		c := rollupOf(&q, ub).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint32(nil, uint32(fullLo/hourNs))); k != nil; k, v = c.Next() {
			h, provider, model, accessKey, account, ok := readRollupKey(k)
			if !ok {
				return fmt.Errorf("malformed usage rollup key %x", k)
			}
			if h >= fullHi/hourNs {
				break
			}
			if !q.Match(provider, model, accessKey, account) {
				continue
			}
			t, err := decodeTotals(v)
			if err != nil {
				return err
			}
			add(h*hourNs, provider, model, accessKey, account, &t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &store.UsageOverview{Buckets: make([]store.UsageBucket, 0, len(groups))}
	for _, g := range groups {
		out.Buckets = append(out.Buckets, *g)
	}
	out.Finish()
	return out, nil
}

// rollup is the narrowest rollup with the dimensions q needs.
func rollupOf(q *store.UsageOverviewQuery, ub *usageBuckets) *bolt.Bucket {
	models := q.GroupBy == store.GroupByProvider || q.GroupBy == store.GroupByModel || q.ProviderID != "" || q.Model != ""
	keys := q.GroupBy == store.GroupByAccessKey || q.GroupBy == store.GroupByAccount || q.AccessKeyID != "" || q.AccountID != ""
	switch {
	case models && keys:
		return ub.hourly
	case keys:
		return ub.hourlyKeys
	default:
		return ub.hourlyModels
	}
}

// Usage events of a settlement are journaled in its transaction, so a
// crash never leaves a charge without its events; but they are stored in
// full (indexes, hourly rollups) by the group-commit Writer, which is many
// times cheaper per event. The journal is the bucket usage_pending (event
// id → encoded event): the Writer deletes each entry in the transaction that stores
// the event, and Open stores whatever a crash left there. Entries use the
// stored binary layout (appendEvent) behind the event's 8-byte time key.

var bucketUsagePending = []byte("usage_pending")

// putPending journals events in tx, in the stored binary layout behind
// their time key. The caller hands the same events to the Writer once tx
// committed.
func putPending(tx *bolt.Tx, events []*store.UsageEvent) error {
	if len(events) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketUsagePending)
	if err != nil {
		return err
	}
	for _, e := range events {
		ts := e.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		pk := pkOf(ts)
		if err := b.Put([]byte(e.ID), appendEvent(be64(pk), e, ts, pk, eventFlags(e))); err != nil {
			return err
		}
	}
	return nil
}

// deletePending removes the journal entries of events now stored in full.
func deletePending(tx *bolt.Tx, events []*store.UsageEvent) error {
	b := tx.Bucket(bucketUsagePending)
	if b == nil || isEmpty(b) {
		return nil
	}
	for _, e := range events {
		if err := b.Delete([]byte(e.ID)); err != nil {
			return err
		}
	}
	return nil
}

func isEmpty(b *bolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k == nil
}

// replayPending stores in full the journaled events a crash left behind
// (at Open, before anything else runs).
func replayPending(tx *bolt.Tx) error {
	b := tx.Bucket(bucketUsagePending)
	if b == nil || isEmpty(b) {
		return nil
	}
	var events []*store.UsageEvent
	var keys [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if len(v) < 8 {
			return fmt.Errorf("decoding journaled usage event %s: too short", k)
		}
		e, err := decodeEvent(binary.BigEndian.Uint64(v), v[8:])
		if err != nil {
			return fmt.Errorf("decoding journaled usage event %s: %w", k, err)
		}
		events = append(events, e)
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	ub, err := createUsage(tx)
	if err != nil {
		return err
	}
	if err := ub.put(events); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
