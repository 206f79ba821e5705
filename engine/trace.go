package engine

import (
	"context"
	"fmt"
	"time"

	"healthcode"
)

// TraceWindow bounds a tracing query: presence older than this is not asked.
const TraceWindow = 14 * 24 * time.Hour

func (e *Engine) epidemiologist(actor *healthcode.Principal, purpose, caseRef string) error {
	if actor == nil || actor.Role != healthcode.RoleEpidemiologist {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an epidemiologist traces contacts")
	}
	return healthcode.ValidPurpose(purpose, caseRef)
}

func tracePageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return healthcode.DefaultTracePage, nil
	case limit < 0 || limit > healthcode.MaxTracePage:
		return 0, healthcode.Errorfd(healthcode.EINVALID, "trace.limit", "a tracing page holds 1 to %d check-ins", healthcode.MaxTracePage)
	}
	return limit, nil
}

// tracePage reads one page of q after the cursor, with the whole query's
// counts, in tx.
func tracePage(ctx context.Context, tx healthcode.ReadTx, q healthcode.CheckInQuery, after healthcode.CheckInCursor, limit int) (*healthcode.TracePage, error) {
	p := &healthcode.TracePage{}
	var err error
	if p.Total, p.People, err = tx.CountCheckIns(ctx, q); err != nil {
		return nil, err
	}
	// One more than asked says whether another page follows.
	cs, err := tx.CheckIns(ctx, q, after, limit+1)
	if err != nil {
		return nil, err
	}
	if len(cs) > limit {
		cs = cs[:limit]
		last := cs[limit-1]
		p.Next = healthcode.CheckInCursor{At: last.At, ID: last.ID}
	}
	p.Presence = cs
	return p, nil
}

// TraceVenue answers "who was at venue V between from and to" with
// pseudonyms, one page at a time (after: where the previous page ended;
// limit: 0 for the default page size), with how many check-ins and people
// the whole window holds, recording the read of each person on the page
// with its purpose and case, and logging the page's query and each person
// on it (logTrace).
func (e *Engine) TraceVenue(ctx context.Context, actor *healthcode.Principal, venue string, from, to time.Time, purpose, caseRef string,
	after healthcode.CheckInCursor, limit int) (*healthcode.TracePage, error) {
	if err := e.epidemiologist(actor, purpose, caseRef); err != nil {
		return nil, err
	}
	if !to.After(from) || to.Sub(from) > TraceWindow {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "trace.window", "the window must end after it starts and last at most 14 days")
	}
	limit, err := tracePageSize(limit)
	if err != nil {
		return nil, err
	}
	var out *healthcode.TracePage
	now := e.now()
	err = e.update(ctx, func(u *unit) error {
		tx := u.tx
		if _, err := tx.Venue(ctx, venue); err != nil {
			return err
		}
		if err := caseAtVenue(ctx, tx, caseRef, venue, from, to); err != nil {
			return err
		}
		var err error
		if out, err = tracePage(ctx, tx, healthcode.CheckInQuery{Venue: venue, From: from, To: to}, after, limit); err != nil {
			return err
		}
		// One record per person found, so each sees that they were looked up.
		what := fmt.Sprintf("presence at venue %s %s–%s", venue, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
		var subjects []string
		seen := map[string]bool{}
		for _, c := range out.Presence {
			if seen[c.Subject] {
				continue
			}
			seen[c.Subject] = true
			subjects = append(subjects, c.Subject)
			if err := tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: purpose, CaseRef: caseRef,
				What: what, Subject: c.Subject}); err != nil {
				return err
			}
		}
		e.logTrace(u, actor, now, purpose, caseRef, what, subjects)
		if out.Total == 0 {
			return tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: purpose, CaseRef: caseRef, What: what + " (no one)"})
		}
		return nil
	})
	return out, err
}

// TraceCase answers "where was case C in the last 14 days": the check-ins
// of the people diagnosed under that case, a page at a time as TraceVenue,
// recording the read of each of them and logging it (logTrace).
func (e *Engine) TraceCase(ctx context.Context, actor *healthcode.Principal, caseRef, purpose string,
	after healthcode.CheckInCursor, limit int) (*healthcode.TracePage, error) {
	if err := e.epidemiologist(actor, purpose, caseRef); err != nil {
		return nil, err
	}
	limit, err := tracePageSize(limit)
	if err != nil {
		return nil, err
	}
	now := e.now()
	var out *healthcode.TracePage
	err = e.update(ctx, func(u *unit) error {
		tx := u.tx
		subjects, err := caseSubjects(ctx, tx, caseRef)
		if err != nil {
			return err
		}
		q := healthcode.CheckInQuery{Subjects: subjects, From: now.Add(-TraceWindow), To: now.Add(time.Second)}
		if out, err = tracePage(ctx, tx, q, after, limit); err != nil {
			return err
		}
		for _, s := range subjects {
			if err := tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: purpose, CaseRef: caseRef,
				What: fmt.Sprintf("where case %s was in the last 14 days (%d check-ins of the case in all)", caseRef, out.Total), Subject: s}); err != nil {
				return err
			}
		}
		e.logTrace(u, actor, now, purpose, caseRef, "where a case was in the last 14 days", subjects)
		return nil
	})
	return out, err
}

