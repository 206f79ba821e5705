// Package healthcode holds the domain of the health-code platform: people,
// evidence, colours, decisions, the log entries that record every change, and
// the interfaces through which storage, rules, the log and HTTP talk to each
// other. It imports none of the project's own packages and never touches a
// database, a network or a clock of its own: time is always passed in.
package healthcode

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Error codes. Each maps to one HTTP status in http/ and to one CLI exit.
const (
	ECONFLICT     = "conflict"     // the request clashes with existing state (duplicate, already decided)
	EINTERNAL     = "internal"     // a fault of ours; the client sees no detail
	EINVALID      = "invalid"      // the input is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // the thing asked for does not exist (or may not be seen)
	EUNAUTHORIZED = "unauthorized" // no or unknown credentials
	EFORBIDDEN    = "forbidden"    // known caller, not allowed
	EUNAVAILABLE  = "unavailable"  // overloaded or refusing for integrity reasons; retry later
	ETOOLARGE     = "too_large"    // body or batch above the limit
	ETAMPERED     = "tampered"     // the store disagrees with the log
	ETOOMANY      = "too_many"     // one caller's rate limit; retry after Error.RetryAfter
)

// Error is the one error type of the domain. Code is stable and machine
// readable; Message is safe to show to the caller.
type Error struct {
	Code    string
	Message string
	// Detail is a stable sub-code for clients, e.g. "evidence.future_time".
	Detail string
	// RetryAfter, if set, is when the caller may try again (ETOOMANY).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("healthcode error: code=%s detail=%s message=%s", e.Code, e.Detail, e.Message)
	}
	return fmt.Sprintf("healthcode error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Errorfd is Errorf with a stable detail sub-code.
func Errorfd(code, detail, format string, args ...any) *Error {
	return &Error{Code: code, Detail: detail, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for any other error: internal details never reach clients.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorDetail returns the detail sub-code of err, if any.
func ErrorDetail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return ""
}

// ErrorRetryAfter returns how long the caller should wait before trying
// again, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Clock tells the time. Every decision, expiry and retention depends on it, so
// it is injected everywhere; tests advance it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// ManualClock is a clock that tests and simulations move by hand; safe for
// concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t.UTC()} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) { c.mu.Lock(); c.t = t.UTC(); c.mu.Unlock() }
