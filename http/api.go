package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"healthcode"
)

var (
	officials   = []healthcode.Role{healthcode.RoleLab, healthcode.RoleClinic, healthcode.RoleEpidemiologist}
	citizenOnly = []healthcode.Role{healthcode.RoleCitizen}
	adminOnly   = []healthcode.Role{healthcode.RoleAdmin}
)

// routes is the authorization table: which role may call which endpoint or
// page. A test walks every line of it with every role.
func (s *Server) routes() []route {
	return append(s.apiRoutes(), s.pageRoutes()...)
}

// apiRoutes are the endpoints the OpenAPI document describes.
func (s *Server) apiRoutes() []route {
	return append([]route{
		{Method: "GET", Path: "/healthz", h: s.healthz},
		{Method: "GET", Path: "/metrics", OwnToken: true, h: s.serveMetrics},
		{Method: "GET", Path: "/api/v1/openapi.json", h: serveOpenAPI},
		{Method: "GET", Path: "/api/v1/trust", h: s.trust},
		{Method: "POST", Path: "/api/v1/verify", h: s.verify},
		{Method: "GET", Path: "/api/v1/rulesets/active", h: s.activeRuleSet},
		{Method: "POST", Path: "/api/v1/rulesets", Roles: adminOnly, MaxBody: ruleSetBodyBytes, Body: "application/yaml", h: s.publishRuleSet},
		{Method: "POST", Path: "/api/v1/rulesets/{version}/approve", Roles: adminOnly, h: s.approveRuleSet},
		{Method: "POST", Path: "/api/v1/overrides", Roles: []healthcode.Role{healthcode.RoleOperator}, MaxBody: overrideBodyBytes, h: s.requestOverride},
		{Method: "POST", Path: "/api/v1/overrides/{id}/approve", Roles: []healthcode.Role{healthcode.RoleApprover}, h: s.signOverride(func(ctx context.Context, p *healthcode.Principal, id int64) (*healthcode.Override, error) {
			return s.Governance.ApproveOverride(ctx, p, id)
		})},
		{Method: "POST", Path: "/api/v1/overrides/{id}/cosign", Roles: []healthcode.Role{healthcode.RoleAuditor}, h: s.signOverride(func(ctx context.Context, p *healthcode.Principal, id int64) (*healthcode.Override, error) {
			return s.Governance.CoSignOverride(ctx, p, id)
		})},
		{Method: "POST", Path: "/api/v1/overrides/{id}/refuse", Roles: []healthcode.Role{healthcode.RoleApprover, healthcode.RoleAuditor}, h: s.refuseOverride},
		{Method: "GET", Path: "/api/v1/overrides", Roles: []healthcode.Role{healthcode.RoleOperator, healthcode.RoleApprover, healthcode.RoleAuditor}, h: s.listOverrides},
		{Method: "POST", Path: "/api/v1/me/appeals", Roles: citizenOnly, Page: true, h: s.fileAppeal},
		{Method: "GET", Path: "/api/v1/me/appeals", Roles: citizenOnly, Page: true, h: s.listAppeals},
		{Method: "GET", Path: "/api/v1/appeals", Roles: []healthcode.Role{healthcode.RoleOperator, healthcode.RoleAuditor}, h: s.listAppeals},
		{Method: "POST", Path: "/api/v1/appeals/{id}/answer", Roles: []healthcode.Role{healthcode.RoleOperator, healthcode.RoleAuditor}, h: s.answerAppeal},
		{Method: "GET", Path: "/api/v1/people/{subject}/code", Roles: []healthcode.Role{healthcode.RoleOperator, healthcode.RoleEpidemiologist, healthcode.RoleAuditor}, h: s.personCode},
		{Method: "GET", Path: "/api/v1/me/export", Roles: citizenOnly, Page: true, h: s.export},
		{Method: "POST", Path: "/api/v1/evidence", Roles: officials, MaxBody: MaxBodyBytes, h: s.submitEvidence},
		{Method: "POST", Path: "/api/v1/collections", Roles: []healthcode.Role{healthcode.RoleSampler}, MaxBody: MaxBodyBytes, h: s.collect},
		{Method: "GET", Path: "/api/v1/me/code", Roles: citizenOnly, h: s.myCode},
		{Method: "GET", Path: "/api/v1/me/qr.png", Roles: citizenOnly, h: s.myQRPNG},
		{Method: "GET", Path: "/api/v1/me/qr.svg", Roles: citizenOnly, h: s.myQRSVG},
		{Method: "GET", Path: "/api/v1/me/proofs/{index}", Roles: citizenOnly, Page: true, h: s.myProof},
		{Method: "GET", Path: "/api/v1/me/access", Roles: citizenOnly, h: s.accessRecords},
		{Method: "GET", Path: "/api/v1/access", Roles: []healthcode.Role{healthcode.RoleAuditor}, h: s.accessRecords},
		{Method: "POST", Path: "/api/v1/venues", Roles: []healthcode.Role{healthcode.RoleVenue}, h: s.registerVenue},
		{Method: "POST", Path: "/api/v1/venues/{id}/status", Roles: []healthcode.Role{healthcode.RoleOperator}, h: s.setVenueStatus},
		{Method: "GET", Path: "/api/v1/venues/{id}/code", Roles: []healthcode.Role{healthcode.RoleVenue}, Page: true, h: s.venueCode},
		{Method: "POST", Path: "/api/v1/checkins", Roles: citizenOnly, Page: true, h: s.checkIn},
		{Method: "POST", Path: "/api/v1/designations", Roles: []healthcode.Role{healthcode.RoleEpidemiologist}, h: s.requestDesignation},
		{Method: "POST", Path: "/api/v1/designations/{id}/approve", Roles: []healthcode.Role{healthcode.RoleApprover}, h: s.approveDesignation},
		{Method: "POST", Path: "/api/v1/designations/{id}/cosign", Roles: []healthcode.Role{healthcode.RoleAuditor}, h: s.coSignDesignation},
		{Method: "POST", Path: "/api/v1/designations/{id}/refuse", Roles: []healthcode.Role{healthcode.RoleApprover}, h: s.refuseDesignation},
		{Method: "GET", Path: "/api/v1/designations", Roles: []healthcode.Role{healthcode.RoleEpidemiologist, healthcode.RoleApprover,
			healthcode.RoleOperator, healthcode.RoleAuditor}, h: s.listDesignations},
		{Method: "GET", Path: "/api/v1/trace/venue", Roles: []healthcode.Role{healthcode.RoleEpidemiologist}, h: s.traceVenue},
		{Method: "GET", Path: "/api/v1/trace/case", Roles: []healthcode.Role{healthcode.RoleEpidemiologist}, h: s.traceCase},
		{Method: "GET", Path: "/api/v1/log/entries/{index}", Roles: []healthcode.Role{healthcode.RoleAuditor}, h: s.openLogEntry},
		{Method: "GET", Path: "/api/v1/oversight/figures", Roles: []healthcode.Role{healthcode.RoleAuditor}, h: s.oversightFigures},
		{Method: "GET", Path: "/log/checkpoint", h: s.logCheckpoint},
		{Method: "GET", Path: "/log/tile/{path...}", h: s.logTile},
	}, append(append(append(s.registryRoutes(), s.caseRoutes()...), s.federationRoutes()...), s.oversightRoutes()...)...)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if s.Health != nil {
		if err := s.Health(r.Context()); err != nil {
			status := http.StatusServiceUnavailable
			return writeJSON(w, status, map[string]any{"status": "failing", "problem": healthcode.ErrorMessage(err), "code": healthcode.ErrorCode(err)})
		}
	}
	if s.Degraded != nil {
		// Writes are refused (503 with Retry-After) but reads are served:
		// 200, so that a load balancer keeps sending the citizens' code
		// requests here, and a body a monitor alerts on.
		if err := s.Degraded(r.Context()); err != nil {
			return writeJSON(w, http.StatusOK, map[string]any{"status": "degraded", "problem": healthcode.ErrorMessage(err), "code": healthcode.ErrorCode(err), "reason": healthcode.ErrorDetail(err)})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (s *Server) trust(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(s.Signer.TrustList())
	return err
}

// CodeJSON is the public face of a verified health code.
type CodeJSON struct {
	Region         string    `json:"region"`
	Subject        string    `json:"subject"`
	MaskedName     string    `json:"masked_name"`
	Colour         string    `json:"colour"`
	Shape          string    `json:"shape"`
	IssuedAt       time.Time `json:"issued_at"`
	Expires        time.Time `json:"expires"`
	RuleSetVersion string    `json:"ruleset_version"`
}

func codeJSON(c *healthcode.HealthCode) CodeJSON {
	return CodeJSON{Region: c.Region, Subject: c.Subject, MaskedName: c.MaskedName, Colour: c.Colour.String(), Shape: c.Colour.Shape(),
		IssuedAt: c.IssuedAt, Expires: c.Expires, RuleSetVersion: c.RuleSetVersion}
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.Signer.VerifyCode(strings.TrimSpace(req.Code), s.Clock.Now())
	s.metrics.observeVerify(err)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"valid": true, "code": codeJSON(c)})
}

// RuleJSON describes one rule of the rule set in force.
type RuleJSON struct {
	ID     string          `json:"id"`
	Colour string          `json:"colour"`
	Reason string          `json:"reason"`
	Text   healthcode.Text `json:"text"`
	Lift   healthcode.Text `json:"lift"`
	Basis  string          `json:"basis"`
}

func (s *Server) activeRuleSet(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	_, rec, err := s.Rules.ActiveRuleSet()
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "yaml" {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, err := w.Write(rec.Source)
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"version": rec.Version, "hash": rec.Hash,
		"published_at": rec.PublishedAt, "published_by": rec.PublishedBy, "source": string(rec.Source)})
}

