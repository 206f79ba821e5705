package oversight

import (
	"slices"
	"strings"

	"healthcode"
)

// collectorsOf returns the samplers who recorded the samples in the tube a
// test result was reported for (none for other evidence): a positive rests
// on two units, the sampling site's word that it took the sample and the
// lab's result, so a burst of positives names both, and a sampling site
// recording samples no one gave is counted on its own key whatever lab
// reports them.
func (p *pass) collectorsOf(ev *healthcode.Evidence) []string {
	tube, ok := strings.CutPrefix(ev.ExternalID, "tube/")
	if !ok || !ev.Kind.IsTest() {
		return nil
	}
	members, err := p.tx.TubeMembers(p.ctx, tube)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range members {
		if m.Collector != "" && m.Collector != ev.Submitter && !slices.Contains(out, m.Collector) {
			out = append(out, m.Collector)
		}
	}
	return out
}
