package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Writer journals records to bbolt by group commit: one goroutine gathers
// what requests hand it and commits them together, every FlushInterval or
// MaxBatch records, so no request waits for an fsync of its own. Records
// enqueued before Close are committed by Close; a record that arrives
// after Close is committed on its own (or reported lost through OnError
// when the database is closed too), never a panic.
type Writer struct {
	db            *DB
	ch            chan *UsageEvent
	maxBatch      int
	flushInterval time.Duration
	done          chan struct{}
	closeOnce     sync.Once
	onError       func(error, int)
	commits       func(int)

	// mu guards closing ch against RecordUsage sending on it: senders
	// hold it shared, Close exclusively.
	mu     sync.RWMutex
	closed bool
}

// WriterOptions tunes a Writer.
type WriterOptions struct {
	MaxBatch      int           // default 512
	FlushInterval time.Duration // default 10ms
	Queue         int           // default 16384; a full queue makes enqueuers wait
	OnError       func(err error, lost int)
	OnCommit      func(n int) // observed by tests and metrics
}

// NewWriter starts a Writer.
func NewWriter(db *DB, o WriterOptions) *Writer {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 10 * time.Millisecond
	}
	if o.Queue <= 0 {
		o.Queue = 16384
	}
	w := &Writer{db: db, ch: make(chan *UsageEvent, o.Queue), maxBatch: o.MaxBatch,
		flushInterval: o.FlushInterval, done: make(chan struct{}), onError: o.OnError, commits: o.OnCommit}
	// Events of an older layout are converted before the first commit, so
	// the bucket never holds two formats.
	if err := db.bolt.Update(migrateUsage); err != nil && w.onError != nil {
		w.onError(fmt.Errorf("converting stored usage events: %w", err), 0)
	}
	go w.run()
	return w
}

// RecordUsage enqueues an event. It blocks only when the queue is full
// (backpressure rather than loss). After Close it commits the event
// synchronously.
func (w *Writer) RecordUsage(e *UsageEvent) {
	w.mu.RLock()
	if !w.closed {
		w.ch <- e // the writer goroutine drains ch until Close gets mu
		w.mu.RUnlock()
		return
	}
	w.mu.RUnlock()
	if err := w.commit([]*UsageEvent{e}); err != nil {
		w.report(fmt.Errorf("usage event recorded after the writer closed: %w", err), 1)
	}
}

// Close commits everything enqueued and stops the writer.
func (w *Writer) Close() {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.ch)
		w.mu.Unlock()
	})
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]*UsageEvent, 0, w.maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var e *UsageEvent
		var ok bool
		if len(batch) == 0 {
			e, ok = <-w.ch
			if !ok {
				return
			}
			batch = append(batch, e)
			timer.Reset(w.flushInterval)
			continue
		}
		select {
		case e, ok = <-w.ch:
			if !ok {
				w.commitBatch(batch)
				return
			}
			batch = append(batch, e)
			if len(batch) < w.maxBatch {
				continue
			}
		case <-timer.C:
		}
		timer.Stop()
		w.commitBatch(batch)
		batch = batch[:0]
	}
}

// commitBatch commits a batch and reports the outcome.
func (w *Writer) commitBatch(batch []*UsageEvent) {
	if err := w.commit(batch); err != nil {
		w.report(err, len(batch))
	}
}

// commit stores a batch in one transaction: the events, their index
// entries and the hourly rollups they add to.
func (w *Writer) commit(batch []*UsageEvent) error {
	err := w.db.bolt.Update(func(tx *bolt.Tx) error {
		ub, err := createUsage(tx)
		if err != nil {
			return err
		}
		if err := ub.put(batch); err != nil {
			return err
		}
		return deletePending(tx, batch)
	})
	if err == nil && w.commits != nil {
		w.commits(len(batch))
	}
	return err
}

func (w *Writer) report(err error, lost int) {
	if w.onError != nil {
		w.onError(err, lost)
	}
}