// publishRuleSet is the first admin's signature: the rule set is compiled,
// its examples run, and it waits for a second admin's approval.
func (s *Server) publishRuleSet(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	src, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	prop, err := s.Governance.ProposeRuleSet(r.Context(), p, src)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{"version": prop.Record.Version, "hash": prop.Record.Hash,
		"proposed_by": prop.ProposedBy.Name, "status": "awaiting a second admin's approval",
		"approve": "/api/v1/rulesets/" + prop.Record.Version + "/approve"})
}

// EvidenceJSON is evidence as submitters send it. A test result names its
// tube only (external_id and observed_at are then optional: the tube is the
// sample's id, the collection's time is when it was observed); other
// evidence names the person by subject (pseudonym) or id_number.
type EvidenceJSON struct {
	Kind       string    `json:"kind"`
	Tube       string    `json:"tube,omitempty"`
	Subject    string    `json:"subject,omitempty"`
	IDNumber   string    `json:"id_number,omitempty"`
	ExternalID string    `json:"external_id,omitempty"`
	ObservedAt time.Time `json:"observed_at,omitzero"`
	Result     string    `json:"result,omitempty"`
	Pooled     bool      `json:"pooled,omitempty"`
	PoolID     string    `json:"pool_id,omitempty"`
	Diagnosis  string    `json:"diagnosis,omitempty"`
	CaseRef    string    `json:"case_ref,omitempty"`
	RiskLevel  string    `json:"risk_level,omitempty"`
	Area       string    `json:"area,omitempty"`
	Dose       int       `json:"dose,omitempty"`
	// Until and EveryHours are a testing duty's end and the most hours
	// allowed between two tests.
	Until      time.Time `json:"until,omitzero"`
	EveryHours int       `json:"every_hours,omitempty"`
	Link       *LinkJSON `json:"link,omitempty"`
}

