package http

// The operator console: the page officials work in, logged in with their
// own official token through the same login form as citizens. Each
// section shows to the roles that may act on it: the purpose-bound person
// look-up (operators, epidemiologists, auditors), overrides (operators
// request, approvers of another unit approve, auditors co-sign bulk ones),
// appeals (operators answer, auditors see the escalated ones) and risk
// designations (epidemiologists request, approvers approve). Every action
// is an HTML form posted to a /console/... route whose handler calls the
// governance or venue service with the session's principal, then redirects
// back with a flash message (post/redirect/get); a refusal is shown on the
// page with its reason. The console decides nothing itself: the services
// check every rule again.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

// consoleRoles may open the console.
var consoleRoles = []healthcode.Role{healthcode.RoleOperator, healthcode.RoleApprover, healthcode.RoleAuditor, healthcode.RoleEpidemiologist,
	healthcode.RoleClinic}

func consoleRole(r healthcode.Role) bool {
	for _, c := range consoleRoles {
		if c == r {
			return true
		}
	}
	return false
}

// lookupRoles may look a person up (as GET /api/v1/people/{subject}/code).
var lookupRoles = []healthcode.Role{healthcode.RoleOperator, healthcode.RoleEpidemiologist, healthcode.RoleAuditor}

// consoleRoutes are the console's page and its actions. The page reads the
// session itself and shows the login form to anyone else; the actions take
// the session cookie (Page) and are refused to other roles by the table.
func (s *Server) consoleRoutes() []route {
	one := func(r healthcode.Role) []healthcode.Role { return []healthcode.Role{r} }
	return append([]route{
		{Method: "GET", Path: "/console", h: s.htmlErrors(s.consolePage)},
		{Method: "POST", Path: "/console/lookup", Roles: lookupRoles, Page: true, h: s.htmlErrors(s.consoleLookup)},
		{Method: "POST", Path: "/console/overrides", Roles: one(healthcode.RoleOperator), Page: true,
			h: s.htmlErrors(s.consoleAction("override", "overrides", s.consoleRequestOverride))},
		{Method: "POST", Path: "/console/overrides/{id}/approve", Roles: one(healthcode.RoleApprover), Page: true,
			h: s.htmlErrors(s.consoleAction("", "overrides", s.consoleSignOverride(true)))},
		{Method: "POST", Path: "/console/overrides/{id}/cosign", Roles: one(healthcode.RoleAuditor), Page: true,
			h: s.htmlErrors(s.consoleAction("", "overrides", s.consoleSignOverride(false)))},
		{Method: "POST", Path: "/console/appeals/{id}/answer", Roles: one(healthcode.RoleOperator), Page: true,
			h: s.htmlErrors(s.consoleAction("answer-{id}", "appeals", s.consoleAnswerAppeal))},
		{Method: "POST", Path: "/console/designations", Roles: one(healthcode.RoleEpidemiologist), Page: true,
			h: s.htmlErrors(s.consoleAction("designation", "designations", s.consoleRequestDesignation))},
		{Method: "POST", Path: "/console/designations/{id}/approve", Roles: one(healthcode.RoleApprover), Page: true,
			h: s.htmlErrors(s.consoleAction("", "designations", s.consoleApproveDesignation))},
	}, s.staffRoutes()...)
}