// createUsage returns the usage buckets of a write transaction, creating
// them (and marking the format) the first time.
func createUsage(tx *bolt.Tx) (*usageBuckets, error) {
	root, err := tx.CreateBucketIfNotExists(bucketUsage)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root.Get(usageFormatKey), usageFormat) {
		if err := root.Put(usageFormatKey, usageFormat); err != nil {
			return nil, err
		}
	}
	var ub usageBuckets
	for _, b := range []struct {
		name []byte
		dst  **bolt.Bucket
	}{{usageEventsB, &ub.events}, {usageIDsB, &ub.ids}, {usageRequestsB, &ub.requests},
		{usageAccessKeysB, &ub.accessKeys}, {usageAccountsB, &ub.accounts}, {usageHourlyB, &ub.hourly},
		{usageHourlyModB, &ub.hourlyModels}, {usageHourlyKeyB, &ub.hourlyKeys}} {
		if *b.dst, err = root.CreateBucketIfNotExists(b.name); err != nil {
			return nil, fmt.Errorf("creating bucket %s/%s: %w", bucketUsage, b.name, err)
		}
	}
	// Keys arrive (nearly) in order, at the end of their range: full pages
	// instead of bbolt's half-full split pages.
	for _, b := range []*bolt.Bucket{ub.events, ub.ids, ub.requests, ub.accessKeys, ub.accounts, ub.hourly, ub.hourlyModels, ub.hourlyKeys} {
		b.FillPercent = 0.9
	}
	return &ub, nil
}

// migrateUsage converts events stored by an older layout (JSON values at
// the top of usage_events) into the current one, in one transaction.
func migrateUsage(tx *bolt.Tx) error {
	root := tx.Bucket(bucketUsage)
	if root == nil || bytes.Equal(root.Get(usageFormatKey), usageFormat) {
		return nil
	}
	var old []*UsageEvent
	var keys [][]byte
	c := root.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil || bytes.Equal(k, usageFormatKey) { // a nested bucket, or the marker
			continue
		}
		keys = append(keys, append([]byte(nil), k...))
		var e UsageEvent
		if json.Unmarshal(v, &e) == nil && e.ID != "" {
			old = append(old, &e)
		}
	}
	for _, k := range keys {
		if err := root.Delete(k); err != nil {
			return err
		}
	}
	ub, err := createUsage(tx)
	if err != nil {
		return err
	}
	return ub.put(old)
}

// put adds events with their index entries and rollups. An event whose id
// is already stored is skipped, so a replayed batch is not counted twice.
func (ub *usageBuckets) put(batch []*UsageEvent) error {
	type rollupKey struct {
		b                                   *bolt.Bucket
		hour                                uint32
		provider, model, accessKey, account string
	}
	rollups := make(map[rollupKey]*UsageTotals)
	var pkb [8]byte
	for _, e := range batch {
		if ub.ids.Get([]byte(e.ID)) != nil {
			continue
		}
		ts := e.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		pk := pkOf(ts)
		for {
			binary.BigEndian.PutUint64(pkb[:], pk)
			if ub.events.Get(pkb[:]) == nil {
				break
			}
			pk++
		}
		flags := eventFlags(e)
		if err := ub.events.Put(be64(pk), appendEvent(nil, e, ts, pk, flags)); err != nil {
			return err
		}
		if err := ub.ids.Put([]byte(e.ID), be64(pk)); err != nil {
			return err
		}
		if err := ub.requests.Put(indexKey(e.RequestID, pk), nil); err != nil {
			return err
		}
		if e.AccessKeyID != "" {
			if err := ub.accessKeys.Put(indexKey(e.AccessKeyID, pk), []byte{flags}); err != nil {
				return err
			}
		}
		if e.AccountID != "" {
			if err := ub.accounts.Put(indexKey(e.AccountID, pk), []byte{flags}); err != nil {
				return err
			}
		}
		hour := uint32(pk / uint64(time.Hour))
		for _, rk := range [...]rollupKey{
			{ub.hourly, hour, e.ProviderID, e.Model, e.AccessKeyID, e.AccountID},
			{ub.hourlyModels, hour, e.ProviderID, e.Model, "", ""},
			{ub.hourlyKeys, hour, "", "", e.AccessKeyID, e.AccountID},
		} {
			t := rollups[rk]
			if t == nil {
				t = new(UsageTotals)
				rollups[rk] = t
			}
			t.addEvent(e)
		}
	}
	for rk, t := range rollups {
		k := rollupKeyBytes(rk.hour, rk.provider, rk.model, rk.accessKey, rk.account)
		if old := rk.b.Get(k); old != nil {
			prev, err := decodeTotals(old)
			if err != nil {
				return fmt.Errorf("decoding usage rollup: %w", err)
			}
			t.add(prev)
		}
		if err := rk.b.Put(k, t.appendTo(nil)); err != nil {
			return err
		}
	}
	return nil
}

func rollupKeyBytes(hour uint32, provider, model, accessKey, account string) []byte {
	k := binary.BigEndian.AppendUint32(make([]byte, 0, 4+4+len(provider)+len(model)+len(accessKey)+len(account)), hour)
	k = appendLP(k, provider)
	k = appendLP(k, model)
	k = appendLP(k, accessKey)
	return appendLP(k, account)
}