func (e *EvidenceJSON) submission(line int) healthcode.Submission {
	return healthcode.Submission{Line: line, IDNumber: e.IDNumber, Tube: e.Tube, Evidence: healthcode.Evidence{
		Kind: healthcode.EvidenceKind(e.Kind), Subject: e.Subject, ExternalID: e.ExternalID, ObservedAt: e.ObservedAt.UTC(),
		Result: e.Result, Pooled: e.Pooled, PoolID: e.PoolID, Diagnosis: e.Diagnosis, CaseRef: e.CaseRef,
		RiskLevel: e.RiskLevel, Area: e.Area, Dose: e.Dose, Until: e.Until.UTC(), Every: time.Duration(e.EveryHours) * time.Hour},
		Link: e.Link.link()}
}

// MaxBatch is the most items one evidence request may carry; larger imports
// go in chunks.
const MaxBatch = 5000

// decodeEvidence reads an evidence body: one item ({"kind":…}, single) or
// a chunk ({"items":[…]}). It streams the chunk's array and stops at item
// MaxBatch+1 with ETOOLARGE, so memory follows the items kept, never the
// items sent; unknown fields, trailing data, an empty chunk and an item
// beside a chunk are EINVALID.
func decodeEvidence(r *http.Request) (items []EvidenceJSON, single bool, err error) {
	if err := checkMediaType(r, mediaJSON, true); err != nil {
		return nil, false, err
	}
	malformed := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return healthcode.Errorfd(healthcode.EINVALID, "http.malformed_json", "malformed JSON body: %v", err)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil {
		return nil, false, malformed(err)
	} else if tok != json.Delim('{') {
		return nil, false, malformed(errors.New("want an object"))
	}
	var chunk bool
	fields := map[string]json.RawMessage{} // a single item's
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false, malformed(err)
		}
		key, _ := tok.(string)
		if key != "items" {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, false, malformed(err)
			}
			fields[key] = v
			continue
		}
		if chunk {
			return nil, false, malformed(errors.New(`"items" twice`))
		}
		chunk = true
		if tok, err := dec.Token(); err != nil {
			return nil, false, malformed(err)
		} else if tok != json.Delim('[') {
			return nil, false, malformed(errors.New(`"items" is not an array`))
		}
		for dec.More() {
			if len(items) == MaxBatch {
				return nil, false, healthcode.Errorfd(healthcode.ETOOLARGE, "evidence.batch_too_large", "at most %d items per request; send chunks", MaxBatch)
			}
			var it EvidenceJSON
			if err := dec.Decode(&it); err != nil {
				return nil, false, malformed(fmt.Errorf("item %d: %w", len(items), err))
			}
			items = append(items, it)
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, false, malformed(err)
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, false, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, malformed(errors.New("trailing data"))
	}
	if chunk {
		if len(fields) > 0 {
			return nil, false, healthcode.Errorfd(healthcode.EINVALID, "evidence.shape", "send one item or {\"items\": [...]}, not both")
		}
		if len(items) == 0 {
			return nil, false, healthcode.Errorfd(healthcode.EINVALID, "evidence.empty", "no items")
		}
		return items, false, nil
	}
	// One item: its fields, read strictly as one.
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, false, malformed(err)
	}
	one := json.NewDecoder(bytes.NewReader(b))
	one.DisallowUnknownFields()
	var it EvidenceJSON
	if err := one.Decode(&it); err != nil {
		return nil, false, malformed(err)
	}
	return []EvidenceJSON{it}, true, nil
}

