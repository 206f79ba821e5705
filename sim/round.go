package sim

import (
	"iter"
	"strconv"
	"time"

	"healthcode"
)

// Result is one person's sample in a testing round: collected by a sampler
// into a tube (single, or mixed with the next people), and the result a lab
// reports for that tube. The sampler's side is Collection, the lab's is a
// batch row of tube_id, kind and result (see package batch): one row per
// tube, whose members are consecutive Results.
type Result struct {
	Sampler     Institution
	Lab         Institution
	IDNumber    string
	Site        string
	Tube        string
	Mixed       bool
	CollectedAt time.Time
	ReportedAt  time.Time
	Kind        healthcode.EvidenceKind
	Result      string
	// LastInTube is set on the last sample of its tube: the lab reports the
	// tube once it is closed.
	LastInTube bool
}

// Collection returns the sample as its sampler records it, naming the
// person by ID number.
func (r Result) Collection(line int) healthcode.CollectionRequest {
	return healthcode.CollectionRequest{Line: line, IDNumber: r.IDNumber, Tube: r.Tube, Mixed: r.Mixed, Site: r.Site, CollectedAt: r.CollectedAt}
}

// Submission returns the tube's result as its lab reports it: by tube.
func (r Result) Submission(line int) healthcode.Submission {
	return healthcode.Submission{Line: line, Tube: r.Tube, Evidence: healthcode.Evidence{Kind: r.Kind, Result: r.Result}}
}

// Positive rates of a testing round, per mixed tube and per single tube.
const (
	positivePerTube   = 1e-5
	positivePerSample = 1e-6
	tubeSize          = 10
)

// TestingRound yields one nucleic-acid test per person of the city, in
// person order: samples collected by sampler over 12 hours from at,
// results reported by lab 6 hours after sampling. Pooled rounds put ten
// consecutive people in one mixed tube. A handful of tubes (or samples) are
// positive, chosen from the seed and at. Tube ids are unique per sampler
// and round start.
func (c *City) TestingRound(at time.Time, sampler, lab Institution, pooled bool) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		stamp := at.Format("200601021504")
		key := mix64(c.Seed ^ streamRound ^ uint64(at.Unix()))
		spread := 12 * time.Hour / time.Duration(c.Size)
		prefix := sampler.ID + "-" + stamp + "-"
		poolPrefix := sampler.ID + "-MIX" + stamp + "-"
		site := sampler.Name
		var poolID string
		var poolPositive bool
		for i := range c.Size {
			p := c.Person(i)
			r := Result{
				Sampler: sampler, Lab: lab, IDNumber: p.IDNumber, Site: site, Tube: prefix + pad(i, 8),
				Kind: healthcode.NucleicAcidTest, Result: healthcode.Negative,
				CollectedAt: at.Add(time.Duration(i) * spread), LastInTube: true,
			}
			r.ReportedAt = r.CollectedAt.Add(resultDelay)
			if pooled {
				if i%tubeSize == 0 {
					tube := i / tubeSize
					poolID = poolPrefix + pad(tube, 7)
					poolPositive = chance(mix64(key^uint64(tube)), positivePerTube)
				}
				r.Tube, r.Mixed = poolID, true
				r.LastInTube = i%tubeSize == tubeSize-1 || i == c.Size-1
				if poolPositive {
					r.Result = healthcode.Positive
				}
			} else if chance(mix64(key^uint64(i)), positivePerSample) {
				r.Result = healthcode.Positive
			}
			if !yield(r) {
				return
			}
		}
	}
}

func chance(h uint64, p float64) bool { return float64(h>>11)/(1<<53) < p }

func pad(v, width int) string {
	s := strconv.Itoa(v)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
