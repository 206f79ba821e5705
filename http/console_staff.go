package http

// The console's sections beyond overrides, appeals and designations: the
// refusals (with a reason the requester and the person read), the venues an
// operator approves or suspends, tracing and unmasking for epidemiologists
// (an approver of another unit answers each unmask request), the records
// held for a second official (epidemiologists, clinics, auditors), and the
// auditor's list of reads. Every action calls the same engine method as
// the API route beside it; the console decides nothing itself.

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"healthcode"
)

// StaffService is what the staff pages read beside the API's services
// (engine.Engine is one): a look-up by ID number, the lists an official
// works through, and the admin's venue-secret rotation.
type StaffService interface {
	CodeForIDNumber(ctx context.Context, actor *healthcode.Principal, idNumber, purpose, caseRef string) (*healthcode.CodeView, error)
	UnmaskRequests(ctx context.Context, actor *healthcode.Principal, status string) ([]healthcode.UnmaskRequest, error)
	VenuesForReview(ctx context.Context, actor *healthcode.Principal) ([]healthcode.Venue, error)
	RuleSetProposals(ctx context.Context, actor *healthcode.Principal) ([]healthcode.RuleSetProposal, error)
	HeldDiagnoses(ctx context.Context, actor *healthcode.Principal) ([]healthcode.PendingRecord, error)
	RotateVenueSecrets(ctx context.Context, actor *healthcode.Principal, overlap time.Duration) (int, int64, error)
}

// staff is the server's staff service: its governance service, if that
// is one.
func (s *Server) staff() (StaffService, error) {
	if st, ok := s.Governance.(StaffService); ok {
		return st, nil
	}
	return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "staff.none", "this node serves no staff pages")
}

// staffHome is the page an official of role works in, or "" for a role
// with none (citizens, verifiers and peers).
func staffHome(r healthcode.Role) string {
	switch {
	case consoleRole(r):
		return "/console"
	case r == healthcode.RoleVenue:
		return "/venue"
	case r == healthcode.RoleAdmin:
		return "/admin"
	case r == healthcode.RoleLab:
		return "/lab"
	case r == healthcode.RoleSampler:
		return "/sample"
	}
	return ""
}

// staffPages are the pages each for some roles only, and whether role
// may open each.
var staffPages = map[string]func(healthcode.Role) bool{
	"/console":   consoleRole,
	"/admin":     func(r healthcode.Role) bool { return r == healthcode.RoleAdmin },
	"/lab":       func(r healthcode.Role) bool { return r == healthcode.RoleLab },
	"/sample":    func(r healthcode.Role) bool { return r == healthcode.RoleSampler },
	"/dashboard": func(r healthcode.Role) bool { return r == healthcode.RoleAuditor },
}

// landing is where a login of role leads: next, unless it is none or a
// page the role may not open, else the role's own page.
func landing(role healthcode.Role, next string) string {
	home := staffHome(role)
	if home == "" {
		home = "/"
	}
	if may, ok := staffPages[next]; next == "" || ok && !may(role) {
		return home
	}
	return next
}