// OutcomeJSON reports one submitted item.
type OutcomeJSON struct {
	Index      int    `json:"index"`
	Status     string `json:"status"`
	EvidenceID int64  `json:"evidence_id,omitempty"`
	// Case is the case a confirmed or asymptomatic diagnosis opened.
	Case string `json:"case,omitempty"`
	// PendingRecord is the record an interview-linked item waits as, for a
	// second epidemiologist of another unit.
	PendingRecord int64    `json:"pending_record,omitempty"`
	Error         *Problem `json:"error,omitempty"`
}

// submitEvidence takes one item ({"kind":…}) or a chunk ({"items":[…]}).
// A single item answers 201, or its problem; a chunk answers 200 with each
// item's outcome and a summary.
func (s *Server) submitEvidence(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	items, single, err := decodeEvidence(r)
	if err != nil {
		return err
	}
	subs := make([]healthcode.Submission, len(items))
	for i := range items {
		subs[i] = items[i].submission(i)
	}
	var outs []healthcode.Outcome
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		// A client that may lose the answer (a crash, a timeout) sends a
		// key: the same key and items again answer as the first time.
		once, ok := s.Evidence.(healthcode.OnceSubmitter)
		if !ok {
			return healthcode.Errorfd(healthcode.EINVALID, "submit.key_unsupported", "this node does not take an Idempotency-Key")
		}
		outs, err = once.SubmitOnce(r.Context(), p, key, subs)
	} else {
		outs, err = s.Evidence.Submit(r.Context(), p, subs)
	}
	if err != nil {
		return err
	}
	if single {
		o := outs[0]
		if o.Status == healthcode.Rejected {
			return o.Err
		}
		status := http.StatusCreated
		if o.Status == healthcode.Duplicate {
			status = http.StatusOK
		} else if o.Status == healthcode.Pending {
			status = http.StatusAccepted
		}
		return writeJSON(w, status, s.outcomeJSON(r, o))
	}
	summary := map[string]int{healthcode.Accepted: 0, healthcode.Duplicate: 0, healthcode.Pending: 0, healthcode.Rejected: 0}
	res := make([]OutcomeJSON, len(outs))
	for i, o := range outs {
		summary[o.Status]++
		res[i] = s.outcomeJSON(r, o)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"summary": summary, "items": res})
}

