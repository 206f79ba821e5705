package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"healthcode"
)

// RetentionJob is the name the log gives the purge job, which acts for no
// official.
const RetentionJob = "healthcode retention job"

// Purge deletes the personal data that r no longer allows keeping at the
// engine's current time (invariant 7), in one transaction: the expired data
// goes, the purge is logged with its counts, and everyone whose evidence was
// deleted is re-evaluated on what remains (their new decisions are logged
// after the purge). It runs, and is logged, even when nothing has expired:
// the log then shows the job ran. With no rule set in force there is
// nothing to re-evaluate and only the deletion happens.
func (e *Engine) Purge(ctx context.Context, r healthcode.Retention) (*healthcode.PurgeReport, error) {
	now := e.now()
	plan := r.Plan(now)
	var rep *healthcode.PurgeReport
	err := e.update(ctx, func(u *unit) error {
		rs, err := e.ruleSetIn(ctx, u.tx)
		if healthcode.ErrorDetail(err) == "ruleset.none" {
			rs = nil
		} else if err != nil {
			return err
		}
		if rep, err = u.tx.Purge(ctx, plan); err != nil {
			return err
		}
		ref := purgeRef("purge", rep.Counts)
		if len(rep.Subjects) > 0 {
			ref += " reevaluated=" + strconv.Itoa(len(rep.Subjects))
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogPurge, Time: now, Region: e.Region, Reason: "retention",
			ActorName: RetentionJob, ActorRole: healthcode.RoleSystem, Ref: ref})
		if rs == nil {
			return nil
		}
		_, err = e.reevaluateAll(ctx, u, rs, rep.Subjects, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("engine.Purge: %w", err)
	}
	return rep, nil
}

// Sunset ends the emergency: in one transaction it deletes every person and
// everything about them (their data keys first: crypto-shredding) and logs
// the deletion naming the admin who ordered it; the log's tree stays whole
// and verifiable. Then, if the store can, it compacts its file so that no
// deleted byte remains. Returns EFORBIDDEN unless actor is an admin. A
// compaction failure is returned with the report: the deletion itself has
// happened.
func (e *Engine) Sunset(ctx context.Context, actor *healthcode.Principal) (*healthcode.PurgeReport, error) {
	if actor == nil || actor.Role != healthcode.RoleAdmin {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an admin may end the emergency")
	}
	now := e.now()
	var rep *healthcode.PurgeReport
	err := e.update(ctx, func(u *unit) error {
		var err error
		if rep, err = u.tx.Sunset(ctx); err != nil {
			return err
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogPurge, Time: now, Region: e.Region, Reason: "sunset",
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: purgeRef("sunset", rep.Counts)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine.Sunset: %w", err)
	}
	if c, ok := e.Store.(healthcode.Compacter); ok {
		if err := c.Compact(ctx); err != nil {
			return rep, fmt.Errorf("engine.Sunset: the data is deleted but compacting the store failed: %w", err)
		}
	}
	return rep, nil
}

// purgeRef is a purge's log ref: what, then the non-zero counts in key order,
// e.g. "purge checkins=40 evidence/nucleic_acid_test=12".
func purgeRef(what string, counts map[string]int64) string {
	keys := make([]string, 0, len(counts))
	for k, n := range counts {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return what + " (nothing to delete)"
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(what)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	return b.String()
}