// staffRoutes are the console's further actions, and the admin's, the
// lab's and the sampling site's pages. Each names by hand the roles that
// may post it, as the API route beside it does.
func (s *Server) staffRoutes() []route {
	roles := func(rs ...healthcode.Role) []healthcode.Role { return rs }
	epi, approver, auditor, operator, clinic := healthcode.RoleEpidemiologist, healthcode.RoleApprover, healthcode.RoleAuditor,
		healthcode.RoleOperator, healthcode.RoleClinic
	return append([]route{
		{Method: "POST", Path: "/console/overrides/{id}/refuse", Roles: roles(approver, auditor), Page: true,
			h: s.htmlErrors(s.consoleAction("refuse-override-{id}", "overrides", s.consoleRefuseOverride))},
		{Method: "POST", Path: "/console/designations/{id}/refuse", Roles: roles(approver), Page: true,
			h: s.htmlErrors(s.consoleAction("refuse-designation-{id}", "designations", s.consoleRefuseDesignation))},
		{Method: "POST", Path: "/console/venues/{id}/status", Roles: roles(operator), Page: true,
			h: s.htmlErrors(s.consoleAction("", "venues", s.consoleVenueStatus))},
		{Method: "POST", Path: "/console/trace", Roles: roles(epi), Page: true, h: s.htmlErrors(s.consoleTrace)},
		{Method: "POST", Path: "/console/unmask", Roles: roles(epi), Page: true,
			h: s.htmlErrors(s.consoleAction("unmask", "unmask", s.consoleRequestUnmask))},
		{Method: "POST", Path: "/console/unmask/{id}/approve", Roles: roles(approver), Page: true,
			h: s.htmlErrors(s.consoleAction("", "unmask", s.consoleAnswerUnmask(true)))},
		{Method: "POST", Path: "/console/unmask/{id}/refuse", Roles: roles(approver), Page: true,
			h: s.htmlErrors(s.consoleAction("", "unmask", s.consoleAnswerUnmask(false)))},
		{Method: "POST", Path: "/console/unmask/{id}/open", Roles: roles(epi), Page: true, h: s.htmlErrors(s.consoleOpenUnmask)},
		{Method: "POST", Path: "/console/records/{id}/confirm", Roles: roles(clinic, epi), Page: true,
			h: s.htmlErrors(s.consoleAction("", "records", s.consoleSignRecord("confirm")))},
		{Method: "POST", Path: "/console/records/{id}/cosign", Roles: roles(auditor), Page: true,
			h: s.htmlErrors(s.consoleAction("", "records", s.consoleSignRecord("cosign")))},
		{Method: "POST", Path: "/console/records/{id}/refuse", Roles: roles(clinic, epi, auditor), Page: true,
			h: s.htmlErrors(s.consoleAction("", "records", s.consoleSignRecord("refuse")))},
	}, append(s.adminRoutes(), append(s.labRoutes(), s.samplingRoutes()...)...)...)
}

// staffData is what the further sections show.
type staffData struct {
	RefuseOverrides, RefuseDesignations bool
	ReviewVenues                        bool
	Venues                              []venueRow
	Trace                               bool
	TraceResult                         *traceResult
	RequestUnmask, AnswerUnmasks        bool
	Unmasks                             []unmaskRow
	Unmasked                            *unmaskedPerson
	Records                             bool
	RecordRows                          []recordRow
	Reads                               bool
	ReadRows                            []readRow
	ReadsMore                           int
	UnmaskPurposes                      []option
}

// venueRow is a venue as an operator reviews it.
type venueRow struct {
	ID, Name, Address, Region, Category string
	Status                              string
	Pending, Active                     bool
	Registered, RegisteredISO           string
}

// traceResult is one page of a tracing query.
type traceResult struct {
	Query    string // what was asked, in words
	Recorded string
	Total    int64
	People   int64
	Rows     []traceRow
	// Next, if set, is the cursor of the following page; Values are the
	// query's fields, posted again with it.
	Next   string
	Values map[string]string
}

type traceRow struct {
	When, ISO string
	Venue     string
	Subject   string
	Presence  string
}

// unmaskRow is an unmask request in words.
type unmaskRow struct {
	ID                 int64
	Subject            string
	Purpose, Case      string
	Status             string
	Requested          string
	Approved           string
	Ends, EndsISO      string
	CanAnswer, CanOpen bool
	SameUnit           bool
}

// unmaskedPerson is who a pseudonym is, shown once to the epidemiologist
// whose request was approved.
type unmaskedPerson struct {
	Subject, Name, IDNumber, Phone, Case string
	Recorded                             string
}

// recordRow is a record held for a second official.
type recordRow struct {
	ID                               int64
	Kind                             string
	Subject                          string
	Case                             string
	Link                             string
	Observed, ObsISO                 string
	Status                           string
	Officials                        string
	NeedsCoSign                      bool
	CanConfirm, CanCoSign, CanRefuse bool
}

// readRow is one read of personal data, as the auditor lists them.
type readRow struct {
	accessRow
	Subject string
}

// maxReadsShown bounds the reads the auditor's list shows.
const maxReadsShown = 200

