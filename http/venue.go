package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"healthcode"
)

// VenueService is what the venue, check-in, designation and tracing
// endpoints need (engine.Engine implements it).
type VenueService interface {
	RegisterVenue(ctx context.Context, actor *healthcode.Principal, v healthcode.Venue) (*healthcode.Venue, error)
	SetVenueStatus(ctx context.Context, actor *healthcode.Principal, id, status string) error
	VenueCodes(ctx context.Context, actor *healthcode.Principal, id string) (*healthcode.Venue, string, string, error)
	CheckIn(ctx context.Context, actor *healthcode.Principal, text string) (*healthcode.CheckIn, *healthcode.Venue, error)
	RequestDesignation(ctx context.Context, actor *healthcode.Principal, d healthcode.RiskDesignation) (*healthcode.RiskDesignation, error)
	ApproveDesignation(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.RiskDesignation, error)
	RefuseDesignation(ctx context.Context, actor *healthcode.Principal, id int64, reason string) (*healthcode.RiskDesignation, error)
	Designations(ctx context.Context) ([]healthcode.RiskDesignation, error)
	CoSignDesignation(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.RiskDesignation, error)
	TraceVenue(ctx context.Context, actor *healthcode.Principal, venue string, from, to time.Time, purpose, caseRef string,
		after healthcode.CheckInCursor, limit int) (*healthcode.TracePage, error)
	TraceCase(ctx context.Context, actor *healthcode.Principal, caseRef, purpose string, after healthcode.CheckInCursor, limit int) (*healthcode.TracePage, error)
	CaseService
	AccessRecords(ctx context.Context, actor *healthcode.Principal) ([]healthcode.AccessRecord, error)
}

// VenueJSON is a venue as its owner and officials see it (never its secret).
type VenueJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Address    string    `json:"address"`
	Region     string    `json:"region"`
	Category   string    `json:"category"`
	Status     string    `json:"status,omitempty"`
	Registered time.Time `json:"registered_at,omitzero"`
}

func venueJSON(v *healthcode.Venue) VenueJSON {
	return VenueJSON{ID: v.ID, Name: v.Name, Address: v.Address, Region: v.Region, Category: v.Category, Status: v.Status, Registered: v.RegisteredAt}
}

func (s *Server) registerVenue(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req VenueJSON
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := s.Venues.RegisterVenue(r.Context(), p, healthcode.Venue{Name: req.Name, Address: req.Address, Region: req.Region, Category: req.Category})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, venueJSON(v))
}

func (s *Server) setVenueStatus(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Venues.SetVenueStatus(r.Context(), p, r.PathValue("id"), req.Status); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "status": req.Status})
}

// VenueCodeJSON is what a venue poster shows.
type VenueCodeJSON struct {
	Venue     VenueJSON `json:"venue"`
	Live      string    `json:"live"`
	Static    string    `json:"static"`
	RefreshAt time.Time `json:"refresh_at"`
	// Now is the node's clock, so a poster counts down to RefreshAt by it.
	Now time.Time `json:"now"`
}

