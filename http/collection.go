package http

import (
	"net/http"
	"time"

	"healthcode"
)

// CollectionJSON is one sample collection as a sampler sends it: the person
// by their scanned health code or by ID number, the tube, whether it is a
// mixed tube, the site and the time the sample was taken.
type CollectionJSON struct {
	Code        string    `json:"code,omitempty"`
	IDNumber    string    `json:"id_number,omitempty"`
	Tube        string    `json:"tube"`
	Mixed       bool      `json:"mixed,omitempty"`
	Site        string    `json:"site"`
	CollectedAt time.Time `json:"collected_at"`
}

// CollectionOutcomeJSON reports one collection.
type CollectionOutcomeJSON struct {
	Index        int      `json:"index"`
	Status       string   `json:"status"`
	CollectionID int64    `json:"collection_id,omitempty"`
	Error        *Problem `json:"error,omitempty"`
}

// collect takes one collection or a batch ({"items":[…]}), as
// submitEvidence does: a single one answers 201 (200 if already recorded)
// or its problem; a batch answers 200 with each item's outcome.
func (s *Server) collect(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req struct {
		CollectionJSON
		Items []CollectionJSON `json:"items"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	single := req.Items == nil
	items := req.Items
	if single {
		items = []CollectionJSON{req.CollectionJSON}
	} else if req.CollectionJSON != (CollectionJSON{}) {
		return healthcode.Errorfd(healthcode.EINVALID, "collection.shape", "send one collection or {\"items\": [...]}, not both")
	}
	if len(items) == 0 {
		return healthcode.Errorfd(healthcode.EINVALID, "collection.empty", "no items")
	}
	if len(items) > MaxBatch {
		return healthcode.Errorfd(healthcode.ETOOLARGE, "collection.batch_too_large", "at most %d items per request; send chunks", MaxBatch)
	}
	reqs := make([]healthcode.CollectionRequest, len(items))
	for i, c := range items {
		reqs[i] = healthcode.CollectionRequest{Line: i, Code: c.Code, IDNumber: c.IDNumber, Tube: c.Tube, Mixed: c.Mixed, Site: c.Site, CollectedAt: c.CollectedAt.UTC()}
	}
	outs, err := s.Collections.Collect(r.Context(), p, reqs)
	if err != nil {
		return err
	}
	res := make([]CollectionOutcomeJSON, len(outs))
	summary := map[string]int{healthcode.Accepted: 0, healthcode.Duplicate: 0, healthcode.Rejected: 0}
	for i, o := range outs {
		summary[o.Status]++
		res[i] = CollectionOutcomeJSON{Index: o.Line, Status: o.Status, CollectionID: o.CollectionID}
		if o.Err != nil {
			code := healthcode.ErrorCode(o.Err)
			res[i].Error = &Problem{Status: statusOf[code], Code: code, Reason: healthcode.ErrorDetail(o.Err), Detail: healthcode.ErrorMessage(o.Err)}
		}
	}
	if single {
		o := outs[0]
		if o.Status == healthcode.Rejected {
			return o.Err
		}
		status := http.StatusCreated
		if o.Status == healthcode.Duplicate {
			status = http.StatusOK
		}
		return writeJSON(w, status, res[0])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"summary": summary, "items": res})
}
