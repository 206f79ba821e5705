package http

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"healthcode"
)

// LogReader serves the transparency log read-only.
type LogReader interface {
	// Checkpoint returns the last signed checkpoint note.
	Checkpoint(ctx context.Context) ([]byte, error)
	// Tile returns a C2SP tile or entry bundle and whether it is immutable.
	Tile(ctx context.Context, path string) ([]byte, bool, error)
	// Receipt returns the inclusion proof of entry index, if it concerns
	// subject; ENOTFOUND otherwise.
	Receipt(ctx context.Context, subject string, index int64) ([]byte, error)
	// Proof returns the inclusion proof of entry index, with its leaf and
	// without its opening; ENOTFOUND if there is no such entry.
	Proof(ctx context.Context, index int64) ([]byte, error)
}

func (s *Server) logCheckpoint(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	b, err := s.Log.Checkpoint(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write(b)
	return err
}

func (s *Server) logTile(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	b, immutable, err := s.Log.Tile(r.Context(), "tile/"+r.PathValue("path"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if immutable {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=10")
	}
	_, err = w.Write(b)
	return err
}

func (s *Server) myProof(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "log index must be a non-negative integer")
	}
	b, err := s.Log.Receipt(r.Context(), p.Subject, index)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="healthcode-proof-%d.txt"`, index))
	_, err = w.Write(b)
	return err
}

// LogEntryJSON is a log entry with every field, as an auditor opens it.
type LogEntryJSON struct {
	Type           string    `json:"type"`
	Time           time.Time `json:"time"`
	Region         string    `json:"region"`
	Subject        string    `json:"subject,omitempty"`
	Colour         string    `json:"colour,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	RuleID         string    `json:"rule_id,omitempty"`
	RuleSetHash    string    `json:"rule_set_hash,omitempty"`
	EvidenceDigest string    `json:"evidence_digest,omitempty"`
	ActorName      string    `json:"actor_name,omitempty"`
	ActorRole      string    `json:"actor_role,omitempty"`
	Ref            string    `json:"ref,omitempty"`
	Note           string    `json:"note,omitempty"`
}

// OpenedLogEntryJSON is GET /api/v1/log/entries/{index}: the leaf as
// published, its opening and the entry they give, so the auditor can check
// the opening against the public leaf.
type OpenedLogEntryJSON struct {
	Index   int64        `json:"index"`
	Leaf    []byte       `json:"leaf"`
	Subject string       `json:"subject,omitempty"`
	Opening []byte       `json:"opening"`
	Entry   LogEntryJSON `json:"entry"`
}

func (s *Server) openLogEntry(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "log index must be a non-negative integer")
	}
	q := r.URL.Query()
	o, err := s.Governance.OpenLogEntry(r.Context(), p, index, q.Get("purpose"), q.Get("case"))
	if err != nil {
		return err
	}
	e := &o.Entry
	out := OpenedLogEntryJSON{Index: o.Index, Leaf: o.Leaf, Subject: o.Subject, Opening: o.Opening, Entry: LogEntryJSON{Type: string(e.Type),
		Time: e.Time, Region: e.Region, Subject: e.Subject, Reason: e.Reason, RuleID: e.RuleID, RuleSetHash: e.RuleSetHash,
		EvidenceDigest: e.EvidenceDigest, ActorName: e.ActorName, ActorRole: string(e.ActorRole), Ref: e.Ref, Note: e.Note}}
	if e.Colour.Valid() {
		out.Entry.Colour = e.Colour.String()
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}

// FiguresJSON is GET /api/v1/oversight/figures.
type FiguresJSON struct {
	Since               time.Time        `json:"since"`
	People              int64            `json:"people"`
	Colours             map[string]int64 `json:"colours"`
	DecisionsByReason   map[string]int64 `json:"decisions_by_reason"`
	EvidenceByKind      map[string]int64 `json:"evidence_by_kind"`
	EvidenceBySubmitter map[string]int64 `json:"evidence_by_submitter"`
}

func (s *Server) oversightFigures(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	since := s.Clock.Now().Add(-24 * time.Hour)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return healthcode.Errorfd(healthcode.EINVALID, "figures.since", "since must be an RFC 3339 time")
		}
		since = t
	}
	f, err := s.Governance.OversightFigures(r.Context(), p, since)
	if err != nil {
		return err
	}
	out := FiguresJSON{Since: f.Since.UTC(), People: f.People, Colours: map[string]int64{}, DecisionsByReason: f.DecisionsByReason,
		EvidenceByKind: map[string]int64{}, EvidenceBySubmitter: f.EvidenceBySubmitter}
	for c, n := range f.Colours {
		out.Colours[c.String()] = n
	}
	for k, n := range f.EvidenceByKind {
		out.EvidenceByKind[string(k)] = n
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}
