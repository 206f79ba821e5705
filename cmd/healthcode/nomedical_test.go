package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/sim"
	"healthcode/tlog"

	"github.com/fxamacker/cbor/v2"
)

// institutionOfficial finds a lab's or a clinic's official id and unit id
// in an official entry's ref ("official ID created: NAME, ROLE, unit UNIT").
var institutionOfficial = regexp.MustCompile(`^official (\S+) [a-z ]+: .*, (?:lab|clinic), unit (\S+)`)

// startDemoNode is a node populated as the demo populates one: a city of a
// thousand people, its institutions and the outbreak's evidence up to now.
func startDemoNode(t *testing.T) (*testNode, []demoToken) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	city, err := sim.New(sim.Config{Seed: 7, People: 1000, Region: cfg.Region, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	events := city.Outbreak()
	clock := healthcode.NewManualClock(events[len(events)-1].At.Add(time.Hour))
	n, err := openNode(ctx, cfg, clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	tokens, _, _, err := n.populate(ctx, city, clock.Now(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The demo's diagnoses are lawful: each rests on a positive of a sample
	// a sampling site collected, so none is held.
	if err := n.db.View(ctx, func(tx healthcode.ReadTx) error {
		held, err := tx.PendingRecords(ctx, "", "", 1000)
		for _, r := range held {
			if r.Evidence.Kind == healthcode.Diagnosis {
				t.Errorf("the demo's diagnosis %s is held: %+v", r.Evidence.ExternalID, r)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := n.server.Open(cfg.Addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.server.Close(context.Background()) })
	return &testNode{node: n, clock: clock, city: city, url: n.server.URL(), dir: dir}, tokens
}

// qrClaims decodes a health QR's claims as any verifier can, without the
// qr package: HCN1: + base45(zlib(COSE_Sign1)), the payload a CBOR map.
func qrClaims(t *testing.T, text string) map[int]any {
	t.Helper()
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	s, ok := strings.CutPrefix(text, "HCN1:")
	if !ok {
		t.Fatalf("QR text %q", text)
	}
	var raw []byte
	for i := 0; i < len(s); i += 3 {
		n, mul := 0, 1
		for j := i; j < min(i+3, len(s)); j++ {
			n += strings.IndexByte(alphabet, s[j]) * mul
			mul *= 45
		}
		if i+3 <= len(s) {
			raw = append(raw, byte(n>>8), byte(n))
		} else {
			raw = append(raw, byte(n))
		}
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	cose, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var sign1 struct {
		_           struct{} `cbor:",toarray"`
		Protected   []byte
		Unprotected map[any]any
		Payload     []byte
		Signature   []byte
	}
	if err := cbor.Unmarshal(cose, &sign1); err != nil {
		// A COSE_Sign1 may be tagged (18).
		var tag cbor.RawTag
		if err2 := cbor.Unmarshal(cose, &tag); err2 != nil || cbor.Unmarshal(tag.Content, &sign1) != nil {
			t.Fatalf("COSE_Sign1: %v", err)
		}
	}
	var claims map[int]any
	if err := cbor.Unmarshal(sign1.Payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestCodeAndPublicLogRevealNothingMedical: a node with the demo's outbreak,
// an override approved and another refused, a risk designation citing a
// case. Citizens' QR codes carry nothing that leads into the log, and every
// entry of the public log, read over HTTP as any outsider reads it (the
// checkpoint, then every entry bundle), holds no reason code or rule, no
// evidence kind, no lab or hospital, no evidence id or digest and no
// pseudonym, and no two leaves share a commitment (so no decision leads to
// the evidence behind it). The person's receipt still verifies offline and
// opens to the reason; an auditor opens the entry through the node.
func TestCodeAndPublicLogRevealNothingMedical(t *testing.T) {
	tn, demo := startDemoNode(t)
	ctx := context.Background()
	operator := tn.token(t, healthcode.Principal{ID: "op-1", Name: "操作员 甲", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	approver := tn.token(t, healthcode.Principal{ID: "ap-1", Name: "审批人 乙", Role: healthcode.RoleApprover, Unit: "市卫健委"})
	epi := tn.token(t, healthcode.Principal{ID: "epi-x", Name: "流调员 丙", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"})
	owner := tn.token(t, healthcode.Principal{ID: "owner-1", Name: "便利店店主", Role: healthcode.RoleVenue})
	auditor := tn.token(t, healthcode.Principal{ID: "au-1", Name: "监督员 丁", Role: healthcode.RoleAuditor, Unit: "市纪委监委"})

	// Every piece of evidence and every decision, as the node holds them.
	var evs []healthcode.Evidence
	var decisions []healthcode.Decision
	var people []string
	err := tn.db.View(ctx, func(tx healthcode.ReadTx) error {
		for c := range tn.city.People() {
			s := tn.engine.Keys.Pseudonymize(tn.cfg.Region, c.IDNumber)
			people = append(people, s)
			e, err := tx.Evidence(ctx, s)
			if err != nil {
				return err
			}
			evs = append(evs, e...)
		}
		var after int64
		for {
			rows, err := tx.DecisionRows(ctx, after, 1000)
			if err != nil {
				return err
			}
			decisions = append(decisions, rows...)
			if len(rows) < 1000 {
				return nil
			}
			after = rows[len(rows)-1].ID
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var positive *healthcode.Evidence
	for i := range evs {
		if evs[i].Kind == healthcode.NucleicAcidTest && evs[i].Result == healthcode.Positive {
			positive = &evs[i]
		}
	}
	// (Decisions are those in force in the outbreak's last weeks: every
	// restriction ends, rules/baseline.yaml.)
	if len(evs) < 100 || len(decisions) < 15 || positive == nil {
		t.Fatalf("the outbreak gave %d pieces of evidence and %d decisions (positive %v)", len(evs), len(decisions), positive)
	}

	// An override approved by another unit, another refused with words;
	// a venue designated, citing the positive test.
	// The overrides cite a case the two people are linked to (900 is the
	// case; 901 was at the venue with them); the positive test's person
	// was there too, verified, which the designation rests on.
	var o1, o2 hchttp.OverrideJSON
	s1, id1, tok1 := tn.citizen(t, 900)
	s2, _, _ := tn.citizen(t, 901)
	var v hchttp.VenueJSON
	if st := tn.post(t, "/api/v1/venues", owner, hchttp.VenueJSON{Name: "二七广场便利店", Address: "二七区二七广场1号", Region: "410103", Category: "retail"}, &v); st != 201 {
		t.Fatalf("venue: %d", st)
	}
	if st := tn.post(t, "/api/v1/venues/"+v.ID+"/status", operator, map[string]string{"status": "active"}, nil); st != 200 {
		t.Fatalf("venue status: %d", st)
	}
	var codes hchttp.VenueCodeJSON
	if st := tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &codes); st != 200 {
		t.Fatalf("venue code: %d", st)
	}
	for _, s := range []string{positive.Subject, s1, s2} {
		if c, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: s, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s}, codes.Live); err != nil || !c.Verified {
			t.Fatalf("check-in: %+v %v", c, err)
		}
	}
	caseID := tn.openCase(t, id1, "DX-900")
	for _, o := range []*hchttp.OverrideJSON{&o1, &o2} {
		subj := s1
		if o == &o2 {
			subj = s2
		}
		if st := tn.post(t, "/api/v1/overrides", operator, hchttp.OverrideJSON{Subjects: []string{subj}, Colour: "red",
			Reason: "lab_result_delayed", Basis: []int64{positive.ID}, Case: caseID, Expires: tn.clock.Now().Add(7 * healthcode.Day)}, o); st != 202 {
			t.Fatalf("override: %d", st)
		}
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/overrides/%d/approve", o1.ID), approver, nil, &o1); st != 200 {
		t.Fatalf("approve: %d", st)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/overrides/%d/refuse", o2.ID), approver, map[string]string{"reason": "no lab result on file"}, &o2); st != 200 {
		t.Fatalf("refuse: %d", st)
	}
	var d hchttp.DesignationJSON
	if st := tn.post(t, "/api/v1/designations", epi, hchttp.DesignationJSON{Venue: v.ID, Level: "high", Reason: "case_visited",
		Cases: []int64{positive.ID}, From: tn.clock.Now().Add(-3 * time.Hour), Until: tn.clock.Now(), Expires: tn.clock.Now().Add(healthcode.Day)}, &d); st != 201 {
		t.Fatalf("designation: %d", st)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/designations/%d/approve", d.ID), approver, nil, &d); st != 200 {
		t.Fatalf("designation approval: %d", st)
	}
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}

	// What must not be read from a code or the public log.
	var forbidden needles
	seen := map[string]bool{}
	for _, dd := range decisions {
		for _, s := range []string{dd.Reason, dd.RuleID} {
			if s != "" && !seen[s] {
				seen[s] = true
				forbidden.add(s, "reason code or rule "+s)
			}
		}
		if dd.EvidenceDigest != "" {
			raw, _ := hex.DecodeString(dd.EvidenceDigest)
			forbidden.add(dd.EvidenceDigest, "a decision's evidence digest")
			forbidden.add(string(raw), "a decision's evidence digest (raw)")
		}
	}
	for _, r := range healthcode.OverrideReasons {
		forbidden.add(r, "override reason "+r)
	}
	for _, in := range append(slices.Clone(tn.city.Labs), tn.city.Clinics...) {
		forbidden.add(in.Name, "institution "+in.Name)
	}
	for _, e := range evs {
		dg := healthcode.EvidenceSetDigest([]healthcode.Evidence{e})
		raw, _ := hex.DecodeString(dg)
		forbidden.add(dg, "an evidence digest")
		forbidden.add(string(raw), "an evidence digest (raw)")
		forbidden.add("evidence/"+strconv.FormatInt(e.ID, 10), "an evidence id")
		forbidden.add("cases "+strconv.FormatInt(e.ID, 10), "a case cited")
	}
	for _, p := range people {
		forbidden.add(p, "a pseudonym")
	}
	var kinds needles
	for _, k := range healthcode.EvidenceKinds {
		kinds.add(string(k), "evidence kind "+string(k))
	}

	// Citizens' QR codes: the claims any verifier reads carry no handle into
	// the log (exactly region, subject, expiry, issue time, colour, masked
	// name, rule-set version) and nothing of the above.
	var citizens []string
	for _, dt := range demo {
		if dt.Role == healthcode.RoleCitizen {
			citizens = append(citizens, dt.Token)
		}
	}
	citizens = append(citizens, tok1)
	colours := map[string]bool{}
	for _, tok := range citizens {
		c := tn.myCode(t, tok)
		colours[c.Decision.Colour] = true
		claims := qrClaims(t, c.QR)
		keys := make([]int, 0, len(claims))
		for k := range claims {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []int{-3, -2, -1, 1, 2, 4, 6}; !slices.Equal(keys, want) {
			t.Errorf("a QR's claims have keys %v, want only %v: %v", keys, want, claims)
		}
		if found := forbidden.find([]byte(fmt.Sprint(claims))); len(found) > 0 && !slices.Equal(found, []string{"a pseudonym"}) {
			t.Errorf("a QR holds %v", found)
		}
	}
	if len(colours) < 3 {
		t.Fatalf("the codes checked have colours %v; want all three", colours)
	}

	// The public log, as an outsider reads it over HTTP.
	cp := get(t, tn.url+"/log/checkpoint", "")
	size, err := strconv.ParseInt(strings.SplitN(string(cp), "\n", 3)[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q", cp)
	}
	commitments := map[string]int64{}
	types := map[healthcode.LogType]int{}
	var institutions []string // official and unit ids of labs and clinics, from the registry's entries
	var personal [][]byte     // the leaves about a person
	for n := int64(0); n*tlog.TileWidth < size; n++ {
		w := int(min(size-n*tlog.TileWidth, tlog.TileWidth))
		tp := tlog.TilePath{Entries: true, N: n, W: w}
		leaves, err := tlog.ParseEntryBundle(get(t, tn.url+"/log/"+tp.String(), ""))
		if err != nil || len(leaves) != w {
			t.Fatalf("%s: %d leaves, %v", tp, len(leaves), err)
		}
		for k, b := range leaves {
			i := n*tlog.TileWidth + int64(k)
			l, err := tlog.DecodeLeaf(b)
			if err != nil {
				t.Fatalf("leaf %d: %v", i, err)
			}
			types[l.Entry.Type]++
			found := forbidden.find(b)
			// The registry names its units and officials in clear, labs and
			// clinics among them (invariant 6): an entry about no one
			// person, which says nothing of anyone's test or treatment. What
			// must not happen is an entry about a person naming such an
			// official in clear (checked below).
			if registry := l.Entry.Type == healthcode.LogUnit || l.Entry.Type == healthcode.LogOfficial || l.Entry.Type == healthcode.LogToken; registry &&
				l.Committed&healthcode.FieldSubject == 0 {
				found = slices.DeleteFunc(found, func(f string) bool { return strings.HasPrefix(f, "institution ") })
				if l.Entry.Type == healthcode.LogOfficial {
					if m := institutionOfficial.FindStringSubmatch(l.Entry.Ref); m != nil {
						institutions = append(institutions, m[1], m[2])
					}
				}
			}
			if len(found) > 0 {
				t.Errorf("leaf %d (%s) holds %v", i, l.Entry.Type, found)
			}
			if l.Committed&healthcode.FieldSubject != 0 {
				personal = append(personal, b)
			}
			// A purge leaf counts what it deleted by kind: aggregates of
			// deleted data, about no one.
			if found := kinds.find(b); len(found) > 0 && l.Entry.Type != healthcode.LogPurge {
				t.Errorf("leaf %d (%s) holds %v", i, l.Entry.Type, found)
			}
			if l.Entry.EvidenceDigest != "" {
				t.Errorf("leaf %d (%s) holds an evidence digest in clear", i, l.Entry.Type)
			}
			for f, c := range l.Commitments() {
				if j, ok := commitments[string(c)]; ok {
					t.Errorf("leaves %d and %d share a commitment (%s)", j, i, tlog.FieldNames(f))
				}
				commitments[string(c)] = i
			}
		}
	}
	if len(institutions) == 0 {
		t.Fatal("the registry's entries name no lab or clinic: the check below proves nothing")
	}
	for _, b := range personal {
		for _, id := range institutions {
			if strings.Contains(string(b), id) {
				t.Errorf("an entry about a person names lab or clinic official or unit %s in clear", id)
			}
		}
	}
	for _, typ := range []healthcode.LogType{healthcode.LogEvidence, healthcode.LogDecision, healthcode.LogOverride,
		healthcode.LogOverrideAttempt, healthcode.LogDesignation} {
		if types[typ] == 0 {
			t.Errorf("the log has no %s entry: the scan proves nothing about them (%v)", typ, types)
		}
	}
	t.Logf("%d leaves scanned: %v; %d commitments, all distinct", size, types, len(commitments))
	// The scan can fail: the node's own data holds what it looks for.
	if found := forbidden.find([]byte(fmt.Sprint(decisions, evs))); len(found) < 3 {
		t.Fatalf("the forbidden strings are not in the node's own data (%v): the scan proves nothing", found)
	}

	// The person's receipt verifies offline and opens to the reason.
	c := tn.myCode(t, tok1)
	if c.Decision.Colour != "red" || c.Decision.Reason == "" {
		t.Fatalf("the override's subject: %+v", c.Decision)
	}
	receipt := get(t, tn.url+"/api/v1/me/proofs/"+itoa(c.Decision.LogIndex), tok1)
	file := filepath.Join(t.TempDir(), "receipt.txt")
	if err := os.WriteFile(file, receipt, 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(tn.dir, "log-signing.pub")
	code, out, errs := runCmd(t, "log", "verify-proof", "--key", key, file)
	if code != exitOK || !strings.Contains(out, c.Decision.Reason) || !strings.Contains(out, "opened: about "+s1) {
		t.Fatalf("verify-proof of the person's receipt: %d\n%s%s", code, out, errs)
	}
	// An auditor opens the same entry through the node, for a purpose the
	// person then sees; nobody else can, nor without a purpose.
	path := fmt.Sprintf("/api/v1/log/entries/%d", c.Decision.LogIndex)
	var opened hchttp.OpenedLogEntryJSON
	// It cites the override in question: a reference to a record about
	// the person, never free text.
	cite := fmt.Sprintf("?purpose=oversight&case=override/%d", o1.ID)
	if st := tn.do(t, "GET", path+cite, auditor, nil, &opened); st != 200 ||
		opened.Entry.Reason != c.Decision.Reason || opened.Entry.Subject != s1 || opened.Entry.Colour != "red" {
		t.Fatalf("auditor opens entry %d: %d %+v", c.Decision.LogIndex, st, opened)
	}
	if l, err := tlog.DecodeLeaf(opened.Leaf); err != nil {
		t.Fatal(err)
	} else if e, err := l.Open(opened.Subject, opened.Opening); err != nil || e.Reason != c.Decision.Reason {
		t.Fatalf("the opening the auditor got does not open the public leaf: %v", err)
	}
	for _, tc := range []struct {
		token, query string
		want         int
	}{{tok1, cite, 403}, {operator, cite, 403}, {auditor, "?purpose=oversight&case=audit-7", 400},
		{auditor, fmt.Sprintf("?purpose=oversight&case=override/%d", o2.ID+100), 400},
		{auditor, "", 400}, {auditor, "?purpose=curiosity&case=x", 400}} {
		if st := tn.do(t, "GET", path+tc.query, tc.token, nil, nil); st != tc.want {
			t.Errorf("GET %s%s: %d, want %d", path, tc.query, st, tc.want)
		}
	}
	if st := tn.do(t, "GET", fmt.Sprintf("/api/v1/log/entries/%d%s", size+100, cite), auditor, nil, nil); st != 404 {
		t.Errorf("an entry beyond the log: %d, want 404", st)
	}
	var reads map[string]any
	tn.do(t, "GET", "/api/v1/me/access", tok1, nil, &reads)
	if !strings.Contains(fmt.Sprint(reads), fmt.Sprintf("log entry %d opened", c.Decision.LogIndex)) {
		t.Errorf("the person does not see the auditor's read: %v", reads)
	}

	// The aggregate figures oversight needs come from the node: every
	// piece of evidence counted by kind and by institution, every decision
	// by reason.
	var figs hchttp.FiguresJSON
	if st := tn.do(t, "GET", "/api/v1/oversight/figures?since=2019-12-01T00:00:00Z", auditor, nil, &figs); st != 200 {
		t.Fatalf("figures: %d", st)
	}
	sum := func(m map[string]int64) (n int64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	nEvidence := int64(len(evs) + 2) // and the diagnosis that opened the overrides' case, and the positive it rests on
	if sum(figs.EvidenceByKind) != nEvidence || sum(figs.EvidenceBySubmitter) != nEvidence ||
		sum(figs.DecisionsByReason) < int64(len(decisions)) || figs.People != 1000 || figs.Colours["red"] == 0 {
		t.Errorf("figures %+v: want %d pieces of evidence and at least %d decisions", figs, nEvidence, len(decisions))
	}
	for _, q := range []struct {
		token, query string
		want         int
	}{{operator, "", 403}, {tok1, "", 403}, {auditor, "?since=yesterday", 400}, {auditor, "?since=2999-01-01T00:00:00Z", 400}} {
		if st := tn.do(t, "GET", "/api/v1/oversight/figures"+q.query, q.token, nil, nil); st != q.want {
			t.Errorf("figures%s: %d, want %d", q.query, st, q.want)
		}
	}

	// Outside auditors still verify the whole log, over HTTP and from the file.
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, tn.url); code != exitOK {
		t.Fatalf("log verify URL: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, tn.cfg.DB); code != exitOK {
		t.Fatalf("log verify DBFILE: %d\n%s%s", code, out, errs)
	}
}