// consoleData is what the console template gets beside pageData.
type consoleData struct {
	Who  string // the official, named with role and unit
	Role string // the official's role

	// Flash says what the last action did (post/redirect/get).
	Flash string
	// Err is the refusal of the last action, shown at the top.
	Err *consoleError
	// Form names the form the Values were posted from, to fill it again
	// after a refusal.
	Form   string
	Values url.Values

	// What the official may do.
	Lookup, RequestOverride, ApproveOverrides, CoSignOverrides           bool
	AnswerAppeals, SeeEscalated, RequestDesignation, ApproveDesignations bool

	Result       *lookupResult
	Overrides    []overrideRow // operators: pending and in force
	Pending      []overrideRow // approvers: awaiting approval
	CoSign       []overrideRow // auditors: bulk ones awaiting co-signature
	Appeals      []appealRow   // operators: open and escalated
	Escalated    []appealRow   // auditors
	Designations []designationRow

	// Choices of the forms.
	Purposes, Colours, Reasons, Levels, DesignationReasons []option
	// Default and limits of the time fields (datetime-local, Beijing time).
	DefaultExpires, MinTime, MaxExpires string
	BulkLimit                           int

	// Staff holds the further sections (console_staff.go).
	Staff staffData
}

// Val is the value a form field had when the form was refused, or def.
func (c *consoleData) Val(form, field, def string) string {
	if c.Form == form && c.Values != nil {
		return c.Values.Get(field)
	}
	return def
}

// Sections lists the console's sections the official sees, for the
// table of contents: id and title message key.
func (c *consoleData) Sections() [][2]string {
	var out [][2]string
	if c.Lookup {
		out = append(out, [2]string{"lookup", "console.lookup.title"})
	}
	if c.RequestOverride || c.ApproveOverrides || c.CoSignOverrides {
		out = append(out, [2]string{"overrides", "console.overrides.title"})
	}
	if c.AnswerAppeals || c.SeeEscalated {
		out = append(out, [2]string{"appeals", "console.appeals.title"})
	}
	if c.RequestDesignation || c.ApproveDesignations {
		out = append(out, [2]string{"designations", "console.designations.title"})
	}
	x := &c.Staff
	if x.ReviewVenues {
		out = append(out, [2]string{"venues", "console.venues.title"})
	}
	if x.Trace {
		out = append(out, [2]string{"trace", "console.trace.title"})
	}
	if x.RequestUnmask || x.AnswerUnmasks {
		out = append(out, [2]string{"unmask", "console.unmask.title"})
	}
	if x.Records {
		out = append(out, [2]string{"records", "console.records.title"})
	}
	if x.Reads {
		out = append(out, [2]string{"reads", "console.reads.title"})
	}
	return out
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// consoleError is a refusal as the page shows it.
type consoleError struct {
	Message string // in the page's language
	Status  int
	Reason  string // the stable sub-code, e.g. override.same_unit
	Detail  string // the service's own words (English)
}

// lookupResult is a person's code as an official sees it.
type lookupResult struct {
	Code     *MyCodeJSON
	Records  []string // the records the decision rests on, by number
	History  []historyRow
	Recorded string
}

// overrideRow is an override in words.
type overrideRow struct {
	ID                    int64
	Colour, Shape         string
	Subjects              []string
	People                string
	Reason                string
	Basis                 string
	Case                  string
	Note                  string
	Ends, EndsISO         string
	Status                string
	Awaits                []string
	Requested             string
	Approved, CoSigned    string
	CanApprove, CanCoSign bool
	// SameUnit marks a request of the approver's own unit, which another
	// unit must approve.
	SameUnit bool
}

// appealRow is an appeal in words.
type appealRow struct {
	ID                    int64
	Subject               string
	Kind                  string
	Colour, Shape         string
	Note                  string
	Filed, FiledISO       string
	Deadline, DeadlineISO string
	Overdue               bool
	Status                string
}

// designationRow is a risk designation in words.
type designationRow struct {
	ID            int64
	Target        string
	Level, Reason string
	Cases         string
	From, Until   string
	Ends, EndsISO string
	Status        string
	Requested     string
	Approved      string
	Pending       bool
}

// consolePage is GET /console: the sections of the session's official, or
// the login form that leads back here.
func (s *Server) consolePage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "console.title")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || !consoleRole(p.Role) {
		return s.loginForm(w, d, stale, "/console", "login.for_console")
	}
	c := &consoleData{}
	c.Flash = readFlash(w, r, d)
	return s.renderConsole(w, r, p, d, c, http.StatusOK)
}

