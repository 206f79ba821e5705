package engine

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"healthcode"
)

// A keyed submission's answer, as kept for its replay: what a submitter may
// learn of each item (never the person's pseudonym or decision).
type replayOutcome struct {
	Line       int    `json:"line"`
	Status     string `json:"status"`
	EvidenceID int64  `json:"evidence_id,omitempty"`
	Case       string `json:"case,omitempty"`
	Pending    int64  `json:"pending,omitempty"`
	Code       string `json:"code,omitempty"`
	Detail     string `json:"detail,omitempty"`
	Message    string `json:"message,omitempty"`
}

func encodeOutcomes(out []healthcode.Outcome) ([]byte, error) {
	rs := make([]replayOutcome, len(out))
	for i, o := range out {
		rs[i] = replayOutcome{Line: o.Line, Status: o.Status, EvidenceID: o.EvidenceID, Case: o.Case, Pending: o.Pending}
		if o.Err != nil {
			rs[i].Code, rs[i].Detail, rs[i].Message = healthcode.ErrorCode(o.Err), healthcode.ErrorDetail(o.Err), healthcode.ErrorMessage(o.Err)
		}
	}
	return json.Marshal(rs)
}

func decodeOutcomes(b []byte) ([]healthcode.Outcome, error) {
	var rs []replayOutcome
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("engine: a kept submission answer is unreadable: %w", err)
	}
	out := make([]healthcode.Outcome, len(rs))
	for i, r := range rs {
		out[i] = healthcode.Outcome{Line: r.Line, Status: r.Status, EvidenceID: r.EvidenceID, Case: r.Case, Pending: r.Pending}
		if r.Code != "" {
			out[i].Err = &healthcode.Error{Code: r.Code, Detail: r.Detail, Message: r.Message}
		}
	}
	return out, nil
}

// submissionDigest identifies a submission's items: the same key with other
// items is a client's mistake, not a repeat.
func submissionDigest(items []healthcode.Submission) []byte {
	h := sha256.New()
	json.NewEncoder(h).Encode(items)
	return h.Sum(nil)
}
