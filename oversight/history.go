package oversight

import (
	"context"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

// action is one restrictive action as the log records it: who took part,
// whom it named, which case it cited.
type action struct {
	Index     int64
	At        time.Time
	What      string   // "override", "designation", "record", "evidence"
	Ref       string   // "override/12", "evidence/40"…
	Officials []string // requester first, then approver, co-signer
	Units     []string
	Case      string // the case cited, if any
	People    []string
	// Designation is the designation an exposure came from, 0 if none.
	Designation int64
}

// keys are the counters an action counts against: each official, each
// unit, the requester–approver pair and the case.
func (a *action) keys() []string {
	var ks []string
	for _, o := range a.Officials {
		ks = append(ks, "official:"+o)
	}
	for _, u := range sortedUnique(a.Units) {
		ks = append(ks, "unit:"+u)
	}
	if len(a.Officials) >= 2 {
		ks = append(ks, "pair:"+a.Officials[0]+"+"+a.Officials[1])
	}
	if a.Case != "" {
		ks = append(ks, "case:"+a.Case)
	}
	return ks
}

// restriction is a person's colour going above green.
type restriction struct {
	Index   int64
	At      time.Time
	Subject string
	RuleID  string
}

// read is an official's read of one person's data.
type read struct {
	Index    int64
	At       time.Time
	Official string
	Unit     string
	Case     string
	Subject  string
}

// history is what the detectors compare new entries against: the recent
// restrictive actions, restrictions and reads, by time. It is kept in
// memory, bounded by Baseline (a few days of a city's restrictive work),
// and rebuilt from the log on start.
type history struct {
	s            Settings
	actions      []action
	byKey        map[string][]int // indexes into actions
	restrictions []restriction
	reads        []read
	// presence: each person's last check-in, and each venue slot's
	// scans.
	lastCheckIn map[string]healthcode.CheckIn
	slots       map[string]*slotScans
	alertedSlot map[string]bool
	// attrs caches the cohort attributes of the people restricted within
	// CohortWindow, so a pass reads only the newly restricted.
	attrs map[string][]attribute
}

type slotScans struct {
	people map[string]time.Time
	first  time.Time
}

func newHistory(s Settings) *history {
	return &history{s: s, byKey: map[string][]int{}, lastCheckIn: map[string]healthcode.CheckIn{},
		slots: map[string]*slotScans{}, alertedSlot: map[string]bool{}, attrs: map[string][]attribute{}}
}

func (h *history) addAction(a action) {
	h.actions = append(h.actions, a)
	for _, k := range a.keys() {
		h.byKey[k] = append(h.byKey[k], len(h.actions)-1)
	}
}

// trim drops what is older than the detectors look back.
func (h *history) trim(now time.Time) {
	cut := now.Add(-h.s.Baseline - h.s.BurstWindow)
	n := 0
	for n < len(h.actions) && h.actions[n].At.Before(cut) {
		n++
	}
	if n > 0 {
		h.actions = append([]action(nil), h.actions[n:]...)
		h.byKey = map[string][]int{}
		for i := range h.actions {
			for _, k := range h.actions[i].keys() {
				h.byKey[k] = append(h.byKey[k], i)
			}
		}
	}
	rcut := now.Add(-h.s.CohortWindow)
	m := 0
	for m < len(h.restrictions) && h.restrictions[m].At.Before(rcut) {
		m++
	}
	h.restrictions = append([]restriction(nil), h.restrictions[m:]...)
	if m > 0 {
		keep := map[string]bool{}
		for _, r := range h.restrictions {
			keep[r.Subject] = true
		}
		for s := range h.attrs {
			if !keep[s] {
				delete(h.attrs, s)
			}
		}
	}
	k := 0
	for k < len(h.reads) && h.reads[k].At.Before(cut) {
		k++
	}
	h.reads = append([]read(nil), h.reads[k:]...)
	pcut := now.Add(-h.s.TeleportWithin)
	for s, c := range h.lastCheckIn {
		if c.At.Before(pcut) {
			delete(h.lastCheckIn, s)
		}
	}
	scut := now.Add(-healthcode.Day)
	for k, sc := range h.slots {
		if sc.first.Before(scut) {
			delete(h.slots, k)
			delete(h.alertedSlot, k)
		}
	}
}

// pass is one run of the detectors: the new entries and check-ins, the
// read transaction they were read in, and look-ups cached for the pass.
type pass struct {
	r        *Runner
	ctx      context.Context
	tx       healthcode.ReadTx
	now      time.Time
	s        Settings
	hist     *history
	entries  []*healthcode.LogEntry
	from, to int64
	checkins []healthcode.CheckIn
	ciCursor *int64

	// What this pass added to the history.
	actions      []action
	restrictions []restriction
	reads        []read
	designations []int64 // approved in this pass

	officials map[string]*healthcode.Official
	overrides map[int64]*healthcode.Override
	desigs    map[int64]*healthcode.RiskDesignation
	records   map[int64]*healthcode.PendingRecord
}

// official returns an official of the registry, or nil.
func (p *pass) official(id string) *healthcode.Official {
	if id == "" {
		return nil
	}
	if p.officials == nil {
		p.officials = map[string]*healthcode.Official{}
	}
	if o, ok := p.officials[id]; ok {
		return o
	}
	o, err := p.tx.Official(p.ctx, id)
	if err != nil {
		o = nil
	}
	p.officials[id] = o
	return o
}

func (p *pass) unitOf(id string) string {
	if o := p.official(id); o != nil {
		return o.Unit
	}
	return ""
}

func (p *pass) override(id int64) *healthcode.Override {
	if p.overrides == nil {
		p.overrides = map[int64]*healthcode.Override{}
	}
	if o, ok := p.overrides[id]; ok {
		return o
	}
	o, err := p.tx.Override(p.ctx, id)
	if err != nil {
		o = nil
	}
	p.overrides[id] = o
	return o
}

func (p *pass) designation(id int64) *healthcode.RiskDesignation {
	if p.desigs == nil {
		p.desigs = map[int64]*healthcode.RiskDesignation{}
	}
	if d, ok := p.desigs[id]; ok {
		return d
	}
	d, err := p.tx.Designation(p.ctx, id)
	if err != nil {
		d = nil
	}
	p.desigs[id] = d
	return d
}

func (p *pass) record(id int64) *healthcode.PendingRecord {
	if p.records == nil {
		p.records = map[int64]*healthcode.PendingRecord{}
	}
	if r, ok := p.records[id]; ok {
		return r
	}
	r, err := p.tx.PendingRecord(p.ctx, id)
	if err != nil {
		r = nil
	}
	p.records[id] = r
	return r
}

// parseLabel reads the official id and unit id out of an actor label
// ("name [id @ unit]", healthcode.ActorLabel).
func parseLabel(label string) (id, unit string) {
	open := strings.LastIndexByte(label, '[')
	if open < 0 || !strings.HasSuffix(label, "]") {
		return "", ""
	}
	inner := label[open+1 : len(label)-1]
	id, unit, ok := strings.Cut(inner, " @ ")
	if !ok {
		return "", ""
	}
	return id, unit
}

// refID reads the number after prefix at the start of ref ("override/12 …").
func refID(ref, prefix string) (int64, bool) {
	s, ok := strings.CutPrefix(ref, prefix)
	if !ok {
		return 0, false
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// caseOfEvidence returns the case a piece of evidence cited as a case (a
// diagnosis that opened one, a positive test of a case's person): the id of
// the person's case, or "" if none.
func (p *pass) caseOfEvidence(id int64) string {
	ev, err := p.tx.EvidenceByID(p.ctx, id)
	if err != nil {
		return ""
	}
	if ev.Kind == healthcode.Diagnosis && strings.HasPrefix(ev.CaseRef, healthcode.CaseIDPrefix) {
		return ev.CaseRef
	}
	cs, err := p.tx.CasesOf(p.ctx, ev.Subject)
	if err != nil || len(cs) == 0 {
		return "evidence/" + strconv.FormatInt(id, 10)
	}
	return cs[0].ID
}

// extract turns the pass's new entries into history: restrictive actions,
// restrictions (colours above green) and reads.
func (p *pass) extract() error {
	for _, e := range p.entries {
		if err := p.extractOne(e); err != nil {
			return err
		}
	}
	return nil
}

func (p *pass) addAction(a action) {
	if len(a.Officials) == 0 {
		return
	}
	for _, o := range a.Officials {
		a.Units = append(a.Units, p.unitOf(o))
	}
	p.actions = append(p.actions, a)
	p.hist.addAction(a)
}

func (p *pass) extractOne(e *healthcode.LogEntry) error {
	switch e.Type {
	case healthcode.LogDecision, healthcode.LogOverride:
		if e.Colour > healthcode.Green && e.Subject != "" {
			r := restriction{Index: e.Index, At: e.Time, Subject: e.Subject, RuleID: e.RuleID}
			p.restrictions = append(p.restrictions, r)
			p.hist.restrictions = append(p.hist.restrictions, r)
		}
		if e.Type == healthcode.LogOverride && e.Colour > healthcode.Green {
			// The approval taking effect: the pair that signed it.
			if id, ok := refID(e.RuleID, "override/"); ok {
				if o := p.override(id); o != nil && o.Approver != nil {
					offs := []string{o.Requester.ID, o.Approver.ID}
					if o.CoSigner != nil {
						offs = append(offs, o.CoSigner.ID)
					}
					p.addAction(action{Index: e.Index, At: e.Time, What: "override", Ref: e.RuleID, Officials: offs, Case: o.CaseRef,
						People: []string{e.Subject}})
				}
			}
		}
	case healthcode.LogOverrideAttempt:
		if !strings.HasPrefix(e.Reason, "requested.") || e.Colour <= healthcode.Green {
			return nil
		}
		id, _ := parseLabel(e.ActorName)
		a := action{Index: e.Index, At: e.Time, What: "override", Ref: e.RuleID, Officials: []string{id}}
		if e.Subject != "" {
			a.People = []string{e.Subject}
		}
		if n, ok := refID(e.RuleID, "override/"); ok {
			if o := p.override(n); o != nil {
				a.Case = o.CaseRef
			}
		}
		p.addAction(a)
	case healthcode.LogDesignation:
		id, ok := refID(e.Ref, "designation/")
		if !ok {
			return nil
		}
		d := p.designation(id)
		if d == nil {
			return nil
		}
		switch {
		case strings.HasPrefix(e.Reason, "requested."):
			a := action{Index: e.Index, At: e.Time, What: "designation", Ref: "designation/" + strconv.FormatInt(id, 10), Officials: []string{d.Requester.ID}}
			if len(d.Cases) > 0 {
				a.Case = p.caseOfEvidence(d.Cases[0])
			}
			p.addAction(a)
		case strings.HasPrefix(e.Reason, "refused.") || strings.HasPrefix(e.Reason, "cosigned."):
		default: // approved: its exposures follow as evidence entries
			p.designations = append(p.designations, id)
		}
	case healthcode.LogPendingRecord:
		id, ok := refID(e.Ref, "record/")
		if !ok || (e.Reason != "requested" && e.Reason != "countersigned") {
			return nil
		}
		r := p.record(id)
		if r == nil {
			return nil
		}
		offs := []string{r.Requester.ID}
		if e.Reason == "countersigned" && r.Confirmer != nil {
			offs = append(offs, r.Confirmer.ID)
		}
		p.addAction(action{Index: e.Index, At: e.Time, What: "record", Ref: "record/" + strconv.FormatInt(id, 10), Officials: offs,
			Case: r.Case, People: []string{r.Evidence.Subject}})
	case healthcode.LogEvidence:
		id, ok := refID(e.Ref, "evidence/")
		if !ok {
			return nil
		}
		ev, err := p.tx.EvidenceByID(p.ctx, id)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return nil // purged
		} else if err != nil {
			return err
		}
		if !restrictive(ev) {
			return nil
		}
		a := action{Index: e.Index, At: e.Time, What: "evidence", Ref: e.Ref, Officials: append([]string{ev.Submitter}, p.collectorsOf(ev)...), People: []string{ev.Subject}}
		switch {
		case ev.Kind == healthcode.VenueExposure:
			if n, ok := refID(ev.CaseRef, "designation/"); ok {
				a.Designation = n
				if d := p.designation(n); d != nil {
					a.Officials = []string{d.Requester.ID}
					if d.Approver != nil {
						a.Officials = append(a.Officials, d.Approver.ID)
					}
					if len(d.Cases) > 0 {
						a.Case = p.caseOfEvidence(d.Cases[0])
					}
				}
			}
		case strings.HasPrefix(ev.CaseRef, healthcode.CaseIDPrefix):
			a.Case = ev.CaseRef
		}
		if ev.Kind == healthcode.Diagnosis && ev.Diagnosis != healthcode.DiagnosisSuspected {
			a.Case = "" // a diagnosis opens its own case; it cites none
		}
		p.addAction(a)
	case healthcode.LogRead, healthcode.LogTrace, healthcode.LogUnmask:
		if e.Subject == "" {
			return nil
		}
		if e.Type == healthcode.LogUnmask && !strings.HasPrefix(e.Reason, "requested.") && strings.Contains(e.Reason, ".") {
			return nil // an approval or refusal: the read is the unmask itself
		}
		id, unit := parseLabel(e.ActorName)
		if id == "" {
			return nil
		}
		r := read{Index: e.Index, At: e.Time, Official: id, Unit: unit, Case: strings.TrimPrefix(e.Note, "case/"), Subject: e.Subject}
		p.reads = append(p.reads, r)
		p.hist.reads = append(p.hist.reads, r)
	}
	return nil
}

// restrictive reports whether a piece of evidence can raise its person's
// colour: a positive test, a restricting diagnosis, a contact, travel, the
// start of a quarantine, an exposure at a risk venue.
func restrictive(ev *healthcode.Evidence) bool {
	switch ev.Kind {
	case healthcode.CloseContact, healthcode.SecondaryContact, healthcode.Travel, healthcode.QuarantineStart, healthcode.VenueExposure:
		return true
	case healthcode.Diagnosis:
		return ev.Diagnosis == healthcode.DiagnosisConfirmed || ev.Diagnosis == healthcode.DiagnosisAsymptomatic ||
			ev.Diagnosis == healthcode.DiagnosisSuspected
	}
	return ev.Kind.IsTest() && ev.Result == healthcode.Positive
}