func (s *Server) venueCode(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	v, live, static, err := s.Venues.VenueCodes(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	next := time.Unix((healthcode.SlotOf(now)+1)*int64(healthcode.VenueSlot/time.Second), 0).UTC()
	return writeJSON(w, http.StatusOK, VenueCodeJSON{Venue: venueJSON(v), Live: live, Static: static, RefreshAt: next, Now: now})
}

// CheckInJSON answers a check-in: what the citizen and the door keeper see.
type CheckInJSON struct {
	ID       int64     `json:"id"`
	Venue    VenueJSON `json:"venue"`
	At       time.Time `json:"at"`
	Verified bool      `json:"verified"`
	// Repeat: this is the person's earlier check-in here, answered again
	// (an unverified check-in adds no row within the repeat window).
	Repeat bool `json:"repeat,omitempty"`
	// Crowded: the live code was scanned in its slot by more people than
	// can be at the venue's door, so it proves no presence.
	Crowded    bool   `json:"crowded,omitempty"`
	Message    string `json:"message"`
	Colour     string `json:"colour"`
	Shape      string `json:"shape"`
	MaskedName string `json:"masked_name"`
}

func (s *Server) checkIn(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, v, err := s.Venues.CheckIn(r.Context(), p, req.Code)
	if err != nil {
		return err
	}
	msg := "Presence verified with the venue's live code."
	if !c.Verified {
		msg = "Recorded as unverified presence: a printed or expired venue code proves nothing and can never by itself change your colour."
	}
	if c.Crowded {
		msg = "Recorded as unverified presence: this venue's live code was scanned by more people within its 30 seconds than can be at its door, so it is being passed around; none of those scans proves presence, and this check-in can never by itself change your colour."
	}
	status := http.StatusCreated
	if c.Repeat {
		status = http.StatusOK
		msg = "You checked in here at " + c.At.Format(time.RFC3339) + "; that check-in stands (a repeat within the window adds nothing)."
	}
	vj := venueJSON(v)
	vj.Status = ""
	cc, err := s.myCodeCached(r, p.Subject)
	if healthcode.ErrorCode(err) == healthcode.ETAMPERED {
		// The check-in is stored (it is not logged); the colour is not
		// shown while the person's record disagrees with the log.
		return writeJSON(w, http.StatusCreated, CheckInJSON{ID: c.ID, Venue: vj, At: c.At, Verified: c.Verified, Crowded: c.Crowded,
			Message: msg + " No colour is shown: " + healthcode.ErrorMessage(err)})
	} else if err != nil {
		return err
	}
	d := cc.view.Decision
	return writeJSON(w, status, CheckInJSON{ID: c.ID, Venue: vj, At: c.At, Verified: c.Verified, Repeat: c.Repeat, Crowded: c.Crowded, Message: msg,
		Colour: d.Colour.String(), Shape: d.Colour.Shape(), MaskedName: cc.view.Person.MaskedName})
}

// DesignationJSON is a risk designation in requests and answers.
type DesignationJSON struct {
	ID         int64      `json:"id,omitempty"`
	Venue      string     `json:"venue,omitempty"`
	Area       string     `json:"area,omitempty"`
	Level      string     `json:"level"`
	Reason     string     `json:"reason"`
	Cases      []int64    `json:"cases"`
	From       time.Time  `json:"from"`
	Until      time.Time  `json:"until"`
	Expires    time.Time  `json:"expires"`
	Status     string     `json:"status,omitempty"`
	Requester  string     `json:"requested_by,omitempty"`
	Approver   string     `json:"approved_by,omitempty"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
	LogIndex   *int64     `json:"log_index,omitempty"`
	CoSigner   string     `json:"cosigned_by,omitempty"`
	// Exposures is how many venue exposures the approval created.
	Exposures *int64 `json:"exposures,omitempty"`
}

func designationJSON(d *healthcode.RiskDesignation) DesignationJSON {
	out := DesignationJSON{ID: d.ID, Venue: d.Venue, Area: d.Area, Level: d.Level, Reason: d.Reason, Cases: d.Cases, From: d.From,
		Until: d.Until, Expires: d.Expires, Status: d.Status, Requester: d.Requester.Name + " (" + d.Requester.Unit + ")"}
	if d.Approver != nil {
		at, li := d.ApprovedAt, d.LogIndex
		out.Approver, out.ApprovedAt, out.LogIndex = d.Approver.Name+" ("+d.Approver.Unit+")", &at, &li
	}
	if d.CoSigner != nil {
		out.CoSigner = d.CoSigner.Name + " (" + d.CoSigner.Unit + ")"
	}
	if d.Exposures >= 0 && d.Status == healthcode.DesignationApproved {
		n := d.Exposures
		out.Exposures = &n
	}
	return out
}

func (s *Server) requestDesignation(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req DesignationJSON
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	d, err := s.Venues.RequestDesignation(r.Context(), p, healthcode.RiskDesignation{Venue: req.Venue, Area: req.Area, Level: req.Level,
		Reason: req.Reason, Cases: req.Cases, From: req.From.UTC(), Until: req.Until.UTC(), Expires: req.Expires.UTC()})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, designationJSON(d))
}

func (s *Server) approveDesignation(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Venues.ApproveDesignation(r.Context(), p, id)
	if err != nil {
		return err
	}
	s.codes.clear()
	return writeJSON(w, http.StatusOK, designationJSON(d))
}

func (s *Server) coSignDesignation(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Venues.CoSignDesignation(r.Context(), p, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, designationJSON(d))
}

func (s *Server) refuseDesignation(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	id, reason, err := refusal(r)
	if err != nil {
		return err
	}
	d, err := s.Venues.RefuseDesignation(r.Context(), p, id, reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, designationJSON(d))
}

func (s *Server) listDesignations(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	ds, err := s.Venues.Designations(r.Context())
	if err != nil {
		return err
	}
	out := make([]DesignationJSON, len(ds))
	for i := range ds {
		out[i] = designationJSON(&ds[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"designations": out})
}

// TraceJSON is one presence in a tracing answer: pseudonyms only.
type TraceJSON struct {
	Subject  string    `json:"subject"`
	Venue    string    `json:"venue"`
	At       time.Time `json:"at"`
	Verified bool      `json:"verified"`
}

// TracePageJSON is one page of a tracing answer: total and people count
// the whole query, next (absent on the last page) asks for the next page.
type TracePageJSON struct {
	Presence []TraceJSON `json:"presence"`
	Total    int64       `json:"total"`
	People   int64       `json:"people"`
	Next     string      `json:"next,omitempty"`
}

func traceJSON(p *healthcode.TracePage) TracePageJSON {
	out := make([]TraceJSON, len(p.Presence))
	for i, c := range p.Presence {
		out[i] = TraceJSON{Subject: c.Subject, Venue: c.Venue, At: c.At, Verified: c.Verified}
	}
	return TracePageJSON{Presence: out, Total: p.Total, People: p.People, Next: p.Next.String()}
}

// tracePaging reads the after and limit parameters of a tracing query.
func tracePaging(r *http.Request) (healthcode.CheckInCursor, int, error) {
	q := r.URL.Query()
	after, err := healthcode.ParseCheckInCursor(q.Get("after"))
	if err != nil {
		return after, 0, err
	}
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > healthcode.MaxTracePage {
			return after, 0, healthcode.Errorfd(healthcode.EINVALID, "trace.limit", "limit must be a number from 1 to %d", healthcode.MaxTracePage)
		}
		limit = n
	}
	return after, limit, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, r.URL.Query().Get(name))
	if err != nil {
		return time.Time{}, healthcode.Errorfd(healthcode.EINVALID, "trace.time", "%s must be an RFC 3339 time", name)
	}
	return t, nil
}

func (s *Server) traceVenue(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	from, err := queryTime(r, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(r, "to")
	if err != nil {
		return err
	}
	after, limit, err := tracePaging(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.Venues.TraceVenue(r.Context(), p, q.Get("venue"), from, to, q.Get("purpose"), q.Get("case"), after, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, traceJSON(page))
}

func (s *Server) traceCase(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	after, limit, err := tracePaging(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.Venues.TraceCase(r.Context(), p, q.Get("case"), q.Get("purpose"), after, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, traceJSON(page))
}

// AccessJSON is one read of a person's data, with the official named.
type AccessJSON struct {
	At      time.Time `json:"at"`
	Who     string    `json:"who"`
	Role    string    `json:"role"`
	Unit    string    `json:"unit"`
	Purpose string    `json:"purpose"`
	Case    string    `json:"case"`
	What    string    `json:"what"`
	Subject string    `json:"subject,omitempty"`
}

func (s *Server) accessRecords(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	subject := ""
	if p.Role == healthcode.RoleCitizen {
		subject = p.Subject
	}
	rs, err := s.Venues.AccessRecords(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]AccessJSON, len(rs))
	for i, a := range rs {
		out[i] = AccessJSON{At: a.Time, Who: a.Actor.Name, Role: string(a.Actor.Role), Unit: a.Actor.Unit, Purpose: a.Purpose, Case: a.CaseRef, What: a.What}
		if subject == "" {
			out[i].Subject = a.Subject
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"access": out})
}
