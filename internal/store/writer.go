package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// UsageStorer stores usage events in full, in one transaction per call;
// an event whose id is stored already is skipped. Engines implement it.
type UsageStorer interface {
	StoreUsage(ctx context.Context, events []*UsageEvent) error
}

// Writer stores usage events by group commit: one goroutine gathers
// what requests hand it and commits them together (UsageStorer.StoreUsage), every FlushInterval or
// MaxBatch records, so no request waits for an fsync of its own. Records
// enqueued before Close are committed by Close; a record that arrives
// after Close is committed on its own (or reported lost through OnError
// when the database is closed too), never a panic.
type Writer struct {
	db            UsageStorer
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
func NewWriter(db UsageStorer, o WriterOptions) *Writer {
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

// commit stores a batch in one transaction.
func (w *Writer) commit(batch []*UsageEvent) error {
	// A batch must be stored even while the gateway shuts down.
	err := w.db.StoreUsage(context.Background(), batch)
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
