package store

import (
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Writer journals records to bbolt by group commit: one goroutine gathers
// what requests hand it and commits them together, every FlushInterval or
// MaxBatch records, so no request waits for an fsync of its own. Records
// enqueued before Close are committed by Close.
type Writer struct {
	db            *DB
	ch            chan *UsageEvent
	maxBatch      int
	flushInterval time.Duration
	done          chan struct{}
	closeOnce     sync.Once
	onError       func(error, int)
	commits       func(int)
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
// (backpressure rather than loss).
func (w *Writer) RecordUsage(e *UsageEvent) { w.ch <- e }

// Close commits everything enqueued and stops the writer.
func (w *Writer) Close() {
	w.closeOnce.Do(func() { close(w.ch) })
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
				w.commit(batch)
				return
			}
			batch = append(batch, e)
			if len(batch) < w.maxBatch {
				continue
			}
		case <-timer.C:
		}
		timer.Stop()
		w.commit(batch)
		batch = batch[:0]
	}
}

// commit stores a batch in one transaction: the events, their index
// entries and the hourly rollups they add to.
func (w *Writer) commit(batch []*UsageEvent) {
	err := w.db.bolt.Update(func(tx *bolt.Tx) error {
		ub, err := createUsage(tx)
		if err != nil {
			return err
		}
		return ub.put(batch)
	})
	if err != nil && w.onError != nil {
		w.onError(err, len(batch))
	} else if err == nil && w.commits != nil {
		w.commits(len(batch))
	}
}
