package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/tlog"

	"github.com/jackc/pgx/v5"
)

// Deletion here must really delete (invariant 7), as far as a database
// server allows:
//
//   - expired check-ins go with their day's partition (DROP TABLE: the
//     partition's files are unlinked), the rest row by row;
//   - the openings of deleted evidence's log leaves go with the evidence,
//     so the log no longer links it to anyone;
//   - a person's data key is deleted with them (crypto-shredding): their
//     sealed data is unreadable in every copy — WAL, standbys, backups —
//     that PostgreSQL keeps of it, which no rewrite of the live tables can
//     reach;
//   - Compact (after a sunset) rewrites every table (VACUUM FULL), so the
//     live files hold no deleted row.

// expiredEvidence is the condition on evidence of a purge: one cutoff per
// kind, in one statement shape whatever the plan; its arguments follow.
func expiredEvidence(plan *healthcode.PurgePlan) (string, []any) {
	var cases strings.Builder
	args := make([]any, 0, 2*len(healthcode.EvidenceKinds)+1)
	for _, k := range healthcode.EvidenceKinds {
		before, ok := plan.EvidenceBefore[k]
		if !ok || before.IsZero() {
			before = time.Unix(0, 0) // keep every piece of this kind
		}
		cases.WriteString(" WHEN ?::text THEN ?::bigint")
		args = append(args, string(k), nanos(before))
	}
	args = append(args, int64(0))
	return `observed_at < CASE kind` + cases.String() + ` ELSE ?::bigint END`, args
}

// Purge implements healthcode.Tx.
//
// The expired evidence is counted by kind and its people listed; the
// openings of its log leaves are found by opening the leaves of the people
// concerned (an evidence leaf's ref is "evidence/<id>"); then both are
// deleted. Check-ins go by partition (partitions.go).
func (tx *Tx) Purge(ctx context.Context, plan *healthcode.PurgePlan) (*healthcode.PurgeReport, error) {
	if plan == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "purge.plan", "purge needs a plan")
	}
	rep := &healthcode.PurgeReport{Counts: map[string]int64{}}
	expired, args := expiredEvidence(plan)
	for _, k := range healthcode.EvidenceKinds {
		rep.Counts["evidence/"+string(k)] = 0
	}
	rows, err := tx.query(ctx, `SELECT kind, count(*) FROM evidence WHERE `+expired+` GROUP BY kind`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres.Purge: %w", err)
	}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres.Purge: %w", err)
		}
		rep.Counts["evidence/"+k] = n
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("postgres.Purge: %w", err)
	}
	if rep.Subjects, err = tx.queryStrings(ctx, `SELECT DISTINCT subject FROM evidence WHERE `+expired+` ORDER BY subject`, args...); err != nil {
		return nil, fmt.Errorf("postgres.Purge: %w", err)
	}
	if len(rep.Subjects) > 0 {
		if rep.Counts["log_openings"], err = tx.purgeOpenings(ctx, rep.Subjects, expired, args); err != nil {
			return nil, err
		}
	}
	res, err := tx.exec(ctx, `DELETE FROM evidence WHERE `+expired, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres.Purge: evidence: %w", err)
	}
	if n, _ := res.RowsAffected(); n != sum(rep.Counts, "evidence/") {
		return nil, fmt.Errorf("postgres.Purge: deleted %d pieces of evidence, expected %d", n, sum(rep.Counts, "evidence/"))
	}
	if !plan.DesignationsBefore.IsZero() {
		n, err := tx.purgeDesignationNotes(ctx, plan.DesignationsBefore)
		if err != nil {
			return nil, err
		}
		rep.Counts["log_openings"] += n
	}
	// A collection says who was sampled into which tube: it goes, with
	// the subject opening of its leaf, when the results it leads to go.
	if rep.Counts["collections"], rep.Counts["log_openings/collections"], err = tx.purgeCollections(ctx, plan.EvidenceBefore[healthcode.NucleicAcidTest]); err != nil {
		return nil, err
	}
	rep.Counts["checkins"] = 0
	if !plan.CheckInsBefore.IsZero() {
		if rep.Counts["checkins"], err = tx.purgeCheckIns(ctx, plan.CheckInsBefore); err != nil {
			return nil, err
		}
	}
	for _, d := range []struct {
		key, query string
		before     time.Time
	}{
		{"designations", `DELETE FROM designations WHERE expires < ?`, plan.DesignationsBefore},
		{"access_records", `DELETE FROM access_records WHERE at < ?`, plan.AccessBefore},
	} {
		rep.Counts[d.key] = 0
		if d.before.IsZero() {
			continue
		}
		res, err := tx.exec(ctx, d.query, nanos(d.before))
		if err != nil {
			return nil, fmt.Errorf("postgres.Purge: %s: %w", d.key, err)
		}
		rep.Counts[d.key], _ = res.RowsAffected()
	}
	return rep, nil
}

