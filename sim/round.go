package sim

import (
	"iter"
	"strconv"
	"time"

	"healthcode"
)

// Result is one lab result of a testing round. Its fields are those of a
// lab's batch file (see package batch): sample_id, id_number, kind, result,
// collected_at, pooled, pool_id.
type Result struct {
	ReportedAt  time.Time
	Lab         Institution
	SampleID    string
	IDNumber    string
	Kind        healthcode.EvidenceKind
	Result      string
	CollectedAt time.Time
	Pooled      bool
	PoolID      string
}

// Evidence returns the result as evidence submitted by its lab, with Subject
// left empty for the engine to fill.
func (r Result) Evidence() healthcode.Evidence {
	return healthcode.Evidence{
		Kind: r.Kind, Submitter: r.Lab.ID, SubmitterName: r.Lab.Name, SubmitterRole: r.Lab.Role,
		ExternalID: r.SampleID, ObservedAt: r.CollectedAt,
		Result: r.Result, Pooled: r.Pooled, PoolID: r.PoolID,
	}
}

// Positive rates of a testing round, per mixed tube and per single tube.
const (
	positivePerTube   = 1e-5
	positivePerSample = 1e-6
	tubeSize          = 10
)

// TestingRound yields one nucleic-acid test per person of the city, in
// person order: samples collected over 12 hours from at, results reported 6
// hours after sampling. Pooled rounds put ten consecutive people in one mixed
// tube. A handful of tubes (or samples) are positive, chosen from the seed and
// at. Sample and tube ids are unique per lab and round start.
func (c *City) TestingRound(at time.Time, lab Institution, pooled bool) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		stamp := at.Format("200601021504")
		key := mix64(c.Seed ^ streamRound ^ uint64(at.Unix()))
		spread := 12 * time.Hour / time.Duration(c.Size)
		prefix := lab.ID + "-" + stamp + "-"
		poolPrefix := lab.ID + "-MIX" + stamp + "-"
		var poolID string
		var poolPositive bool
		for i := range c.Size {
			p := c.Person(i)
			r := Result{
				Lab: lab, SampleID: prefix + pad(i, 8), IDNumber: p.IDNumber,
				Kind: healthcode.NucleicAcidTest, Result: healthcode.Negative,
				CollectedAt: at.Add(time.Duration(i) * spread),
			}
			r.ReportedAt = r.CollectedAt.Add(resultDelay)
			if pooled {
				if i%tubeSize == 0 {
					tube := i / tubeSize
					poolID = poolPrefix + pad(tube, 7)
					poolPositive = chance(mix64(key^uint64(tube)), positivePerTube)
				}
				r.Pooled, r.PoolID = true, poolID
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