// flashCookie carries what an action did to the page it redirects to.
const flashCookie = "hc_flash"

func setFlash(w http.ResponseWriter, r *http.Request, key string, id int64) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: key + ":" + strconv.FormatInt(id, 10), Path: "/console",
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// readFlash returns the flash message in the page's language, and clears
// it. Only the console's own messages are shown.
func readFlash(w http.ResponseWriter, r *http.Request, d *pageData) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	key, n, ok := strings.Cut(c.Value, ":")
	id, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || id < 0 {
		return ""
	}
	m, known := messages["console.done."+key]
	if !known {
		return ""
	}
	if !strings.Contains(m.en, "%") {
		return d.T("console.done." + key)
	}
	return d.Tf("console.done."+key, id)
}

// renderConsole loads what the official's sections show and renders the
// console with status.
func (s *Server) renderConsole(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, d *pageData, c *consoleData, status int) error {
	ctx := r.Context()
	now := s.Clock.Now()
	d.Path, d.Title, d.BodyClass, d.Console = "/console", "console.title."+string(p.Role), "console", c
	c.Who, c.Role = d.officialName(p), string(p.Role)
	d.NavDashboard = p.Role == healthcode.RoleAuditor
	gov, venues := s.Governance != nil, s.Venues != nil
	switch p.Role {
	case healthcode.RoleOperator:
		c.Lookup, c.RequestOverride, c.AnswerAppeals = gov, gov, gov
	case healthcode.RoleApprover:
		c.ApproveOverrides, c.ApproveDesignations = gov, venues
	case healthcode.RoleAuditor:
		c.Lookup, c.CoSignOverrides, c.SeeEscalated = gov, gov, gov
	case healthcode.RoleEpidemiologist:
		c.Lookup, c.RequestDesignation = gov, venues
	}
	if c.RequestOverride {
		os, err := s.Governance.Overrides(ctx, "")
		if err != nil {
			return err
		}
		for i := range os {
			c.Overrides = append(c.Overrides, d.overrideRow(&os[i], p))
		}
	}
	if c.ApproveOverrides || c.CoSignOverrides {
		os, err := s.Governance.Overrides(ctx, healthcode.OverridePending)
		if err != nil {
			return err
		}
		for i := range os {
			o := &os[i]
			switch {
			case c.ApproveOverrides && o.Approver == nil:
				c.Pending = append(c.Pending, d.overrideRow(o, p))
			case c.CoSignOverrides && o.NeedsCoSign() && o.CoSigner == nil:
				c.CoSign = append(c.CoSign, d.overrideRow(o, p))
			}
		}
	}
	if c.AnswerAppeals || c.SeeEscalated {
		statuses := []string{healthcode.AppealEscalated}
		if c.AnswerAppeals {
			statuses = append(statuses, healthcode.AppealOpen)
		}
		for _, st := range statuses {
			as, err := s.Governance.Appeals(ctx, p, st)
			if err != nil {
				return err
			}
			for i := range as {
				row := d.appealRow(&as[i], now)
				if st == healthcode.AppealEscalated && !c.AnswerAppeals {
					c.Escalated = append(c.Escalated, row)
				} else {
					c.Appeals = append(c.Appeals, row)
				}
			}
		}
	}
	if c.RequestDesignation || c.ApproveDesignations {
		ds, err := s.Venues.Designations(ctx)
		if err != nil {
			return err
		}
		for i := range ds {
			if c.ApproveDesignations && ds[i].Status != healthcode.DesignationPending {
				continue
			}
			c.Designations = append(c.Designations, d.designationRow(&ds[i]))
		}
	}
	if err := s.staffSections(ctx, p, d, c); err != nil {
		return err
	}
	d.consoleChoices(c, now)
	return s.render(w, status, "console.html", d)
}