// purgeOpenings deletes the openings of the log leaves that record the
// expired evidence, and returns how many it deleted. Only the leaves of the
// people concerned are read.
func (tx *Tx) purgeOpenings(ctx context.Context, subjects []string, expired string, args []any) (int64, error) {
	rows, err := tx.query(ctx, `SELECT o.leaf, o.subject, o.opening, l.data FROM log_openings o JOIN log_leaves l ON l.leaf = o.leaf
		WHERE o.subject = ANY(?::text[]) ORDER BY o.leaf`, subjects)
	if err != nil {
		return 0, fmt.Errorf("postgres.Purge: openings: %w", err)
	}
	var leaves, ids []int64
	for rows.Next() {
		var leaf int64
		var subject string
		var opening, data []byte
		if err := rows.Scan(&leaf, &subject, &opening, &data); err != nil {
			rows.Close()
			return 0, fmt.Errorf("postgres.Purge: openings: %w", err)
		}
		if id, ok := evidenceOfLeaf(data, subject, opening); ok {
			leaves, ids = append(leaves, leaf), append(ids, id)
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("postgres.Purge: openings: %w", err)
	}
	if len(leaves) == 0 {
		return 0, nil
	}
	res, err := tx.exec(ctx, `DELETE FROM log_openings WHERE leaf IN
		(SELECT p.leaf FROM unnest(?::bigint[], ?::bigint[]) AS p(leaf, evidence) JOIN evidence e ON e.id = p.evidence WHERE `+expired+`)`,
		append([]any{leaves, ids}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("postgres.Purge: openings: %w", err)
	}
	return res.RowsAffected()
}

// purgeDesignationNotes deletes the openings of the log leaves of the
// designations that expired before t, which the purge deletes: the cases
// they cited and an approver's words for a refusal go with them. A
// designation's leaves name it in clear ("designation/<id> …").
func (tx *Tx) purgeDesignationNotes(ctx context.Context, before time.Time) (int64, error) {
	ids, err := tx.queryStrings(ctx, `SELECT CAST(id AS TEXT) FROM designations WHERE expires < ?`, nanos(before))
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	expired := map[string]bool{}
	for _, id := range ids {
		expired["designation/"+id] = true
	}
	rows, err := tx.query(ctx, `SELECT o.leaf, l.data FROM log_openings o JOIN log_leaves l ON l.leaf = o.leaf WHERE o.subject = ''`)
	if err != nil {
		return 0, fmt.Errorf("postgres.Purge: designation notes: %w", err)
	}
	var leaves []int64
	for rows.Next() {
		var leaf int64
		var data []byte
		if err := rows.Scan(&leaf, &data); err != nil {
			rows.Close()
			return 0, fmt.Errorf("postgres.Purge: designation notes: %w", err)
		}
		l, err := tlog.DecodeLeaf(data)
		if err != nil || l.Entry.Type != healthcode.LogDesignation {
			continue
		}
		if id, _, _ := strings.Cut(l.Entry.Ref, " "); expired[id] {
			leaves = append(leaves, leaf)
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("postgres.Purge: designation notes: %w", err)
	}
	if len(leaves) == 0 {
		return 0, nil
	}
	res, err := tx.exec(ctx, `DELETE FROM log_openings WHERE leaf = ANY(?::bigint[])`, leaves)
	if err != nil {
		return 0, fmt.Errorf("postgres.Purge: designation notes: %w", err)
	}
	return res.RowsAffected()
}

// evidenceOfLeaf returns the evidence id an evidence leaf records (in its
// ref, committed in a version 2 leaf: the opening opens it).
func evidenceOfLeaf(data []byte, subject string, opening []byte) (int64, bool) {
	l, err := tlog.DecodeLeaf(data)
	if err != nil || l.Entry.Type != healthcode.LogEvidence {
		return 0, false
	}
	e, err := l.Open(subject, opening)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(e.Ref, "evidence/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

func closeRows(rows pgx.Rows) error {
	rows.Close()
	return rows.Err()
}

func sum(counts map[string]int64, prefix string) int64 {
	var n int64
	for k, v := range counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// sunsetSteps are the deletions of a sunset, in an order the foreign keys
// accept, each counted under its key. Everything that names, identifies or
// can be linked to a person goes; what stays is the log (leaves, hashes,
// checkpoints: no personal data, only salted commitments whose openings are
// deleted here), the rule sets, venues and designations (places and
// officials), overrides (which name officials and reasons: the people they
// named go with override_subjects and their free-text notes and case
// references are blanked),
// and the officials' tokens.
var sunsetSteps = []struct{ key, query string }{
	// Crypto-shredding first: without its data key a person's sealed data
	// is unreadable wherever a copy of it lies.
	{"person_keys", `DELETE FROM person_keys`},
	{"checkin_slots", `DELETE FROM checkin_slots`},
	{"checkins", `DELETE FROM checkins`},
	{"collections", `DELETE FROM collections`},
	// A tube names no one once its collections are gone; at the end of
	// the emergency its result and unit go too.
	{"tubes", `DELETE FROM tubes`},
	{"evidence", `DELETE FROM evidence`},
	{"current_codes", `DELETE FROM current_codes`},
	{"decisions", `DELETE FROM decisions`},
	{"access_records", `DELETE FROM access_records`},
	{"appeals", `DELETE FROM appeals`},
	{"override_subjects", `DELETE FROM override_subjects`},
	{"cases", `DELETE FROM cases`},
	{"pending_records", `DELETE FROM pending_records`},
	{"unmask_requests", `DELETE FROM unmask_requests`},
	{"bulk_people", `DELETE FROM bulk_people`},
	// A re-evaluation sweep's place is a person's pseudonym.
	{"review_sweep", `DELETE FROM review_sweep`},
	// An override's note and case reference are free text an official
	// wrote about people.
	{"override_notes", `UPDATE overrides SET note = '' WHERE note != ''`},
	{"override_case_refs", `UPDATE overrides SET case_ref = '' WHERE case_ref != ''`},
	// Oversight's alerts and reviews stay (they name officials); the people
	// an alert named and what auditors wrote go.
	{"oversight_alert_people", `UPDATE oversight_alerts SET people = '[]' WHERE people != '[]'`},
	{"oversight_review_notes", `UPDATE oversight_reviews SET note = '', close_note = '' WHERE note != '' OR close_note != ''`},
	{"citizen_tokens", `DELETE FROM tokens WHERE role = 'citizen' OR subject != ''`},
	{"log_openings", `DELETE FROM log_openings`},
	{"people", `DELETE FROM people`},
}

// Sunset implements healthcode.Tx. Call Compact after it commits so that
// the tables holding the deleted rows are rewritten.
func (tx *Tx) Sunset(ctx context.Context) (*healthcode.PurgeReport, error) {
	rep := &healthcode.PurgeReport{Counts: map[string]int64{}}
	for _, s := range sunsetSteps {
		res, err := tx.exec(ctx, s.query)
		if err != nil {
			return nil, fmt.Errorf("postgres.Sunset: %s: %w", s.key, err)
		}
		if rep.Counts[s.key], err = res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("postgres.Sunset: %s: %w", s.key, err)
		}
	}
	delete(rep.Counts, "checkin_slots") // counted with the check-ins
	return rep, nil
}

var _ healthcode.Compacter = (*DB)(nil)

// Compact implements healthcode.Compacter: it rewrites every table of the
// node (VACUUM FULL), so that no deleted row is left in the live files.
// Copies in the WAL, on standbys and in backups are beyond it (see the
// crypto-shredding above). Writers wait meanwhile.
func (db *DB) Compact(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `VACUUM (FULL) `+strings.Join(tables, ", ")); err != nil {
		return classify(ctx, fmt.Errorf("postgres.Compact: %w", err))
	}
	return nil
}
