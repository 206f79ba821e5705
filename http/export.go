package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"healthcode"
)

// ExportJSON is the answer of GET /api/v1/me/export: everything held about
// the person. `healthcode rules explain` reads it back (ReadExport) to
// recompute the person's colours offline.
type ExportJSON struct {
	ExportedAt time.Time               `json:"exported_at"`
	Subject    string                  `json:"subject"`
	Region     string                  `json:"region"`
	Personal   healthcode.PersonalData `json:"personal"`
	Code       DecisionJSON            `json:"code"`
	History    []ExportDecisionJSON    `json:"history"`
	Evidence   []ExportEvidenceJSON    `json:"evidence"`
	CheckIns   []ExportCheckInJSON     `json:"checkins"`
	Access     []AccessJSON            `json:"access"`
	Appeals    []AppealJSON            `json:"appeals"`
}

// ExportDecisionJSON is one decision of the person's history and the link
// to its log proof.
type ExportDecisionJSON struct {
	Decision DecisionJSON `json:"decision"`
	Proof    string       `json:"proof"`
}

// ExportEvidenceJSON is one piece of the person's evidence, with the date
// it will be deleted.
type ExportEvidenceJSON struct {
	ID           int64     `json:"id"`
	Kind         string    `json:"kind"`
	ObservedAt   time.Time `json:"observed_at"`
	RecordedAt   time.Time `json:"recorded_at"`
	Result       string    `json:"result"`
	Pooled       bool      `json:"pooled"`
	PoolID       string    `json:"pool_id,omitempty"`
	Diagnosis    string    `json:"diagnosis"`
	CaseRef      string    `json:"case_ref"`
	RiskLevel    string    `json:"risk_level"`
	Area         string    `json:"area"`
	Dose         int       `json:"dose,omitempty"`
	Venue        string    `json:"venue"`
	Verified     bool      `json:"verified"`
	Until        time.Time `json:"until,omitzero"`
	EveryHours   int       `json:"every_hours,omitempty"`
	Submitter    string    `json:"submitter"`
	DeletedAfter time.Time `json:"deleted_after"`
}

// ExportCheckInJSON is one of the person's check-ins.
type ExportCheckInJSON struct {
	Venue        string    `json:"venue"`
	At           time.Time `json:"at"`
	Verified     bool      `json:"verified"`
	DeletedAfter time.Time `json:"deleted_after"`
}

func exportEvidenceJSON(e *healthcode.Evidence, deleted time.Time) ExportEvidenceJSON {
	return ExportEvidenceJSON{ID: e.ID, Kind: string(e.Kind), ObservedAt: e.ObservedAt, RecordedAt: e.RecordedAt,
		Result: e.Result, Pooled: e.Pooled, PoolID: e.PoolID, Diagnosis: e.Diagnosis, CaseRef: e.CaseRef,
		RiskLevel: e.RiskLevel, Area: e.Area, Dose: e.Dose, Venue: e.Venue, Verified: e.Verified,
		Until: e.Until, EveryHours: int(e.Every / time.Hour), Submitter: e.SubmitterName, DeletedAfter: deleted}
}

// MaxExportBytes bounds an export ReadExport accepts: far more than a
// person's 28 days of evidence and a year of history.
const MaxExportBytes = 32 << 20

// ReadExport decodes an export (untrusted: whatever file a person hands
// over) of at most MaxExportBytes. Errors are EINVALID with detail
// "export.invalid", or ETOOLARGE.
func ReadExport(r io.Reader) (*ExportJSON, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxExportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxExportBytes {
		return nil, healthcode.Errorfd(healthcode.ETOOLARGE, "export.too_large", "an export is at most %d bytes", MaxExportBytes)
	}
	var x ExportJSON
	if err := json.Unmarshal(data, &x); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, healthcode.Errorfd(healthcode.EINVALID, "export.invalid", "not an export: malformed JSON at byte %d", se.Offset)
		case errors.As(err, &te):
			return nil, healthcode.Errorfd(healthcode.EINVALID, "export.invalid", "not an export: %s holds a %s", te.Field, te.Value)
		}
		return nil, healthcode.Errorfd(healthcode.EINVALID, "export.invalid", "not an export: %v", err)
	}
	if x.Subject == "" || x.Code.Colour == "" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "export.invalid", "not an export of /api/v1/me/export: no subject or code")
	}
	return &x, nil
}

// EvidenceOf returns the export's evidence as the rules read it.
func (x *ExportJSON) EvidenceOf() []healthcode.Evidence {
	out := make([]healthcode.Evidence, len(x.Evidence))
	for i, e := range x.Evidence {
		out[i] = healthcode.Evidence{ID: e.ID, Kind: healthcode.EvidenceKind(e.Kind), Subject: x.Subject,
			SubmitterName: e.Submitter, ObservedAt: e.ObservedAt, RecordedAt: e.RecordedAt, Result: e.Result,
			Pooled: e.Pooled, PoolID: e.PoolID, Diagnosis: e.Diagnosis, CaseRef: e.CaseRef, RiskLevel: e.RiskLevel,
			Area: e.Area, Dose: e.Dose, Venue: e.Venue, Verified: e.Verified, Until: e.Until,
			Every: time.Duration(e.EveryHours) * time.Hour}
	}
	return out
}

// Decisions returns the logged decisions of the export, oldest first, and
// the current one (the last of them, or the rule set's default when no
// decision was ever logged, which has no log index).
func (x *ExportJSON) Decisions() (history []healthcode.Decision, current healthcode.Decision, err error) {
	for i := range x.History {
		d, err := x.History[i].Decision.decision(x.Subject)
		if err != nil {
			return nil, current, fmt.Errorf("history entry %d: %w", i+1, err)
		}
		history = append(history, d)
	}
	current, err = x.Code.decision(x.Subject)
	if err != nil {
		return nil, current, fmt.Errorf("code: %w", err)
	}
	return history, current, nil
}

func (d *DecisionJSON) decision(subject string) (healthcode.Decision, error) {
	c, err := healthcode.ParseColour(d.Colour)
	if err != nil {
		return healthcode.Decision{}, err
	}
	out := healthcode.Decision{Subject: subject, Colour: c, Reason: d.Reason, RuleID: d.RuleID,
		RuleSetVersion: d.RuleSetVersion, RuleSetHash: d.RuleSetHash, EvidenceIDs: d.EvidenceIDs, Text: d.Text,
		Lift: d.Lift, Basis: d.Basis, DecidedAt: d.DecidedAt, LogIndex: d.LogIndex, Actor: d.Actor}
	if d.LiftsAt != nil {
		t := *d.LiftsAt
		out.LiftsAt = &t
	}
	return out, nil
}
