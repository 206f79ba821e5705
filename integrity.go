package healthcode

// Integrity is what the node's own audit of its store against its log last
// found (invariant 1). The engine and the HTTP server consult it so that a
// detected inconsistency is never enforced: the node fails closed.
//
// A problem with the log itself (a changed leaf or stored hash, a fork, a
// restored or rolled-back store) puts everything in doubt: no code is signed
// for anyone, nothing new is logged, no checkpoint is signed. A problem with
// one person's stored state (a decision that is not their latest logged one,
// an edited row) stops codes and colour changes for that person only.
// Reads go on, and so do check-ins, which are stored without a log entry.
//
// The engine calls these methods inside its write transactions: an
// implementation must answer at once and never wait for anything that is
// held across a call to the store (see tlog.Publisher).
type Integrity interface {
	// LogProblem returns an ETAMPERED error saying what is wrong with the
	// log, or nil.
	LogProblem() error
	// SubjectProblem returns an ETAMPERED error if the person's stored state
	// disagrees with the log, or if the log itself is in doubt; nil if
	// neither.
	SubjectProblem(subject string) error
}