// outcomeJSON tells a submitter what became of an item, and nothing about
// the person: a lab learns neither their pseudonym nor their colour.
func (s *Server) outcomeJSON(r *http.Request, o healthcode.Outcome) OutcomeJSON {
	out := OutcomeJSON{Index: o.Line, Status: o.Status, EvidenceID: o.EvidenceID, Case: o.Case, PendingRecord: o.Pending}
	if o.Err != nil {
		code := healthcode.ErrorCode(o.Err)
		out.Error = &Problem{Status: statusOf[code], Code: code, Reason: healthcode.ErrorDetail(o.Err), Detail: healthcode.ErrorMessage(o.Err)}
	}
	return out
}

// DecisionJSON is a decision as a citizen or submitter sees it.
type DecisionJSON struct {
	Colour         string          `json:"colour"`
	Shape          string          `json:"shape"`
	Reason         string          `json:"reason"`
	RuleID         string          `json:"rule_id"`
	RuleSetVersion string          `json:"ruleset_version"`
	RuleSetHash    string          `json:"ruleset_hash"`
	EvidenceIDs    []int64         `json:"evidence_ids"`
	Text           healthcode.Text `json:"text"`
	Lift           healthcode.Text `json:"lift"`
	Basis          string          `json:"basis,omitempty"`
	LiftsAt        *time.Time      `json:"lifts_at,omitempty"`
	DecidedAt      time.Time       `json:"decided_at"`
	LogIndex       int64           `json:"log_index"`
	Actor          string          `json:"actor"`
}

func decisionJSON(d *healthcode.Decision) DecisionJSON {
	ids := d.EvidenceIDs
	if ids == nil {
		ids = []int64{}
	}
	return DecisionJSON{Colour: d.Colour.String(), Shape: d.Colour.Shape(), Reason: d.Reason, RuleID: d.RuleID,
		RuleSetVersion: d.RuleSetVersion, RuleSetHash: d.RuleSetHash, EvidenceIDs: ids, Text: d.Text, Lift: d.Lift,
		Basis: d.Basis, LiftsAt: d.LiftsAt, DecidedAt: d.DecidedAt, LogIndex: d.LogIndex, Actor: d.Actor}
}

// EvidenceOutJSON is a piece of evidence as its subject sees it.
type EvidenceOutJSON struct {
	ID            int64     `json:"id"`
	Kind          string    `json:"kind"`
	ObservedAt    time.Time `json:"observed_at"`
	Result        string    `json:"result,omitempty"`
	Pooled        bool      `json:"pooled,omitempty"`
	Diagnosis     string    `json:"diagnosis,omitempty"`
	CaseRef       string    `json:"case_ref,omitempty"`
	RiskLevel     string    `json:"risk_level,omitempty"`
	SubmitterName string    `json:"submitter"`
}

// MyCodeJSON is the answer of GET /api/v1/me/code.
type MyCodeJSON struct {
	Subject    string            `json:"subject"`
	MaskedName string            `json:"masked_name"`
	Region     string            `json:"region"`
	Decision   DecisionJSON      `json:"decision"`
	Evidence   []EvidenceOutJSON `json:"evidence"`
	History    []DecisionJSON    `json:"history"`
	// Pending are restrictive overrides requested about the person, not yet
	// approved or refused, with who asked and why.
	Pending   []OverrideJSON `json:"pending_overrides"`
	QR        string         `json:"qr"`
	QRExpires time.Time      `json:"qr_expires"`
}

