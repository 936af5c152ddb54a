package graphsvc

import (
	"context"
	"slices"
	"sync"
	"time"
)

// pacer keeps writes within a budget per sliding window, the way Graph counts its write limit
// (3,000 writes per 150 s per app and tenant): at most `budget` writes in any `window`. A run goes
// at full speed until the budget is spent, then at the budget's rate, as earlier writes leave the
// window; it never has to discover the limit through 429s.
//
// Graph admits a write somewhere between the moment the request leaves and the moment its answer
// comes back, and the pacer cannot know where. So a write holds its place from acquire until its
// answer arrived plus a full window: Graph's own window has let go of it by then, whatever the
// network did. The price is one round trip per window, not a 429.
//
// A pacer is shared by every call of a Client (the budget is the app's, not the call's) and is
// safe for concurrent use.
type pacer struct {
	budget int
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex
	inflight int           // acquired, answer not yet back
	held     []hold        // answered writes still inside the window, by until
	heldN    int           // sum of held[].n
	paused   time.Time     // Graph said the budget is spent: nothing goes out before this
	changed  chan struct{} // closed (and replaced) whenever room may have appeared
}

type hold struct {
	until time.Time
	n     int
}

func newPacer(budget int, window time.Duration) *pacer {
	return &pacer{budget: budget, window: window, now: time.Now, changed: make(chan struct{})}
}

// acquire waits until the window has room and takes up to want places (at least one), or returns
// the context's error. Every place taken must be given back with settle.
func (p *pacer) acquire(ctx context.Context, want int) (int, error) {
	if want <= 0 {
		return 0, nil
	}
	for {
		p.mu.Lock()
		now := p.now()
		p.expire(now)
		var wakeAt time.Time
		room := p.budget - p.inflight - p.heldN
		switch {
		case now.Before(p.paused):
			wakeAt = p.paused
		case room > 0:
			n := min(want, room)
			p.inflight += n
			p.mu.Unlock()
			return n, nil
		case len(p.held) > 0:
			wakeAt = p.held[0].until
		}
		changed := p.changed
		p.mu.Unlock()

		if err := waitUntil(ctx, wakeAt.Sub(now), !wakeAt.IsZero(), changed); err != nil {
			return 0, err
		}
	}
}

// settle gives back places taken by acquire once their answers are in, at time `at`: spent writes
// (Graph may have counted them) stay in the window until at+window; unspent ones (never sent, or
// answered 429, which Graph does not count) leave at once.
func (p *pacer) settle(spent, unspent int, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight -= spent + unspent
	if spent > 0 {
		h := hold{until: at.Add(p.window), n: spent}
		i, _ := slices.BinarySearchFunc(p.held, h.until, func(a hold, t time.Time) int { return a.until.Compare(t) })
		p.held = slices.Insert(p.held, i, h)
		p.heldN += spent
	}
	p.notify()
}

// pause stops all writes until `until`: Graph answered WriteLimitExceeded, so something else (another
// replica, another tool with the same app registration) spends the same budget.
func (p *pacer) pause(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.paused) {
		p.paused = until
		p.notify()
	}
}

// expire drops the holds whose window has passed.
func (p *pacer) expire(now time.Time) {
	i := 0
	for i < len(p.held) && !p.held[i].until.After(now) {
		p.heldN -= p.held[i].n
		i++
	}
	if i > 0 {
		p.held = slices.Delete(p.held, 0, i)
	}
}

func (p *pacer) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitUntil waits for wake, for d when timed, or for the context to end (its error).
func waitUntil(ctx context.Context, d time.Duration, timed bool, wake <-chan struct{}) error {
	var timer <-chan time.Time
	if timed {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-wake:
	case <-timer:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
