package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"healthcode"

	"github.com/jackc/pgx/v5/pgconn"
)

// A database the node cannot write to now — unreachable, shutting down,
// restarting, or a standby that has not been promoted yet — is neither the
// caller's fault nor a bug: the request is answered EUNAVAILABLE
// "store.unavailable" with a Retry-After (503 over HTTP), nothing of it is
// committed (a transaction is all or nothing on the server), reads go on
// where they can, and WriteProblem says so until a write commits again.

// RetryAfter is how soon a client is told to retry: about the time a managed
// failover takes to promote a standby.
const RetryAfter = 5 * time.Second

type fault struct {
	err error
	at  time.Time
}

// unavailable reports whether err says the database cannot be reached or
// cannot take writes now.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	// Whatever refused a connection (the server, or the network).
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "25006", // read_only_sql_transaction: a standby, or a primary demoted
			pe.Code == "57P01",               // admin_shutdown
			pe.Code == "57P02",               // crash_shutdown
			pe.Code == "57P03",               // cannot_connect_now: starting up, or in recovery
			pe.Code == "53300",               // too_many_connections
			strings.HasPrefix(pe.Code, "08"): // connection_exception
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// pgx reports a connection it closed after a failure by these words.
	s := err.Error()
	return strings.Contains(s, "conn closed") || strings.Contains(s, "unexpected EOF") || strings.Contains(s, "connection reset")
}

// classify turns an error that says the database is unavailable into
// EUNAVAILABLE "store.unavailable" with a Retry-After, and text the database
// refuses into EINVALID "store.bad_text"; anything else (and the caller's own
// cancellation) is returned as it is.
func classify(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	if c := pgCode(err); c == "22021" || c == "22P05" {
		// Text SQLite would keep but PostgreSQL refuses: a NUL character
		// or bytes that are not UTF-8. The caller's input, not a fault.
		return healthcode.Errorfd(healthcode.EINVALID, "store.bad_text", "text with a NUL character or invalid UTF-8 cannot be stored; nothing was written")
	}
	if !unavailable(err) {
		return err
	}
	var he *healthcode.Error
	if errors.As(err, &he) {
		return err
	}
	e := healthcode.Errorfd(healthcode.EUNAVAILABLE, "store.unavailable", "the node's database cannot take this now (%s); try again shortly. If the connection was lost while the change was being committed it may have been kept: a check-in or an import with its idempotency key is safe to send again, anything else should be looked up first", shortCause(err))
	e.RetryAfter = RetryAfter
	return e
}

// shortCause names the cause of an unavailability without the connection
// string.
func shortCause(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return "SQLSTATE " + pe.Code
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return "cannot connect"
	}
	return "connection lost"
}

// noteWrite records how a write transaction ended: an unavailability is
// kept for WriteProblem, a commit clears it. It returns err, classified.
func (db *DB) noteWrite(ctx context.Context, err error) error {
	if err == nil {
		db.fault.Store(nil)
		return nil
	}
	c := classify(ctx, err)
	if c != err && healthcode.ErrorCode(c) == healthcode.EUNAVAILABLE {
		db.fault.Store(&fault{err: c, at: time.Now()})
	}
	return c
}

// pingTimeout bounds how long WriteProblem waits for the database.
const pingTimeout = 2 * time.Second

// WriteProblem says why the store cannot take writes now: the last write
// found the database unavailable (until one commits), or the database does
// not answer, or answers as a read-only standby. nil if writes should
// succeed.
func (db *DB) WriteProblem() error {
	if f := db.fault.Load(); f != nil {
		return f.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	var readOnly string
	err := db.pool.QueryRow(ctx, `SHOW transaction_read_only`).Scan(&readOnly)
	if err != nil {
		e := healthcode.Errorfd(healthcode.EUNAVAILABLE, "store.unavailable", "the node's database does not answer (%s)", shortCause(err))
		e.RetryAfter = RetryAfter
		return e
	}
	if readOnly == "on" && !db.readOnly {
		e := healthcode.Errorfd(healthcode.EUNAVAILABLE, "store.unavailable", "the node's database is read-only (a standby)")
		e.RetryAfter = RetryAfter
		return e
	}
	return nil
}