// staffSections loads the further sections of p's console.
func (s *Server) staffSections(ctx context.Context, p *healthcode.Principal, d *pageData, c *consoleData) error {
	st, err := s.staff()
	if err != nil {
		return nil // a node without them shows the API's sections only
	}
	x := &c.Staff
	venues := s.Venues != nil
	switch p.Role {
	case healthcode.RoleOperator:
		x.ReviewVenues = venues
	case healthcode.RoleApprover:
		x.RefuseOverrides, x.RefuseDesignations, x.AnswerUnmasks = true, venues, venues
	case healthcode.RoleAuditor:
		x.RefuseOverrides, x.Records, x.Reads = true, venues, venues
	case healthcode.RoleEpidemiologist:
		x.Trace, x.RequestUnmask, x.Records = venues, venues, venues
	case healthcode.RoleClinic:
		x.Records = venues
	}
	if x.ReviewVenues {
		vs, err := st.VenuesForReview(ctx, p)
		if err != nil {
			return err
		}
		for _, v := range vs {
			x.Venues = append(x.Venues, venueRow{ID: v.ID, Name: v.Name, Address: v.Address, Region: d.Region(v.Region), Category: d.T("venue.category." + v.Category),
				Status: d.T("venue.status." + v.Status), Pending: v.Status == healthcode.VenuePending, Active: v.Status == healthcode.VenueActive,
				Registered: d.Time(v.RegisteredAt), RegisteredISO: d.ISO(v.RegisteredAt)})
		}
	}
	if x.RequestUnmask || x.AnswerUnmasks {
		status := ""
		if x.AnswerUnmasks {
			status = healthcode.UnmaskPending
		}
		rs, err := st.UnmaskRequests(ctx, p, status)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		for i := range rs {
			x.Unmasks = append(x.Unmasks, d.unmaskRow(&rs[i], p, now))
		}
	}
	if x.Records {
		var rs []healthcode.PendingRecord
		if p.Role == healthcode.RoleClinic {
			rs, err = st.HeldDiagnoses(ctx, p)
		} else {
			rs, err = s.Venues.PendingRecords(ctx, p, healthcode.RecordPending)
		}
		if err != nil {
			return err
		}
		for i := range rs {
			r := &rs[i]
			if p.Role == healthcode.RoleAuditor && !(r.CoSignNeeded && r.CoSigner == nil) {
				continue // an auditor acts only on what crossed a bulk limit
			}
			x.RecordRows = append(x.RecordRows, d.recordRow(r, p))
		}
	}
	if x.Reads {
		rs, err := s.Venues.AccessRecords(ctx, p)
		if err != nil {
			return err
		}
		shown := rs[:min(len(rs), maxReadsShown)]
		for i, a := range d.accessRows(shown) {
			x.ReadRows = append(x.ReadRows, readRow{accessRow: a, Subject: shown[i].Subject})
		}
		x.ReadsMore = len(rs) - len(shown)
	}
	sel := c.Val("unmask", "purpose", "")
	for _, v := range []string{"contact_tracing", "case_investigation"} {
		x.UnmaskPurposes = append(x.UnmaskPurposes, option{Value: v, Label: d.T("purpose." + v), Selected: v == sel})
	}
	return nil
}

func (d *pageData) unmaskRow(r *healthcode.UnmaskRequest, viewer *healthcode.Principal, now time.Time) unmaskRow {
	row := unmaskRow{ID: r.ID, Subject: r.Subject, Purpose: d.T("purpose." + r.Purpose), Case: r.Case, Status: d.T("console.unmask.status." + r.Status),
		Requested: d.officialName(&r.Requester)}
	if r.Approver != nil {
		row.Approved = d.officialName(r.Approver)
	}
	if r.Status == healthcode.UnmaskApproved {
		row.Ends, row.EndsISO = d.Time(r.Expires), d.ISO(r.Expires)
	}
	switch viewer.Role {
	case healthcode.RoleApprover:
		row.SameUnit = r.Requester.Unit == viewer.Unit
		row.CanAnswer = r.Status == healthcode.UnmaskPending && !row.SameUnit
	case healthcode.RoleEpidemiologist:
		row.CanOpen = r.Status == healthcode.UnmaskApproved && now.Before(r.Expires) && r.Requester.ID == viewer.ID
	}
	return row
}

