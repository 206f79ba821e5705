package engine_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"healthcode"
)

// TestLogEntries browses a log of units created by two admins: by official,
// unit, type and time, page by page, newest first; only an auditor may.
func TestLogEntries(t *testing.T) {
	e := newEnv(t, envConfig{people: 1})
	var times []time.Time
	for i := range 40 {
		by := admin
		if i%4 == 3 {
			by = admin2
		}
		if _, err := e.eng.CreateUnit(e.ctx, by, healthcode.Unit{Name: fmt.Sprintf("单位%d", i)}); err != nil {
			t.Fatal(err)
		}
		times = append(times, e.clock.Now())
		e.clock.Advance(time.Minute)
	}
	browse := func(q healthcode.LogQuery) *healthcode.LogPage {
		t.Helper()
		p, err := e.eng.LogEntries(e.ctx, auditor, q)
		if err != nil {
			t.Fatalf("LogEntries(%+v): %v", q, err)
		}
		for i, x := range p.Entries {
			if i > 0 && x.Index >= p.Entries[i-1].Index {
				t.Errorf("entries not newest first: %d after %d", x.Index, p.Entries[i-1].Index)
			}
		}
		return p
	}
	units := func(p *healthcode.LogPage) (n int) {
		for _, x := range p.Entries {
			if x.Type != healthcode.LogUnit {
				t.Errorf("entry %d is a %s", x.Index, x.Type)
			}
			n++
		}
		return n
	}
	if p := browse(healthcode.LogQuery{Official: "admin-002"}); units(p) != 10 {
		t.Errorf("by official: %d entries, want 10", len(p.Entries))
	} else if name, id, unit, ok := healthcode.SplitActorLabel(p.Entries[0].ActorName); !ok || id != "admin-002" || unit != "信息中心" || name != "管理员 陈静" {
		t.Errorf("the entry names %q", p.Entries[0].ActorName)
	}
	if p := browse(healthcode.LogQuery{Unit: "信息中心", Type: healthcode.LogUnit}); units(p) != 40 {
		t.Errorf("by unit: %d entries, want 40", len(p.Entries))
	}
	if p := browse(healthcode.LogQuery{Official: "nobody"}); len(p.Entries) != 0 || p.Next != -1 {
		t.Errorf("an official who did nothing: %+v", p)
	}
	// Pages: five at a time, the next one going on from the last.
	first := browse(healthcode.LogQuery{Type: healthcode.LogUnit, Limit: 5})
	second := browse(healthcode.LogQuery{Type: healthcode.LogUnit, Limit: 5, Before: first.Next})
	if units(first) != 5 || units(second) != 5 || first.Next <= 0 || second.Entries[0].Index >= first.Entries[4].Index {
		t.Errorf("pages: %+v then %+v", first, second)
	}
	// A window of time: units 10 to 19.
	w := browse(healthcode.LogQuery{Type: healthcode.LogUnit, Since: times[10], Until: times[20]})
	if units(w) != 10 || w.Next != -1 || !w.Entries[0].Time.Equal(times[19]) || !w.Entries[9].Time.Equal(times[10]) {
		t.Errorf("window: %d entries, next %d", len(w.Entries), w.Next)
	}
	// One entry by index, as the entry page reads it.
	one := browse(healthcode.LogQuery{Before: w.Entries[3].Index + 1, Limit: 1})
	if len(one.Entries) != 1 || one.Entries[0].Index != w.Entries[3].Index {
		t.Errorf("one entry: %+v", one)
	}

	for _, r := range healthcode.Roles {
		if r == healthcode.RoleAuditor {
			continue
		}
		p := &healthcode.Principal{ID: "x", Name: "x", Role: r, Unit: "u"}
		if _, err := e.eng.LogEntries(e.ctx, p, healthcode.LogQuery{}); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
			t.Errorf("LogEntries as %s: %v", r, err)
		}
		if _, err := e.eng.Dashboard(e.ctx, p, healthcode.DashboardQuery{Since: t0, Until: t0.Add(healthcode.Day), Bucket: healthcode.Day}); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
			t.Errorf("Dashboard as %s: %v", r, err)
		}
	}
	if _, err := e.eng.LogEntries(e.ctx, nil, healthcode.LogQuery{}); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Errorf("LogEntries with no caller: %v", err)
	}
	for _, q := range []healthcode.LogQuery{{Type: "bogus"}, {Before: -1}, {Since: times[5], Until: times[5]}} {
		if _, err := e.eng.LogEntries(e.ctx, auditor, q); healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("LogEntries(%+v): %v, want EINVALID", q, err)
		}
	}
	if _, err := e.eng.Dashboard(e.ctx, auditor, healthcode.DashboardQuery{Since: t0, Until: t0, Bucket: healthcode.Day}); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Errorf("an empty window: %v", err)
	}
	d, err := e.eng.Dashboard(e.ctx, auditor, healthcode.DashboardQuery{Since: t0.Add(-healthcode.Day), Until: t0.Add(healthcode.Day), Bucket: healthcode.Day})
	if err != nil || d.Colours == nil || !slices.Equal(healthcode.ActionKinds[:1], []string{healthcode.ActionOverrideRequest}) {
		t.Errorf("Dashboard: %+v %v", d, err)
	}
}

func TestSplitActorLabel(t *testing.T) {
	t.Parallel()
	for label, want := range map[string][4]string{
		healthcode.ActorLabel(epi): {"流调员 李娜", "epi-001", "市疾控中心", "ok"},
		"王五 [o1 @ u2]":             {"王五", "o1", "u2", "ok"},
		"张 [三] [o1 @ u2]":          {"张 [三]", "o1", "u2", "ok"},
		"healthcode (automatic)":   {"healthcode (automatic)", "", "", ""},
		"x [o1 u2]":                {"x [o1 u2]", "", "", ""},
		"x [ @ u2]":                {"x [ @ u2]", "", "", ""},
		"x [o1 @ u 2]":             {"x [o1 @ u 2]", "", "", ""},
	} {
		name, id, unit, ok := healthcode.SplitActorLabel(label)
		got := [4]string{name, id, unit, ""}
		if ok {
			got[3] = "ok"
		}
		if got != want {
			t.Errorf("SplitActorLabel(%q) = %q, want %q", label, got, want)
		}
	}
}