// consoleChoices fills the forms' choices, each selected as it was posted.
func (d *pageData) consoleChoices(c *consoleData, now time.Time) {
	opts := func(form, field string, values []string, label func(string) string) []option {
		sel := c.Val(form, field, "")
		out := make([]option, len(values))
		for i, v := range values {
			out[i] = option{Value: v, Label: label(v), Selected: v == sel}
		}
		return out
	}
	c.Purposes = opts("lookup", "purpose", healthcode.AccessPurposes, func(v string) string { return d.T("purpose." + v) })
	c.Colours = opts("override", "colour", []string{"red", "yellow", "green"}, func(v string) string {
		col, _ := healthcode.ParseColour(v)
		return d.T("colour."+v) + " (" + d.T("shape."+col.Shape()) + ")"
	})
	c.Reasons = opts("override", "reason", healthcode.OverrideReasons, func(v string) string { return d.Text(healthcode.OverrideReasonText[v]) })
	c.Levels = opts("designation", "level", []string{healthcode.RiskHigh, healthcode.RiskMedium}, func(v string) string { return d.T("console.level." + v) })
	c.DesignationReasons = opts("designation", "reason", healthcode.DesignationReasons, func(v string) string { return d.T("designation.reason." + v) })
	c.DefaultExpires = localTime(now.Add(7 * healthcode.Day))
	c.MinTime = localTime(now)
	c.MaxExpires = localTime(now.Add(healthcode.MaxOverrideDuration))
	c.BulkLimit = healthcode.BulkLimit
}

// dateTimeLocal is the format of an <input type="datetime-local">, read
// as Beijing time.
const dateTimeLocal = "2006-01-02T15:04"

func localTime(t time.Time) string { return t.In(displayZone).Format(dateTimeLocal) }

// parseLocalTime reads a datetime-local field (with or without seconds)
// as Beijing time.
func parseLocalTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{dateTimeLocal, dateTimeLocal + ":05"} {
		if t, err := time.ParseInLocation(layout, v, displayZone); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, healthcode.Errorfd(healthcode.EINVALID, "console.time", "%s: %q is not a date and time (YYYY-MM-DDTHH:MM)", field, v)
}

// splitList splits a list typed one per line, or with spaces or commas.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}