func (d *pageData) recordRow(r *healthcode.PendingRecord, viewer *healthcode.Principal) recordRow {
	row := recordRow{ID: r.ID, Kind: d.T("kind." + string(r.Evidence.Kind)), Subject: r.Evidence.Subject, Case: r.Case,
		Observed: d.Time(r.Evidence.ObservedAt), ObsISO: d.ISO(r.Evidence.ObservedAt), Status: d.T("console.record.status." + r.Status),
		NeedsCoSign: r.CoSignNeeded, Officials: d.Tf("console.requested_by", d.officialName(&r.Requester))}
	if r.Evidence.Kind == healthcode.Diagnosis && r.Evidence.CaseRef != "" {
		row.Case = r.Evidence.CaseRef
	}
	if r.Link.Kind != "" {
		row.Link = d.T("console.record.link." + r.Link.Kind)
		if r.Link.Venue != "" {
			row.Link += " · " + d.Tf("console.venue", r.Link.Venue)
		}
		if r.Link.Via != "" {
			row.Link += " · " + r.Link.Via
		}
	}
	if r.Confirmer != nil {
		row.Officials += " · " + d.Tf("console.confirmed_by", d.officialName(r.Confirmer))
	}
	switch viewer.Role {
	case healthcode.RoleEpidemiologist, healthcode.RoleClinic:
		row.CanConfirm = r.Confirmer == nil && r.Requester.Unit != viewer.Unit
		row.CanRefuse = true
	case healthcode.RoleAuditor:
		row.CanCoSign = r.CoSignNeeded && r.Confirmer != nil && r.CoSigner == nil
		row.CanRefuse = true
	}
	return row
}

// consoleRefuseOverride refuses an override with a reason the requester
// and the person read.
func (s *Server) consoleRefuseOverride(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	id, err := pathID(r)
	if err != nil {
		return "", 0, err
	}
	o, err := s.Governance.RefuseOverride(r.Context(), p, id, strings.TrimSpace(r.PostForm.Get("reason")))
	if err != nil {
		return "", 0, err
	}
	s.codes.drop(o.Subjects)
	return "override.refused", o.ID, nil
}

func (s *Server) consoleRefuseDesignation(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	id, err := pathID(r)
	if err != nil {
		return "", 0, err
	}
	d, err := s.Venues.RefuseDesignation(r.Context(), p, id, strings.TrimSpace(r.PostForm.Get("reason")))
	if err != nil {
		return "", 0, err
	}
	return "designation.refused", d.ID, nil
}

// consoleVenueStatus approves or suspends a venue (the flash names no
// number: a venue's id is not one).
func (s *Server) consoleVenueStatus(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	status := r.PostForm.Get("status")
	if err := s.Venues.SetVenueStatus(r.Context(), p, r.PathValue("id"), status); err != nil {
		return "", 0, err
	}
	return "venue." + status, 0, nil
}

// traceLimit is how many check-ins a page of the console's tracing shows.
const traceLimit = 200

// consoleTrace is POST /console/trace: who was at a venue in a window, or
// near a case, for a purpose and a case; the read is recorded by the
// service. The answer is the console with the page of pseudonyms.
func (s *Server) consoleTrace(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := r.PostForm
	var after healthcode.CheckInCursor
	if v := f.Get("after"); v != "" {
		var err error
		if after, err = healthcode.ParseCheckInCursor(v); err != nil {
			return s.consoleRefused(w, r, p, "trace", err)
		}
	}
	d := newPage(w, r, "console.title")
	purpose, caseRef := f.Get("purpose"), strings.TrimSpace(f.Get("case"))
	var page *healthcode.TracePage
	var query string
	var err error
	switch f.Get("by") {
	case "venue":
		venue := strings.ToLower(strings.TrimSpace(f.Get("venue")))
		var from, until time.Time
		if from, err = parseLocalTime("from", f.Get("from")); err != nil {
			return s.consoleRefused(w, r, p, "trace", err)
		}
		if until, err = parseLocalTime("until", f.Get("until")); err != nil {
			return s.consoleRefused(w, r, p, "trace", err)
		}
		page, err = s.Venues.TraceVenue(r.Context(), p, venue, from, until, purpose, caseRef, after, traceLimit)
		query = d.Tf("console.trace.query.venue", venue, d.Time(from), d.Time(until))
	case "case":
		page, err = s.Venues.TraceCase(r.Context(), p, caseRef, purpose, after, traceLimit)
		query = d.Tf("console.trace.query.case", caseRef)
	default:
		err = healthcode.Errorfd(healthcode.EINVALID, "console.trace_by", "choose a venue and window, or a case")
	}
	if err != nil {
		return s.consoleRefused(w, r, p, "trace", err)
	}
	res := &traceResult{Query: query, Total: page.Total, People: page.People,
		Recorded: d.Tf("console.lookup.recorded", d.officialName(p), d.T("purpose."+purpose), caseRef)}
	for _, ci := range page.Presence {
		presence := d.T("console.trace.verified")
		if !ci.Verified {
			presence = d.T("console.trace.unverified")
		}
		res.Rows = append(res.Rows, traceRow{When: d.Time(ci.At), ISO: d.ISO(ci.At), Venue: ci.Venue, Subject: ci.Subject, Presence: presence})
	}
	if !page.Next.IsZero() {
		res.Next = page.Next.String()
		res.Values = map[string]string{}
		for _, k := range []string{"by", "venue", "from", "until", "purpose", "case"} {
			res.Values[k] = f.Get(k)
		}
	}
	c := &consoleData{Form: "trace", Values: f}
	c.Staff.TraceResult = res
	return s.renderConsole(w, r, p, d, c, http.StatusOK)
}

