package graphtest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// The knobs below shape how the server answers. Faults queue up in the order they were asked for:
// FailNext(1, 503) then ThrottleNext(2, time.Second) fails one request, then throttles two. A "request"
// is an HTTP request of its own or an item of a $batch; the $batch envelope itself takes no fault,
// no latency and no budget, because Graph throttles batch items one by one. Unauthenticated requests
// are answered 401 before any knob applies.

type faultKind int

const (
	faultNone faultKind = iota
	faultThrottle
	faultFail
	faultHang
)

type fault struct {
	kind       faultKind
	status     int
	retryAfter time.Duration
	writesOnly bool // waits for the next write, letting reads through
	// afterApplying makes a failure or a hang happen after the call took effect: the directory
	// changed, and the client is told otherwise or nothing.
	afterApplying bool
}

// SetLatency adds d to every request. A request stops waiting when its client gives up.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// ThrottleNext makes the next n requests answer 429 TooManyRequests with a Retry-After header of
// retryAfter in whole seconds, rounded up and at least 1 (0 sends "0").
func (s *Server) ThrottleNext(n int, retryAfter time.Duration) {
	s.queue(n, fault{kind: faultThrottle, retryAfter: retryAfter})
}

// ThrottleNextWrite is ThrottleNext for the next n writes (every method but GET and HEAD): reads
// pass untouched, so a test can throttle the reset itself rather than the lookups before it.
func (s *Server) ThrottleNextWrite(n int, retryAfter time.Duration) {
	s.queue(n, fault{kind: faultThrottle, retryAfter: retryAfter, writesOnly: true})
}

// FailNextWrite is FailNext for the next n writes.
func (s *Server) FailNextWrite(n int, status int) {
	s.queue(n, fault{kind: faultFail, status: status, writesOnly: true})
}

// FailNext makes the next n requests answer status (500, 502, 503, 504, or any other error status)
// with a Graph error body.
func (s *Server) FailNext(n int, status int) {
	s.queue(n, fault{kind: faultFail, status: status})
}

// HangNext makes the next n requests never answer: they are held until the client cancels or the
// server closes, then their connection is dropped.
func (s *Server) HangNext(n int) {
	s.queue(n, fault{kind: faultHang})
}

func (s *Server) queue(n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// SetWriteBudget limits writes (every method but GET and HEAD) to `writes` per sliding window of
// `per`, like Graph's 3,000 writes per 150 s per app and tenant. A write over budget answers 429 with
// x-ms-throttle-information: WriteLimitExceeded and a Retry-After that says when the oldest write in
// the window leaves it. Throttled writes do not spend budget. writes <= 0 means unlimited (the default).
func (s *Server) SetWriteBudget(writes int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.budget = writeBudget{limit: writes, per: per}
}

// SetAppRole sets the directory role (template ID) held tenant-wide by the bot's service principal;
// "" means none. Password and session changes on a target the role may not reset, by Microsoft's
// who-can-reset matrix, answer 403.
func (s *Server) SetAppRole(templateID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appRole = templateID
}

// SetWriteback turns the tenant's password writeback on or off. With it off, resetPassword on a
// synced user ends in a failed operation.
func (s *Server) SetWriteback(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeback = enabled
}

// admit decides, in arrival order, what happens to a call: the next queued fault, or for a write
// whether the budget has room (overBudget > 0 is how long until it has). It also returns the latency
// to apply, read under the same lock.
func (s *Server) admit(c *call) (f fault, overBudget, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	latency = s.latency
	for i, q := range s.faults {
		if q.writesOnly && !c.isWrite() {
			continue
		}
		s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		return q, 0, latency
	}
	if wait := s.reports.admit(c, time.Now()); wait > 0 {
		return fault{kind: faultThrottle, retryAfter: wait}, 0, latency
	}
	if c.isWrite() {
		overBudget = s.budget.spend(time.Now())
	}
	return f, overBudget, latency
}

// writeBudget is a sliding-window log: the times of the writes admitted in the last `per`.
type writeBudget struct {
	limit int
	per   time.Duration
	times []time.Time
}

// spend admits one write at now and returns 0, or returns how long until the window has room.
func (b *writeBudget) spend(now time.Time) time.Duration {
	if b.limit <= 0 {
		return 0
	}
	cutoff := now.Add(-b.per)
	i := 0
	for i < len(b.times) && !b.times[i].After(cutoff) {
		i++
	}
	b.times = b.times[i:]
	if len(b.times) < b.limit {
		b.times = append(b.times, now)
		return 0
	}
	return max(b.times[0].Add(b.per).Sub(now), time.Nanosecond)
}

// retryAfterSeconds renders a Retry-After value: whole seconds rounded up, so a client that waits
// that long finds room. Only an explicit zero from ThrottleNext renders "0".
func retryAfterSeconds(d time.Duration, zeroAllowed bool) string {
	if d <= 0 && zeroAllowed {
		return "0"
	}
	secs := int(math.Ceil(d.Seconds()))
	return strconv.Itoa(max(secs, 1))
}

// failureText is the error code and message Graph sends with a server-side failure.
func failureText(status int) (code, msg string) {
	switch status {
	case http.StatusInternalServerError:
		return "UnknownError", "An internal server error occurred."
	case http.StatusBadGateway:
		return "BadGateway", "The server, while acting as a gateway, received an invalid response."
	case http.StatusServiceUnavailable:
		return "serviceNotAvailable", "The service is temporarily unavailable. Please retry later."
	case http.StatusGatewayTimeout:
		return "GatewayTimeout", "The gateway did not receive a response in time."
	}
	return "UnknownError", http.StatusText(status)
}