// parseIDs reads record numbers.
func parseIDs(field, v string) ([]int64, error) {
	var ids []int64
	for _, f := range splitList(v) {
		id, err := strconv.ParseInt(strings.TrimPrefix(f, "#"), 10, 64)
		if err != nil || id <= 0 {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "console.ids", "%s: %q is not a record number", field, f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// consoleAction runs one of the console's forms (serve has refused a form
// from another site): it calls act with the session's official, and redirects to
// the section with act's flash message. A refusal is the console again,
// with the reason and the form as it was posted (form names it; "{id}"
// stands for the path's id).
func (s *Server) consoleAction(form, section string, act func(r *http.Request, p *healthcode.Principal) (flash string, id int64, err error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		if err := parseForm(r); err != nil {
			return err
		}
		flash, id, err := act(r, p)
		if err != nil {
			return s.consoleRefused(w, r, p, strings.ReplaceAll(form, "{id}", r.PathValue("id")), err)
		}
		setFlash(w, r, flash, id)
		http.Redirect(w, r, "/console#"+section, http.StatusSeeOther)
		return nil
	}
}

// consoleRefused shows the console with the refusal of an action. An
// internal error is the error page (and a log line) instead.
func (s *Server) consoleRefused(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, form string, err error) error {
	code := healthcode.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok || status >= 500 {
		return err
	}
	d := newPage(w, r, "console.title")
	reason := healthcode.ErrorDetail(err)
	msg := d.T("error.body." + strconv.Itoa(status))
	if _, known := messages["console.error."+reason]; known {
		msg = d.T("console.error." + reason)
	} else if _, known := messages["error.body."+strconv.Itoa(status)]; !known {
		msg = d.T("error.body.400")
	}
	if reason == "" {
		reason = code
	}
	c := &consoleData{Form: form, Values: r.PostForm,
		Err: &consoleError{Message: d.Tf("console.error", msg), Status: status, Reason: reason, Detail: healthcode.ErrorMessage(err)}}
	return s.renderConsole(w, r, p, d, c, status)
}

// consoleLookup is POST /console/lookup: a person's code for a purpose and
// a case. The service records the read; the answer is the console with
// the person's code (not a redirect: the code is not kept anywhere).
func (s *Server) consoleLookup(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := r.PostForm
	purpose, caseRef := f.Get("purpose"), strings.TrimSpace(f.Get("case"))
	v, err := s.lookupCode(r.Context(), p, f.Get("subject"), purpose, caseRef)
	if err != nil {
		return s.consoleRefused(w, r, p, "lookup", err)
	}
	d := newPage(w, r, "console.title")
	code := codeViewJSON(v)
	res := &lookupResult{Code: code, Recorded: d.Tf("console.lookup.recorded", d.officialName(p), d.T("purpose."+purpose), caseRef)}
	res.History = d.historyRows(code)
	res.Records = d.lookupRecords(code)
	c := &consoleData{Form: "lookup", Values: f, Result: res}
	return s.renderConsole(w, r, p, d, c, http.StatusOK)
}

// codeViewJSON is a person's code as GET /api/v1/me/code describes it,
// without a QR: an official reads it, nobody shows it.
func codeViewJSON(v *healthcode.CodeView) *MyCodeJSON {
	out := &MyCodeJSON{Subject: v.Person.Pseudonym, MaskedName: v.Person.MaskedName, Region: v.Person.Region,
		Decision: decisionJSON(v.Decision), Evidence: []EvidenceOutJSON{}, History: []DecisionJSON{}}
	for _, e := range v.Evidence {
		out.Evidence = append(out.Evidence, EvidenceOutJSON{ID: e.ID, Kind: string(e.Kind), ObservedAt: e.ObservedAt, Result: e.Result,
			Pooled: e.Pooled, Diagnosis: e.Diagnosis, CaseRef: e.CaseRef, RiskLevel: e.RiskLevel, SubmitterName: e.SubmitterName})
	}
	for i := len(v.History) - 1; i >= 0; i-- {
		out.History = append(out.History, decisionJSON(&v.History[i]))
	}
	return out
}

func (s *Server) consoleRequestOverride(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	f := r.PostForm
	colour, err := healthcode.ParseColour(f.Get("colour"))
	if err != nil {
		return "", 0, err
	}
	basis, err := parseIDs("basis", f.Get("basis"))
	if err != nil {
		return "", 0, err
	}
	expires, err := parseLocalTime("expires", f.Get("expires"))
	if err != nil {
		return "", 0, err
	}
	o, err := s.Governance.RequestOverride(r.Context(), p, healthcode.Override{Subjects: splitList(f.Get("subjects")), Colour: colour,
		Reason: f.Get("reason"), Basis: basis, CaseRef: strings.TrimSpace(f.Get("case")), Note: strings.TrimSpace(f.Get("note")), Expires: expires})
	if err != nil {
		return "", 0, err
	}
	s.codes.drop(o.Subjects)
	return "override." + overrideFlash(o), o.ID, nil
}

// overrideFlash says where an override stands after a signature.
func overrideFlash(o *healthcode.Override) string {
	switch {
	case o.Status == healthcode.OverrideActive:
		return "active"
	case o.Approver != nil:
		return "cosign"
	case o.CoSigner != nil:
		return "approval"
	}
	return "pending"
}

func (s *Server) consoleSignOverride(approve bool) func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	return func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
		id, err := pathID(r)
		if err != nil {
			return "", 0, err
		}
		sign := s.Governance.CoSignOverride
		if approve {
			sign = s.Governance.ApproveOverride
		}
		o, err := sign(r.Context(), p, id)
		if err != nil {
			return "", 0, err
		}
		s.codes.drop(o.Subjects)
		return "override." + overrideFlash(o), o.ID, nil
	}
}

func (s *Server) consoleAnswerAppeal(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	id, err := pathID(r)
	if err != nil {
		return "", 0, err
	}
	var grant bool
	switch r.PostForm.Get("decision") {
	case "grant":
		grant = true
	case "deny":
	default:
		return "", 0, healthcode.Errorfd(healthcode.EINVALID, "console.decision", "choose grant or deny")
	}
	a, err := s.Governance.AnswerAppeal(r.Context(), p, id, grant, strings.TrimSpace(r.PostForm.Get("answer")))
	if err != nil {
		return "", 0, err
	}
	s.codes.drop([]string{a.Subject})
	return "appeal." + a.Status, a.ID, nil
}

func (s *Server) consoleRequestDesignation(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	f := r.PostForm
	cases, err := parseIDs("cases", f.Get("cases"))
	if err != nil {
		return "", 0, err
	}
	var times [3]time.Time
	for i, name := range []string{"from", "until", "expires"} {
		if times[i], err = parseLocalTime(name, f.Get(name)); err != nil {
			return "", 0, err
		}
	}
	d, err := s.Venues.RequestDesignation(r.Context(), p, healthcode.RiskDesignation{Venue: strings.ToLower(strings.TrimSpace(f.Get("venue"))),
		Area: strings.TrimSpace(f.Get("area")), Level: f.Get("level"), Reason: f.Get("reason"), Cases: cases,
		From: times[0], Until: times[1], Expires: times[2]})
	if err != nil {
		return "", 0, err
	}
	return "designation.pending", d.ID, nil
}

func (s *Server) consoleApproveDesignation(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	id, err := pathID(r)
	if err != nil {
		return "", 0, err
	}
	d, err := s.Venues.ApproveDesignation(r.Context(), p, id)
	if err != nil {
		return "", 0, err
	}
	s.codes.clear()
	return "designation.approved", d.ID, nil
}

// officialName names an official with role and unit, in the page's
// language.
func (d *pageData) officialName(p *healthcode.Principal) string {
	if p == nil {
		return ""
	}
	role := string(p.Role)
	if _, ok := messages["role."+role]; ok {
		role = d.T("role." + role)
	}
	if p.Unit == "" {
		return p.Name + " (" + role + ")"
	}
	return p.Name + " (" + role + ", " + p.Unit + ")"
}

// maxSubjectsShown bounds the pseudonyms a row of the override table lists.
const maxSubjectsShown = 5

func (d *pageData) overrideRow(o *healthcode.Override, viewer *healthcode.Principal) overrideRow {
	row := overrideRow{ID: o.ID, Colour: o.Colour.String(), Shape: o.Colour.Shape(), People: d.Tf("console.people", len(o.Subjects)),
		Reason: d.Text(healthcode.OverrideReasonText[o.Reason]), Case: o.CaseRef, Note: o.Note, Ends: d.Time(o.Expires), EndsISO: d.ISO(o.Expires),
		Status: d.T("console.status." + o.Status), Requested: d.officialName(&o.Requester)}
	row.Subjects = o.Subjects[:min(len(o.Subjects), maxSubjectsShown)]
	if row.Reason == "" {
		row.Reason = o.Reason
	}
	ids := make([]string, len(o.Basis))
	for i, id := range o.Basis {
		ids[i] = "#" + strconv.FormatInt(id, 10)
	}
	row.Basis = strings.Join(ids, " ")
	if o.Approver != nil {
		row.Approved = d.officialName(o.Approver)
	}
	if o.CoSigner != nil {
		row.CoSigned = d.officialName(o.CoSigner)
	}
	if o.Status == healthcode.OverridePending {
		if o.Approver == nil {
			row.Awaits = append(row.Awaits, d.T("console.awaits.approval"))
		}
		if o.NeedsCoSign() && o.CoSigner == nil {
			row.Awaits = append(row.Awaits, d.T("console.awaits.cosign"))
		}
	}
	if viewer != nil {
		row.SameUnit = viewer.Role == healthcode.RoleApprover && o.Requester.Unit == viewer.Unit
		row.CanApprove = viewer.Role == healthcode.RoleApprover && o.Approver == nil && !row.SameUnit && o.Requester.ID != viewer.ID
		row.CanCoSign = viewer.Role == healthcode.RoleAuditor && o.NeedsCoSign() && o.CoSigner == nil
	}
	return row
}

func (d *pageData) appealRow(a *healthcode.Appeal, now time.Time) appealRow {
	return appealRow{ID: a.ID, Subject: a.Subject, Kind: d.T("console.appeal.kind." + a.Kind), Colour: a.Colour.String(), Shape: a.Colour.Shape(),
		Note: a.Note, Filed: d.Time(a.CreatedAt), FiledISO: d.ISO(a.CreatedAt), Deadline: d.Time(a.Deadline), DeadlineISO: d.ISO(a.Deadline),
		Overdue: a.Status == healthcode.AppealEscalated || now.After(a.Deadline), Status: d.T("console.appeal.status." + a.Status)}
}

func (d *pageData) designationRow(r *healthcode.RiskDesignation) designationRow {
	row := designationRow{ID: r.ID, Level: d.T("console.level." + r.Level), Reason: d.T("designation.reason." + r.Reason),
		From: d.Time(r.From), Until: d.Time(r.Until), Ends: d.Time(r.Expires), EndsISO: d.ISO(r.Expires),
		Status: d.T("console.status." + r.Status), Requested: d.officialName(&r.Requester), Pending: r.Status == healthcode.DesignationPending}
	if r.Venue != "" {
		row.Target = d.Tf("console.venue", r.Venue)
	} else {
		row.Target = d.Tf("console.area", d.Region(r.Area))
	}
	ids := make([]string, len(r.Cases))
	for i, id := range r.Cases {
		ids[i] = "#" + strconv.FormatInt(id, 10)
	}
	row.Cases = strings.Join(ids, " ")
	if r.Approver != nil {
		row.Approved = d.officialName(r.Approver)
		if r.Exposures >= 0 {
			row.Approved += " · " + d.Tf("console.designation.exposures", r.Exposures)
		}
	}
	if r.CoSigner != nil {
		row.Approved = strings.TrimPrefix(row.Approved+" · "+d.Tf("console.designation.cosigned", d.officialName(r.CoSigner)), " · ")
	}
	return row
}

// tableData is what a table of the console gets: the page, the rows, the
// message keys of its caption and of what it says when empty, and its id.
type tableData struct {
	P             *pageData
	Rows          any
	Caption, None string
	ID            string
}

// Table bundles a table's arguments for its template.
func (d *pageData) Table(rows any, caption, none, id string) tableData {
	return tableData{P: d, Rows: rows, Caption: caption, None: none, ID: id}
}

// lookupRecords describes the records a decision rests on, by number: the
// person's own in words, another person's (the case an override rests on)
// by number only.
func (d *pageData) lookupRecords(c *MyCodeJSON) []string {
	own := map[int64]EvidenceOutJSON{}
	for _, e := range c.Evidence {
		own[e.ID] = e
	}
	out := make([]string, 0, len(c.Decision.EvidenceIDs))
	for _, id := range c.Decision.EvidenceIDs {
		if e, ok := own[id]; ok {
			out = append(out, "#"+strconv.FormatInt(id, 10)+" · "+d.Evidence(e))
		} else {
			out = append(out, d.Tf("console.lookup.other_record", id))
		}
	}
	return out
}