func (s *Server) consoleRequestUnmask(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	f := r.PostForm
	u, err := s.Venues.RequestUnmask(r.Context(), p, strings.TrimSpace(f.Get("subject")), f.Get("purpose"), strings.TrimSpace(f.Get("case")))
	if err != nil {
		return "", 0, err
	}
	return "unmask.pending", u.ID, nil
}

func (s *Server) consoleAnswerUnmask(approve bool) func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	return func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
		id, err := pathID(r)
		if err != nil {
			return "", 0, err
		}
		answer := s.Venues.RefuseUnmask
		if approve {
			answer = s.Venues.ApproveUnmask
		}
		u, err := answer(r.Context(), p, id)
		if err != nil {
			return "", 0, err
		}
		return "unmask." + u.Status, u.ID, nil
	}
}

// consoleOpenUnmask is POST /console/unmask/{id}/open: the identity behind
// an approved request, to the epidemiologist who made it; the service
// records and logs the read. The answer is the console with the identity,
// never a redirect: it is kept nowhere.
func (s *Server) consoleOpenUnmask(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	person, u, err := s.Venues.Unmask(r.Context(), p, id)
	if err != nil {
		return s.consoleRefused(w, r, p, "", err)
	}
	d := newPage(w, r, "console.title")
	c := &consoleData{}
	c.Staff.Unmasked = &unmaskedPerson{Subject: person.Pseudonym, Name: person.Personal.Name, IDNumber: person.Personal.IDNumber,
		Phone: person.Personal.Phone, Case: u.Case,
		Recorded: d.Tf("console.lookup.recorded", d.officialName(p), d.T("purpose."+u.Purpose), u.Case)}
	return s.renderConsole(w, r, p, d, c, http.StatusOK)
}

func (s *Server) consoleSignRecord(how string) func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	return func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
		id, err := pathID(r)
		if err != nil {
			return "", 0, err
		}
		sign := map[string]func(context.Context, *healthcode.Principal, int64) (*healthcode.PendingRecord, error){
			"confirm": s.Venues.ConfirmRecord, "cosign": s.Venues.CoSignRecord, "refuse": s.Venues.RefuseRecord}[how]
		rec, err := sign(r.Context(), p, id)
		if err != nil {
			return "", 0, err
		}
		s.codes.drop([]string{rec.Evidence.Subject})
		return "record." + rec.Status, rec.ID, nil
	}
}

// idNumberShape is what an ID number looks like in the look-up's one
// field (a pseudonym starts with a letter).
var idNumberShape = regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`)

// lookupCode reads a person's code by pseudonym or, if the field holds an
// ID number, by ID number: the same recorded read either way.
func (s *Server) lookupCode(ctx context.Context, p *healthcode.Principal, who, purpose, caseRef string) (*healthcode.CodeView, error) {
	who = strings.TrimSpace(who)
	if idNumberShape.MatchString(who) {
		st, err := s.staff()
		if err != nil {
			return nil, err
		}
		return st.CodeForIDNumber(ctx, p, who, purpose, caseRef)
	}
	return s.Governance.CodeFor(ctx, p, who, purpose, caseRef)
}

// refuseFormData is what a refusal form gets: the page, what it refuses
// ("override" or "designation") and its number.
type refuseFormData struct {
	P    *pageData
	Kind string
	ID   int64
}

// RefuseForm bundles a refusal form's arguments for its template.
func (d *pageData) RefuseForm(kind string, id int64) refuseFormData {
	return refuseFormData{P: d, Kind: kind, ID: id}
}

// StaffPage reports whether the page is one of the staff pages, which
// load their own stylesheet.
func (d *pageData) StaffPage() bool { return d.BodyClass == "console" || d.BodyClass == "staff" }
