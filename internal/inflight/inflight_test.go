package inflight

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestInflightDrainWaitsForSettlement(t *testing.T) {
	var f Tracker
	var settled atomic.Int32
	for i := 0; i < 3; i++ {
		ctx, e, ok := f.Enter(context.Background())
		if !ok {
			t.Fatal("refused before closing")
		}
		go func() {
			<-ctx.Done() // a stream runs until drain cuts it
			if !ShuttingDown(ctx) {
				t.Error("not cut by the shutdown")
			}
			time.Sleep(50 * time.Millisecond) // settling
			settled.Add(1)
			e.Leave()
		}()
	}
	if left := f.Drain(5 * time.Second); left != 0 {
		t.Fatalf("%d still in flight", left)
	}
	if settled.Load() != 3 {
		t.Fatalf("drain returned before %d requests settled", 3-settled.Load())
	}
	if _, _, ok := f.Enter(context.Background()); ok {
		t.Fatal("a request entered a closing store")
	}
}

func TestInflightDrainGivesUp(t *testing.T) {
	var f Tracker
	_, e, _ := f.Enter(context.Background()) // never leaves in time
	defer e.Leave()
	if left := f.Drain(20 * time.Millisecond); left != 1 {
		t.Fatalf("left %d, want 1", left)
	}
}

func TestInflightLeaveForgets(t *testing.T) {
	var f Tracker
	for i := 0; i < 1000; i++ {
		_, e, _ := f.Enter(context.Background())
		e.Leave()
	}
	if len(f.entries) != 0 {
		t.Fatalf("%d entries kept", len(f.entries))
	}
	if left := f.Drain(time.Second); left != 0 {
		t.Fatal(left)
	}
}
