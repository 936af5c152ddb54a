package graphtest

// Faults that hide what happened: the write took effect, and the client hears a failure or nothing.
// They are how a lost answer looks from outside (a 5xx from a front end after the directory
// changed, a connection dropped on the way back, a timeout), and the only faults after which a client
// cannot know, from the answer alone, whether to send again.

// FailNextWriteAfterApplying makes the next n writes take effect, then answer status (500, 502, 503,
// 504 or any other error status).
func (s *Server) FailNextWriteAfterApplying(n int, status int) {
	s.queue(n, fault{kind: faultFail, status: status, writesOnly: true, afterApplying: true})
}

// HangNextWriteAfterApplying makes the next n writes take effect and never answer: the client times
// out, or its connection is dropped when it gives up.
func (s *Server) HangNextWriteAfterApplying(n int) {
	s.queue(n, fault{kind: faultHang, writesOnly: true, afterApplying: true})
}

// HangNextWrite makes the next n writes never answer, without taking effect.
func (s *Server) HangNextWrite(n int) {
	s.queue(n, fault{kind: faultHang, writesOnly: true})
}
