package graphsvc

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPacerBurstsThenHoldsForTheWindow(t *testing.T) {
	const window = 200 * time.Millisecond
	p := newPacer(30, window)
	ctx := context.Background()
	// noWait is a context that has ended: acquire succeeds with it only when it need not wait.
	noWait, cancel := context.WithCancel(ctx)
	cancel()
	// Full speed up to the budget: 20 + 10 at once, no wait.
	if n, err := p.acquire(noWait, 20); n != 20 || err != nil {
		t.Fatalf("first acquire got %d, %v", n, err)
	}
	if n, err := p.acquire(noWait, 20); n != 10 || err != nil {
		t.Fatalf("second acquire got %d, %v; want the 10 left", n, err)
	}
	if n, err := p.acquire(noWait, 1); n != 0 || err == nil {
		t.Fatalf("acquire over the budget got %d, %v", n, err)
	}
	answered := time.Now()
	p.settle(20, 0, answered) // the first 20 answered now: they hold their place a full window more
	p.settle(4, 6, answered)  // of the next 10, 6 were throttled (unspent): their places free at once

	n, err := p.acquire(noWait, 20)
	if err != nil || n != 6 {
		t.Fatalf("after 6 unspent came back: got %d, %v", n, err)
	}
	n, err = p.acquire(ctx, 20)
	if waited := time.Since(answered); err != nil || n != 20 || waited < window {
		t.Fatalf("got %d, %v after %v; want 20 once the window passed the first answers (%v)", n, err, waited, window)
	}

	if n, _ := p.acquire(ctx, 30); n != 4 { // the 4 spent writes left the window with the first 20
		t.Fatalf("got %d, want the last 4", n)
	}

	// A caller that gives up while waiting gets its context's error.
	cctx, cancelWait := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelWait()
	if _, err := p.acquire(cctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire with nothing free: %v", err)
	}
}

func TestPacerWaitsForAnswersInFlight(t *testing.T) {
	p := newPacer(5, 50*time.Millisecond)
	ctx := context.Background()
	if n, _ := p.acquire(ctx, 5); n != 5 {
		t.Fatal(n)
	}
	got := make(chan time.Time)
	go func() {
		p.acquire(ctx, 5)
		got <- time.Now()
	}()
	time.Sleep(30 * time.Millisecond) // no answer yet: no room, however long it has been
	select {
	case <-got:
		t.Fatal("a place was given while all were in flight")
	default:
	}
	at := time.Now()
	p.settle(5, 0, at)
	if d := (<-got).Sub(at); d < 50*time.Millisecond {
		t.Errorf("a place came back %v after the answer, before the window passed", d)
	}
}

func TestPacerPause(t *testing.T) {
	p := newPacer(100, time.Second)
	p.pause(time.Now().Add(80 * time.Millisecond))
	start := time.Now()
	if n, err := p.acquire(context.Background(), 3); n != 3 || err != nil || time.Since(start) < 80*time.Millisecond {
		t.Errorf("got %d, %v after %v; want 3 after the pause", n, err, time.Since(start))
	}
	p.pause(time.Now().Add(-time.Second)) // a pause in the past changes nothing
	if n, _ := p.acquire(context.Background(), 3); n != 3 {
		t.Errorf("got %d", n)
	}
}