// logTrace logs a tracing query: one entry for the query (the official,
// purpose, what was asked and how many people it read), then one about
// each person read, holding only the salted commitment to them that every
// entry about a person holds, never the pseudonym in clear. The case cited
// is a note (committed, kept beside the tree): it leads to the people
// diagnosed.
func (e *Engine) logTrace(u *unit, actor *healthcode.Principal, now time.Time, purpose, caseRef, what string, subjects []string) {
	q := u.log(&healthcode.LogEntry{Type: healthcode.LogTrace, Time: now, Region: e.Region, Reason: purpose,
		ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role,
		Ref: fmt.Sprintf("%s: %d people", what, len(subjects)), Note: "case/" + caseRef})
	for _, s := range subjects {
		u.log(&healthcode.LogEntry{Type: healthcode.LogTrace, Time: now, Region: e.Region, Subject: s, Reason: purpose,
			RuleID: fmt.Sprintf("trace/%d", q), ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role,
			Ref: fmt.Sprintf("read by the tracing query logged at %d", q), Note: "case/" + caseRef})
	}
}

// AccessRecords lists who read the caller's data (for a citizen), or every
// read (for an auditor).
func (e *Engine) AccessRecords(ctx context.Context, actor *healthcode.Principal) ([]healthcode.AccessRecord, error) {
	subject, err := e.readerOf(actor, healthcode.RoleAuditor)
	if err != nil {
		return nil, err
	}
	var out []healthcode.AccessRecord
	err = e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		out, err = tx.AccessRecords(ctx, subject, 1000)
		return err
	})
	return out, err
}

// OpenLogEntry opens log entry index for an auditor (oversight): the
// person, reason, rule, evidence and institution its leaf holds only as
// commitments. The read is recorded with its purpose and case, about the
// person the entry concerns, so they see it. Returns EFORBIDDEN for anyone
// but an auditor, ENOTFOUND if the log has no such entry, and ENOTFOUND
// (detail "tlog.no_opening") if its opening has been deleted (retention,
// sunset): what was deleted cannot be read back.
func (e *Engine) OpenLogEntry(ctx context.Context, actor *healthcode.Principal, index int64, purpose, caseRef string) (*healthcode.OpenedLogEntry, error) {
	if actor == nil || actor.Role != healthcode.RoleAuditor {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an auditor opens a log entry")
	}
	if err := healthcode.ValidPurpose(purpose, caseRef); err != nil {
		return nil, err
	}
	if index < 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "log index must be a non-negative integer")
	}
	out := &healthcode.OpenedLogEntry{Index: index}
	err := e.Store.Update(ctx, func(tx healthcode.Tx) error {
		var err error
		if out.Leaf, err = tx.LogLeaf(ctx, index); err != nil {
			return err
		}
		if out.Subject, out.Opening, err = tx.LogOpening(ctx, index); err != nil {
			return err
		}
		opened, err := e.Log.Open(out.Leaf, out.Subject, out.Opening)
		if err != nil {
			return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.opening_mismatch", "the opening kept for log entry %d does not open it", index)
		}
		out.Entry = *opened
		out.Entry.Index = index
		if err := checkLogCitation(ctx, tx, out.Subject, purpose, caseRef); err != nil {
			return err
		}
		return tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: e.now(), Actor: *actor, Purpose: purpose, CaseRef: caseRef,
			What: fmt.Sprintf("log entry %d opened (%s)", index, opened.Type), Subject: out.Subject})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OversightFigures gives oversight (auditors) the aggregate figures the
// public log no longer shows: people by colour, and decisions by reason and
// evidence by kind and institution since since. Counts only, no person:
// nothing is recorded as a read. Returns EFORBIDDEN for anyone but an
// auditor, EINVALID for a since in the future.
func (e *Engine) OversightFigures(ctx context.Context, actor *healthcode.Principal, since time.Time) (*healthcode.OversightFigures, error) {
	if actor == nil || actor.Role != healthcode.RoleAuditor {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only oversight (an auditor) reads the aggregate figures")
	}
	if since.After(e.now()) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "figures.since", "since must not be in the future")
	}
	var f *healthcode.OversightFigures
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		f, err = tx.OversightFigures(ctx, since)
		return err
	})
	return f, err
}
