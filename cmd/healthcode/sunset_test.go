package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/rules"
	"healthcode/sim"
	"healthcode/tlog"

	"github.com/google/go-cmp/cmp"
)

// runLine runs a command line through Run; purge and sunset are called
// directly until main.go lists them.
func runLine(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	for _, c := range commands() {
		if c.name == args[0] {
			return runCmd(t, args...)
		}
	}
	run := map[string]func(context.Context, []string, io.Writer, io.Writer) int{"purge": runPurge, "sunset": runSunset}[args[0]]
	var out, errb bytes.Buffer
	code := run(context.Background(), args[1:], &out, &errb)
	return code, out.String(), errb.String()
}

// needles finds many short byte strings in a file at once: a window of each
// needle length slides over the bytes, looked up in a set.
type needles struct {
	set  map[string]string // needle → what it is
	lens []int
}

func (n *needles) add(needle, what string) {
	if n.set == nil {
		n.set = map[string]string{}
	}
	n.set[needle] = what
	if !slices.Contains(n.lens, len(needle)) {
		n.lens = append(n.lens, len(needle))
	}
}

// find returns what each needle found in b is, sorted, without repeats.
func (n *needles) find(b []byte) []string {
	seen := map[string]bool{}
	for _, l := range n.lens {
		for i := 0; i+l <= len(b); i++ {
			if what, ok := n.set[string(b[i:i+l])]; ok {
				seen[what] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	slices.Sort(out)
	return out
}

// scanFiles reads the database file and its -wal and -shm files, if present,
// and returns what needles each holds.
func scanFiles(t *testing.T, db string, n *needles) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if found := n.find(b); len(found) > 0 {
			out[filepath.Base(p)] = found
		}
	}
	return out
}

// TestSunsetLeavesNoPersonalData is the acceptance test of the sunset: a
// city of a thousand people with an outbreak's evidence, check-ins at a
// venue, an official unmasking someone, an appeal and an override whose
// free-text notes hold names, ID numbers and phones in clear, and a
// published checkpoint. After `healthcode sunset`, not one name, ID number,
// phone or pseudonym of the city is left in the bytes of the database file
// or its WAL and shared-memory files; the log still verifies and extends
// what was published; the node reopens.
func TestSunsetLeavesNoPersonalData(t *testing.T) {
	tn := startNode(t, 1000)
	ctx := context.Background()
	admin := tn.token(t, healthcode.Principal{ID: "admin-1", Name: "管理员 甲", Role: healthcode.RoleAdmin, Unit: "市卫健委"})
	labTok := tn.token(t, healthcode.Principal{ID: "lab-x", Name: "第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	epi := &healthcode.Principal{ID: "epi-1", Name: "流调员 乙", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"}
	operator := &healthcode.Principal{ID: "op-1", Name: "操作员 丙", Role: healthcode.RoleOperator, Unit: "市大数据局"}
	owner := &healthcode.Principal{ID: "owner-1", Name: "便利店店主", Role: healthcode.RoleVenue}
	public := []string{"管理员 甲", "第一检测所", "流调员 乙", "操作员 丙", "便利店店主", string(rules.Baseline())}

	// The outbreak's evidence, as each lab, clinic and epidemiologist sends it.
	events := tn.city.Outbreak()
	// Samples are collected first (the Replayer records them, per sampler,
	// as it meets them in time order too); then everything in time order.
	for _, ev := range events {
		public = append(public, ev.Submitter.Name, ev.Confirmer.Name)
	}
	// Its officials are of the registry: a second signature is checked
	// against it.
	for _, ev := range events {
		for _, in := range []sim.Institution{ev.Submitter, ev.Confirmer} {
			if p := in.Principal(); p.ID != "" {
				if _, err := tn.engine.CreateToken(ctx, &p); err != nil && healthcode.ErrorCode(err) != healthcode.ECONFLICT {
					t.Fatal(err)
				}
			}
		}
	}
	tn.clock.Set(events[len(events)-1].At.Add(time.Hour))
	refused := 0
	r := &sim.Replayer{Evidence: tn.engine, Records: tn.engine, Samples: tn.engine, OnRefused: func(ev sim.Event, err error) {
		refused++
		t.Errorf("%s: refused: %v", ev.Note, err)
	}}
	if err := r.Replay(ctx, events); err != nil || refused > 0 {
		t.Fatalf("replaying the outbreak: %v (%d refused)", err, refused)
	}
	// Check-ins at a venue, live and printed.
	v, err := tn.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: "二七广场便利店", Address: "二七区二七广场1号", Region: "410103", Category: "retail"})
	if err != nil {
		t.Fatal(err)
	}
	public = append(public, v.Name, v.Address)
	if err := tn.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		subj := tn.engine.Keys.Pseudonymize(tn.cfg.Region, tn.city.Person(i).IDNumber)
		code := v.LiveCode(tn.clock.Now())
		if i%3 == 0 {
			code = v.StaticCode()
		}
		if _, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: subj, Name: "citizen", Role: healthcode.RoleCitizen, Subject: subj}, code); err != nil {
			t.Fatalf("check-in %d: %v", i, err)
		}
	}
	// An official learns who someone is, for a case: recorded and logged.
	unmasked := tn.engine.Keys.Pseudonymize(tn.cfg.Region, tn.city.Person(5).IDNumber)
	if who, err := tn.unmask(ctx, epi, unmasked, tn.openCase(t, tn.city.Person(5).IDNumber, "DX-5")); err != nil || who.Personal.Name != tn.city.Person(5).Name {
		t.Fatalf("unmask: %v, %v", who, err)
	}
	// Free text in clear: a citizen writes their own name, ID number and
	// phone into an appeal; an operator names someone in an override's note.
	c7, c8 := tn.city.Person(7), tn.city.Person(8)
	s7 := tn.engine.Keys.Pseudonymize(tn.cfg.Region, c7.IDNumber)
	s8 := tn.engine.Keys.Pseudonymize(tn.cfg.Region, c8.IDNumber)
	if _, err := tn.engine.FileAppeal(ctx, &healthcode.Principal{ID: s7, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s7},
		healthcode.AppealCorrection, fmt.Sprintf("我是%s，身份证%s，电话%s，请更正我的检测记录", c7.Name, c7.IDNumber, c7.Phone)); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.engine.RequestOverride(ctx, operator, healthcode.Override{Subjects: []string{s8}, Colour: healthcode.Green,
		Reason: "data_entry_correction", Note: "核实 " + c8.Name + " 的记录（电话 " + c8.Phone + "）", Expires: tn.clock.Now().Add(7 * healthcode.Day)}); err != nil {
		t.Fatal(err)
	}
	// Citizens' tokens, one carrying a masked name as the demo's do.
	for i := 10; i < 15; i++ {
		tn.citizen(t, i)
	}
	tn.token(t, healthcode.Principal{Name: healthcode.MaskName(c7.Name), Role: healthcode.RoleCitizen, Subject: s7})
	// An oversight alert names people (pseudonyms), and an auditor's review
	// note may name anyone.
	if err := tn.db.Update(ctx, func(tx healthcode.Tx) error {
		a := &healthcode.Alert{Detector: healthcode.DetectUncorroborated, Key: "sunset-test", OpenedAt: tn.clock.Now(), FirstEffectAt: tn.clock.Now(),
			Summary: "fixture", Officials: []string{"op-1"}, People: []string{s7, s8}}
		if _, err := tx.CreateAlert(ctx, a); err != nil {
			return err
		}
		return tx.CreateReview(ctx, &healthcode.Review{AlertID: a.ID, Officials: a.Officials, Note: "review of " + c7.Name + " " + c7.IDNumber,
			Status: healthcode.ReviewOpen, OpenedBy: healthcode.Principal{ID: "aud-1", Name: "监督员", Role: healthcode.RoleAuditor, Unit: "纪检"},
			OpenedAt: tn.clock.Now(), Expires: tn.clock.Now().Add(time.Hour), CloseIndex: -1})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}

	// What must not survive: every name, ID number, phone and pseudonym of
	// the city. A name that is part of what the node keeps in public by
	// design (an official's name in the log, the venue, the rule set's text)
	// cannot be told apart by a byte scan: those few are left out of the
	// name scan (their ID numbers, phones and pseudonyms are still scanned).
	var personal needles
	var homonyms []string
	for c := range tn.city.People() {
		public := slices.ContainsFunc(public, func(s string) bool { return strings.Contains(s, c.Name) })
		if public {
			homonyms = append(homonyms, c.Name)
		} else {
			personal.add(c.Name, "name")
		}
		personal.add(c.IDNumber, "ID number")
		personal.add(c.Phone, "phone")
		personal.add(tn.engine.Keys.Pseudonymize(tn.cfg.Region, c.IDNumber), "pseudonym")
	}
	if len(homonyms) > 10 {
		t.Fatalf("%d citizens' names are part of public strings: the name scan would prove little", len(homonyms))
	}
	t.Logf("names also part of officials' or places' names, not scanned: %v", homonyms)
	// The scan works: before the sunset it finds what was written in clear.
	found := scanFiles(t, tn.cfg.DB, &personal)
	var all []string
	for _, f := range found {
		all = append(all, f...)
	}
	for _, want := range []string{"name", "ID number", "phone", "pseudonym"} {
		if !slices.Contains(all, want) {
			t.Fatalf("before the sunset the scan finds no %s (found %v): it cannot prove their absence", want, found)
		}
	}

	// Refused: without --yes off a terminal; by anyone but an admin.
	code, _, errs := runLine(t, "sunset", "--data", tn.dir, "--token", admin)
	if code != exitUsage || !strings.Contains(errs, "--yes") {
		t.Fatalf("sunset without --yes: %d %s", code, errs)
	}
	code, _, errs = runLine(t, "sunset", "--data", tn.dir, "--token", labTok, "--yes")
	if code != exitError || !strings.Contains(errs, "admin") {
		t.Fatalf("sunset by a lab: %d %s", code, errs)
	}
	var people int64
	if err := tn.db.View(ctx, func(tx healthcode.ReadTx) error { people, err = tx.PeopleCount(ctx); return err }); err != nil || people != 1000 {
		t.Fatalf("after the refusals: %d people, %v", people, err)
	}
	var logSize int64
	if err := tn.db.View(ctx, func(tx healthcode.ReadTx) error { logSize, err = tx.LogSize(ctx); return err }); err != nil {
		t.Fatal(err)
	}

	// The node is stopped; the sunset runs.
	tn.server.Close(ctx)
	tn.close()
	code, out, errs := runLine(t, "sunset", "--data", tn.dir, "--token", admin, "--yes")
	if code != exitOK {
		t.Fatalf("sunset: %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"people", "1000", "person_keys", "管理员 甲", "region keys", "shredded",
		fmt.Sprintf("logged as entry %d", logSize), fmt.Sprintf("size   %d entries", logSize+1), "log verify: OK", "healthcode log verify --key"} {
		if !strings.Contains(out, want) {
			t.Errorf("the deletion report lacks %q:\n%s", want, out)
		}
	}
	t.Logf("deletion report:\n%s", out)

	// Not one byte of it remains.
	if found := scanFiles(t, tn.cfg.DB, &personal); len(found) > 0 {
		t.Fatalf("after the sunset the database files still hold personal data: %v", found)
	}
	if _, err := os.Stat(filepath.Join(tn.dir, "region-keys.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the region keys survive the sunset: %v", err)
	}
	checkTablesAfterSunset(t, tn.cfg.DB)

	// The log is whole: it verifies against the checkpoint signed after the
	// sunset and extends the one published before it.
	if code, out, errs := runCmd(t, "log", "verify", "--key", filepath.Join(tn.dir, "log-signing.pub"),
		"--checkpoint", filepath.Join(tn.dir, "checkpoint"), tn.cfg.DB); code != exitOK {
		t.Fatalf("log verify after the sunset: %d\n%s%s", code, out, errs)
	}
	// The node reopens, clean, and works.
	n, err := openNode(ctx, tn.cfg, tn.clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	if p := n.log.Problem(); p != nil {
		t.Fatalf("after the sunset the node reports %v", p)
	}
	if _, err := n.engine.Authenticate(ctx, admin); err != nil {
		t.Errorf("the admin's token after the sunset: %v", err)
	}
	if _, err := n.engine.RegisterPerson(ctx, c7.PersonalData()); err != nil {
		t.Errorf("registering a person after the sunset: %v", err)
	}
	if _, err := n.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Errorf("publishing after the sunset: %v", err)
	}
}

// checkTablesAfterSunset opens the database file and checks that only
// tables without personal data hold rows: a table added later that holds
// people's data and that Sunset does not empty fails here.
func checkTablesAfterSunset(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kept := map[string]bool{"log_hashes": true, "log_leaves": true, "checkpoints": true, "rulesets": true, "ruleset_proposals": true,
		"venues": true, "designations": true, "overrides": true, "tokens": true, "units": true, "officials": true, "official_proposals": true, "sessions": true, "schema_migrations": true, "sqlite_sequence": true, "sqlite_stat1": true,
		// Oversight's records name officials; the people an alert named and
		// the auditors' notes go (checked below).
		"oversight_alerts": true, "oversight_alert_officials": true, "oversight_reviews": true, "oversight_review_officials": true,
		"oversight_cursors": true, "oversight_deliveries": true,
		// A padding row the node rewrites to learn whether its disk takes writes again.
		"disk_probe": true,
		// One counter the database moves when tokens or officials change (engine/tokencache.go).
		"auth_epoch": true}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, name := range tables {
		var n int64
		if err := db.QueryRow(`SELECT count(*) FROM "` + name + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 && !kept[name] {
			t.Errorf("table %s holds %d rows after the sunset: if it is personal data, Sunset must delete it; if not, list it here", name, n)
		}
	}
	for q, what := range map[string]string{
		`SELECT count(*) FROM tokens WHERE role = 'citizen' OR subject != ''`:                             "citizens' tokens",
		`SELECT count(*) FROM overrides WHERE note != ''`:                                                 "override notes",
		`SELECT count(*) FROM oversight_alerts WHERE people != '[]'`:                                      "people named by oversight alerts",
		`SELECT count(*) FROM oversight_reviews WHERE note != '' OR close_note != ''`:                     "auditors' review notes",
		`SELECT count(*) FROM sessions s JOIN tokens t ON t.hash = s.token_hash WHERE t.role = 'citizen'`: "citizens' page sessions",
	} {
		var n int64
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d %s remain after the sunset", n, what)
		}
	}
}

// TestPurgeDeletesExpiredPersonalData runs the daily purge hook with the
// clock moved past the retention periods: no expired row remains (asked
// through the store), the people whose evidence went are re-evaluated and
// their new decisions logged, and the purge itself is in the log. Then the
// purge command, on the wall clock, purges the rest.
func TestPurgeDeletesExpiredPersonalData(t *testing.T) {
	// This city lives in 2022: the purge command below runs on the wall
	// clock, years later.
	start := time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)
	tn := startNodeAt(t, 1000, start)
	ctx := context.Background()
	lab := tn.token(t, healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	epi := &healthcode.Principal{ID: "epi-1", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"}
	operator := &healthcode.Principal{ID: "op-1", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"}
	s1, id1, cit1 := tn.citizen(t, 1)
	s2, id2, _ := tn.citizen(t, 2)
	s3, _, _ := tn.citizen(t, 3)
	s4, id4, _ := tn.citizen(t, 4)
	tn.submit(t, lab, evidenceAt(start, "nucleic_acid_test", id1, "P-1", "positive"))
	tn.submit(t, lab, evidenceAt(start, "nucleic_acid_test", id2, "N-2", "negative"))
	v, err := tn.engine.RegisterVenue(ctx, &healthcode.Principal{ID: "owner", Name: "店主", Role: healthcode.RoleVenue},
		healthcode.Venue{Name: "便利店", Address: "二七区", Region: "410103", Category: "retail"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{s1, s3} {
		if _, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: s, Name: "c", Role: healthcode.RoleCitizen, Subject: s}, v.StaticCode()); err != nil {
			t.Fatal(err)
		}
	}
	// Person 5, diagnosed, was there too: s1 is linked to the case.
	s5, id5, _ := tn.citizen(t, 5)
	if _, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: s5, Name: "c", Role: healthcode.RoleCitizen, Subject: s5}, v.StaticCode()); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.unmask(ctx, epi, s1, tn.openCase(t, id5, "DX-5")); err != nil {
		t.Fatal(err)
	}
	if c := tn.myCode(t, cit1); c.Decision.Colour != "red" {
		t.Fatalf("before: %+v", c.Decision)
	}

	// 29 days on, a fresh test comes in; then the daily purge runs.
	tn.clock.Advance(29 * healthcode.Day)
	tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: id4, ExternalID: "F-4", ObservedAt: tn.clock.Now().Add(-time.Hour), Result: "negative"})
	var size int64
	view := func(fn func(tx healthcode.ReadTx) error) {
		t.Helper()
		if err := tn.db.View(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	view(func(tx healthcode.ReadTx) error { size, err = tx.LogSize(ctx); return err })
	r := (&retention{}).Get()
	tn.purgeExpired(ctx, r)

	plan := r.Plan(tn.clock.Now())
	view(func(tx healthcode.ReadTx) error {
		for _, s := range []string{s1, s2, s3, s4} {
			evs, err := tx.Evidence(ctx, s)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if e.ObservedAt.Before(plan.EvidenceBefore[e.Kind]) {
					t.Errorf("expired evidence %d of %s remains", e.ID, s)
				}
			}
			if want := map[string]int{s4: 1}[s]; len(evs) != want {
				t.Errorf("%s keeps %d pieces of evidence, want %d", s, len(evs), want)
			}
		}
		cs, err := tx.CheckIns(ctx, healthcode.CheckInQuery{Venue: v.ID, From: time.Unix(0, 0), To: tn.clock.Now().Add(time.Hour)}, healthcode.CheckInCursor{}, 100)
		if err != nil || len(cs) != 0 {
			t.Errorf("check-ins after the purge: %v, %v", cs, err)
		}
		// The unmask request, its approval and the read.
		if as, err := tx.AccessRecords(ctx, s1, 10); err != nil || len(as) != 3 {
			t.Errorf("access records (kept a year) after the purge: %v, %v", as, err)
		}
		return nil
	})
	// The purge is in the log, naming no one, with its counts; the red
	// code that rested on the deleted test is re-decided after it.
	var purge *tlog.Leaf
	var redecided bool
	view(func(tx healthcode.ReadTx) error {
		n, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		for i := size; i < n; i++ {
			b, err := tx.LogLeaf(ctx, i)
			if err != nil {
				return err
			}
			l, err := tlog.DecodeLeaf(b)
			if err != nil {
				return err
			}
			if l.Entry.Type == healthcode.LogPurge {
				purge = l
				continue
			}
			if subj, _, err := tx.LogOpening(ctx, i); err == nil && subj == s1 && l.Entry.Type == healthcode.LogDecision && purge != nil {
				redecided = true
			}
		}
		return nil
	})
	if purge == nil || purge.Commitment != nil || purge.Entry.ActorRole != healthcode.RoleSystem ||
		!strings.Contains(purge.Entry.Ref, "evidence/nucleic_acid_test=3") /* and the positive the diagnosis rests on */ || !strings.Contains(purge.Entry.Ref, "checkins=3") {
		t.Fatalf("purge leaf: %+v", purge)
	}
	if !redecided {
		t.Error("no decision for the person whose test was deleted follows the purge in the log")
	}
	if c := tn.myCode(t, cit1); c.Decision.Colour != "green" || len(c.Decision.EvidenceIDs) != 0 {
		t.Errorf("after the purge the citizen sees %+v, want green resting on nothing", c.Decision)
	}

	// The command, on the wall clock (years after this city's data), with
	// tests kept 14 days: the fresh test and the access record go too.
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runLine(t, "purge", "--data", tn.dir, "--retention", "tests=14d")
	if code != exitOK || !strings.Contains(out, "nucleic_acid_test=14d") || !strings.Contains(out, "evidence/nucleic_acid_test") {
		t.Fatalf("purge command: %d\n%s%s", code, out, errs)
	}
	view(func(tx healthcode.ReadTx) error {
		if evs, err := tx.Evidence(ctx, s4); err != nil || len(evs) != 0 {
			t.Errorf("after the purge command: %v, %v", evs, err)
		}
		if as, err := tx.AccessRecords(ctx, "", 10); err != nil || len(as) != 0 {
			t.Errorf("access records after the purge command: %v, %v", as, err)
		}
		return nil
	})
	if code, out, errs := runCmd(t, "log", "verify", "--key", filepath.Join(tn.dir, "log-signing.pub"),
		"--checkpoint", filepath.Join(tn.dir, "checkpoint"), tn.cfg.DB); code != exitOK {
		t.Fatalf("log verify after the purges: %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runLine(t, "purge", "--data", tn.dir, "--retention", "tests=0d"); code != exitUsage || !strings.Contains(errs, "out of range") {
		t.Errorf("purge with a zero retention: %d %s", code, errs)
	}
}

func TestRetentionFlag(t *testing.T) {
	def := (&retention{}).Get()
	for _, tc := range []struct {
		in   string
		want func(r *healthcode.Retention)
		err  string
	}{
		{"", func(r *healthcode.Retention) {}, ""},
		{"tests=14d", func(r *healthcode.Retention) {
			r.Evidence[healthcode.NucleicAcidTest], r.Evidence[healthcode.AntigenTest] = 14*healthcode.Day, 14*healthcode.Day
		}, ""},
		{"travel=7d, checkins=21d,designations=30d,access=36h", func(r *healthcode.Retention) {
			r.Evidence[healthcode.Travel], r.CheckIns, r.Designations, r.Access = 7*healthcode.Day, 21*healthcode.Day, 30*healthcode.Day, 36*time.Hour
		}, ""},
		{"evidence=10d,diagnosis=60d", func(r *healthcode.Retention) {
			for _, k := range healthcode.EvidenceKinds {
				r.Evidence[k] = 10 * healthcode.Day
			}
			r.Evidence[healthcode.Diagnosis] = 60 * healthcode.Day
		}, ""},
		{"tests", nil, "not KIND=DURATION"},
		{"tests=fortnight", nil, "bad duration"},
		{"tests=0d", nil, "out of range"},
		{"tests=-1d", nil, "out of range"},
		{"tests=5000d", nil, "out of range"},
		{"names=1d", nil, "unknown kind"},
	} {
		var v retention
		err := v.Set(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Set(%q) = %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Set(%q): %v", tc.in, err)
			continue
		}
		want := healthcode.DefaultRetention()
		tc.want(&want)
		if diff := cmp.Diff(want, v.Get()); diff != "" {
			t.Errorf("Set(%q) (-want +got):\n%s", tc.in, diff)
		}
		// String round-trips.
		var again retention
		if err := again.Set(v.String()); err != nil || !cmp.Equal(v.Get(), again.Get()) {
			t.Errorf("Set(String()) of %q: %v, %v", tc.in, again.String(), err)
		}
	}
	if diff := cmp.Diff(healthcode.DefaultRetention(), def); diff != "" {
		t.Errorf("a Set changed the defaults (-want +got):\n%s", diff)
	}
	// The environment variable, and a bad one reported.
	t.Setenv("HEALTHCODE_RETENTION", "checkins=14d")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	v := retentionFlag(fs)
	if err := fs.Parse([]string{"--retention", "access=30d"}); err != nil || v.Err() != nil {
		t.Fatal(err, v.Err())
	}
	if r := v.Get(); r.CheckIns != 14*healthcode.Day || r.Access != 30*healthcode.Day {
		t.Errorf("env and flag: %+v", r)
	}
	t.Setenv("HEALTHCODE_RETENTION", "checkins=never")
	if v := retentionFlag(flag.NewFlagSet("test", flag.ContinueOnError)); v.Err() == nil || !strings.Contains(v.Err().Error(), "HEALTHCODE_RETENTION") {
		t.Errorf("a bad HEALTHCODE_RETENTION: %v", v.Err())
	}
}
