package oversight

import (
	"context"
	"fmt"
	"strings"

	"healthcode"
)

// peerRefused raises an alert for each restrictive colour of another region
// that this region did not propagate (invariant 8: "is not propagated, and
// is reported"), and for each answer of another region that did not verify.
// It reads the asking side's federation entries of this region's log (the
// federation client writes one per query, before anything else is done
// with the answer: the refusal is in the log whatever becomes of the
// alert), so `healthcode oversight run` raises the same alerts from the
// log alone.
//
// The alert names the region, the traveller's pseudonym (the issuing
// region's, which is how this region knows the traveller: from the code),
// the reason and its class, the issuing region's log entry, and the
// officials that entry names as having decided the colour. They are not
// put in the alert's Officials: those are this region's registry ids, the
// ones a review here can freeze, and another region's officials are not in
// it (a review here cannot stop them; the alert is what this region's
// oversight takes to the other region's and the nation's).
type peerRefused struct{}

func (peerRefused) name() string { return healthcode.DetectPeerRefused }

// alertedFailures are the failed queries that say something about the
// peer's conduct (its answer did not verify), not about the network.
var alertedFailures = map[string]string{
	"failed.bad_proof":        "its log proof does not verify or proves something else",
	"failed.answer_signature": "it is not signed by the region's node key in the trust list",
	"failed.replayed":         "it is another query's answer or a stale one (replayed)",
	"failed.answer_malformed": "it is not a status answer",
}

func (peerRefused) detect(_ context.Context, p *pass) ([]healthcode.Alert, error) {
	var out []healthcode.Alert
	for _, e := range p.entries {
		if e.Type != healthcode.LogFederation || e.ActorRole != healthcode.RoleSystem {
			continue // the answering side's entries (role peer) are not this region's decisions
		}
		peer, ok := strings.CutPrefix(e.RuleID, "peer/")
		if !ok {
			continue
		}
		subject := e.Subject
		if subject == "" {
			subject = "(opening deleted)"
		}
		var al healthcode.Alert
		switch {
		case e.Ref == healthcode.PeerRefusedReason || e.Ref == healthcode.PeerRefusedNoReason:
			peerIndex, acting, known := healthcode.ParsePeerQueryNote(e.Note)
			class := reasonClass(e.Ref, e.Reason)
			s := fmt.Sprintf("region %s answered %s for its traveller %s resting on %s (%s): not propagated by this region",
				peer, colourName(e.Colour), subject, quotedReason(e.Reason), class)
			key := fmt.Sprintf("refused/%s/%s/", peer, e.Subject)
			if known {
				s += fmt.Sprintf("; region %s's log entry %d", peer, peerIndex)
				if acting != "" {
					s += " names the officials who decided it: " + acting
				} else {
					s += " names no official"
				}
				key += fmt.Sprint(peerIndex)
			} else {
				key += fmt.Sprintf("here/%d", e.Index)
			}
			al = healthcode.Alert{Key: key, Summary: s}
		case alertedFailures[e.Ref] != "":
			al = healthcode.Alert{Key: fmt.Sprintf("failed/%s/%s/%s", peer, e.Ref, e.Subject),
				Summary: fmt.Sprintf("region %s's answer about its traveller %s did not verify: %s; nothing was propagated",
					peer, subject, alertedFailures[e.Ref])}
		default:
			continue
		}
		al.FirstEffectAt = e.Time
		al.LogIndexes = []int64{e.Index}
		if e.Subject != "" {
			al.People = []string{e.Subject}
		}
		out = append(out, al)
	}
	return out, nil
}

// reasonClass says why a restrictive colour was refused.
func reasonClass(outcome, reason string) string {
	switch {
	case outcome == healthcode.PeerRefusedNoReason || reason == "" || reason == "none":
		return "no reason"
	case strings.HasPrefix(reason, "override."):
		return "an override: officials' judgement, not an epidemiological reason on this region's list"
	default:
		return "a reason not on this region's list of epidemiological reasons"
	}
}

func quotedReason(r string) string {
	if r == "" {
		return "no reason"
	}
	return fmt.Sprintf("%q", r)
}

func colourName(c healthcode.Colour) string {
	if !c.Valid() {
		return "a colour"
	}
	return c.String()
}
