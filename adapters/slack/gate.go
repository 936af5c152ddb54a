package slack

import (
	"context"
	"sync"
	"time"
)

// ackGate puts acknowledgements before work. Slack gives up on a command after 3 s; a reset takes
// seconds anyway. When a burst of commands arrives, the work of the first ones (Graph requests, the
// store) would take the CPU from the acknowledgements of the rest, so work waits to start until no
// acknowledgement has been in progress for a quiet moment, but never longer than maxWait: under a
// steady stream it goes anyway.
type ackGate struct {
	mu      sync.Mutex
	acking  int
	gen     int           // counts the times acking fell to 0, so a stale quiet timer does nothing
	idle    chan struct{} // closed when the gate is open
	open    bool
	quiet   time.Duration
	maxWait time.Duration
}

func newAckGate(quiet, maxWait time.Duration) *ackGate {
	g := &ackGate{idle: make(chan struct{}), quiet: quiet, maxWait: maxWait}
	g.openLocked()
	return g
}

func (g *ackGate) openLocked() {
	if !g.open {
		close(g.idle)
		g.open = true
	}
}

// enter marks an acknowledgement begun: a request has arrived.
func (g *ackGate) enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		g.idle = make(chan struct{})
		g.open = false
	}
	g.acking++
}

// leave marks it sent. The gate opens once nothing else arrives for the quiet period.
func (g *ackGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.acking--
	if g.acking > 0 {
		return
	}
	g.gen++
	gen := g.gen
	time.AfterFunc(g.quiet, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.acking == 0 && g.gen == gen {
			g.openLocked()
		}
	})
}

// wait blocks until the gate opens, maxWait has passed, or ctx ends.
func (g *ackGate) wait(ctx context.Context) {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return
	default:
	}
	t := time.NewTimer(g.maxWait)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}