// codeCache keeps each citizen's answer, with its signed QR, until the
// person's decision changes or the QR passes half its validity: signatures
// are cached for at most half the QR's life.
type codeCache struct {
	mu sync.Mutex
	m  map[string]*cachedCode
	// gen counts drops: an answer computed before a drop is not cached
	// after it (it may hold the colour the drop was about).
	gen uint64
}

type cachedCode struct {
	body    []byte     // code, as JSON
	code    MyCodeJSON // for the pages, which must not parse body again
	view    *healthcode.CodeView
	qr      string
	refresh time.Time
	images  qrImages // renderings of qr (qrimage.go)
}

func newCodeCache() *codeCache { return &codeCache{m: map[string]*cachedCode{}} }

func (c *codeCache) drop(subjects []string) {
	c.mu.Lock()
	for _, s := range subjects {
		delete(c.m, s)
	}
	c.gen++
	c.mu.Unlock()
}

func (c *codeCache) clear() { c.mu.Lock(); c.m = map[string]*cachedCode{}; c.gen++; c.mu.Unlock() }

// myCodeCached returns the caller's code, from the cache when still fresh.
func (s *Server) myCodeCached(r *http.Request, subject string) (*cachedCode, error) {
	if s.Integrity != nil {
		if err := s.Integrity.SubjectProblem(subject); err != nil {
			return nil, healthcode.Errorfd(healthcode.ETAMPERED, "integrity.subject",
				"no code can be issued for you now: your stored record disagrees with the transparency log (%s). Your colour is not changed meanwhile; oversight has been alerted. Keep your receipts of earlier changes (they still verify), and if this lasts, appeal or contact the health authority", healthcode.ErrorMessage(err))
		}
	}
	now := s.Clock.Now()
	s.codes.mu.Lock()
	cc, ok := s.codes.m[subject]
	gen := s.codes.gen
	s.codes.mu.Unlock()
	if ok && now.Before(cc.refresh) {
		return cc, nil
	}
	v, err := s.Codes.Code(r.Context(), subject)
	if err != nil {
		return nil, err
	}
	hc := &healthcode.HealthCode{Region: v.Person.Region, Subject: v.Person.Pseudonym, MaskedName: v.Person.MaskedName,
		Colour: v.Decision.Colour, IssuedAt: now, Expires: now.Add(s.QRValidity), RuleSetVersion: v.Decision.RuleSetVersion}
	text, err := s.Signer.SignCode(hc)
	if err != nil {
		return nil, err
	}
	out := MyCodeJSON{Subject: v.Person.Pseudonym, MaskedName: v.Person.MaskedName, Region: v.Person.Region,
		Decision: decisionJSON(v.Decision), Evidence: []EvidenceOutJSON{}, History: []DecisionJSON{}, Pending: []OverrideJSON{},
		QR: text, QRExpires: hc.Expires}
	for i := range v.Pending {
		o := overrideJSON(&v.Pending[i])
		o.Subjects = nil // the others named are none of this person's business
		out.Pending = append(out.Pending, o)
	}
	for _, e := range v.Evidence {
		out.Evidence = append(out.Evidence, EvidenceOutJSON{ID: e.ID, Kind: string(e.Kind), ObservedAt: e.ObservedAt, Result: e.Result,
			Pooled: e.Pooled, Diagnosis: e.Diagnosis, CaseRef: e.CaseRef, RiskLevel: e.RiskLevel, SubmitterName: e.SubmitterName})
	}
	for i := len(v.History) - 1; i >= 0; i-- {
		out.History = append(out.History, decisionJSON(&v.History[i]))
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	cc = &cachedCode{body: body, code: out, view: v, qr: text, refresh: now.Add(s.QRValidity / 2)}
	if v.Decision.LiftsAt != nil && v.Decision.LiftsAt.Before(cc.refresh) {
		cc.refresh = *v.Decision.LiftsAt
	}
	s.codes.put(subject, cc, gen, now)
	return cc, nil
}

func (s *Server) myCode(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	cc, err := s.myCodeCached(r, p.Subject)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(cc.body)+1))
	w.Write(cc.body)
	_, err = w.Write([]byte("\n"))
	return err
}
