package healthcode

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A status query is one region (B) asking another (A) for the current
// colour of a traveller whose code A issued, with its reason codes and a log
// proof (invariant 8). Only the traveller's own QR authorises it; A
// propagates nothing on its own.

// Outcomes of a status query, as both sides log them (LogEntry.Ref).
const (
	// PeerAnswered: A answered a peer's query.
	PeerAnswered = "answered"
	// PeerHonoured: B holds the traveller to A's restrictive colour, whose
	// reason is on B's epidemiological list.
	PeerHonoured = "honoured"
	// PeerGreen: A's answer restricts nothing.
	PeerGreen = "green"
	// PeerRefusedReason: A's colour rests on a reason B does not accept
	// (an override's, say): not propagated, and oversight is alerted.
	PeerRefusedReason = "refused.reason_not_accepted"
	// PeerRefusedNoReason: A's colour rests on no reason at all.
	PeerRefusedNoReason = "refused.no_reason"
)

// PeerQuery is one cross-region status query as a node logs it.
type PeerQuery struct {
	Peer    string // the other region's GB/T 2260 code
	Asked   bool   // true on the asking side (B), false on the answering side (A)
	Subject string // the traveller's pseudonym in the issuing region
	Colour  Colour
	Reason  string // the reason code the colour rests on, as A stated it
	Outcome string // one of the Peer* outcomes
	// LogIndex is A's log entry of the decision the answer proved, -1 if none.
	LogIndex int64
	// PeerActing is who A's log entry names as having decided the colour
	// when officials did (an override's requester and approver, as A's log
	// names them); empty for a decision of A's rules.
	PeerActing string
	Time       time.Time
}

// PeerQueryLogger records cross-region status queries in the node's log.
type PeerQueryLogger interface {
	// RecordPeerQuery appends q to the log and returns its index.
	RecordPeerQuery(ctx context.Context, q *PeerQuery) (int64, error)
}

// DefaultAcceptedReasons are the reason codes of the baseline rule set that
// rest on epidemiological evidence: a region honours another's restrictive
// colour only for a reason on its list. Overrides' reasons are not on it: a
// manual colour is one official pair's judgement in another region.
var DefaultAcceptedReasons = []string{
	"confirmed_case", "asymptomatic_infection", "suspected_case", "nucleic_acid_positive",
	"pooled_test_positive", "close_contact", "centralised_isolation", "home_health_monitoring",
	"high_risk_area", "secondary_contact", "medium_risk_area", "time_space_companion",
	"antigen_positive", "fever_clinic", "post_discharge_monitoring", "low_risk_area_testing",
}

// AcceptancePolicy is the list of reason codes for which a region honours
// another region's restrictive colour.
type AcceptancePolicy struct {
	Reasons []string
}

// Accepts reports whether the policy honours a colour resting on reason.
// The empty reason is never accepted.
func (p AcceptancePolicy) Accepts(reason string) bool {
	return reason != "" && slices.Contains(p.Reasons, reason)
}

// PeerStatus is what a checkpoint learns when its node asks the region that
// issued a traveller's code: the region, its colour, the outcome and
// whether this region holds the traveller to that colour — never the
// reason (invariant 6: a checkpoint learns nothing medical; the reason is
// in this region's log, as a commitment, for its oversight).
type PeerStatus struct {
	Region     string // the issuing region's GB/T 2260 code
	RegionName string // its name in the trust list
	Colour     Colour // the issuing region's colour for the traveller
	Outcome    string // one of the Peer* outcomes
}

// Honoured reports whether this region holds the traveller to Colour.
func (s *PeerStatus) Honoured() bool { return s.Outcome == PeerHonoured }

// PeerStatusService asks the region that issued a code for its holder's
// colour (the federation client). Returns ENOTFOUND (detail
// "federation.off") on a node that knows no other region, and EINVALID for
// a code that does not verify or is this region's own.
type PeerStatusService interface {
	PeerStatus(ctx context.Context, code string) (*PeerStatus, error)
}

// maxPeerActing bounds the part of a peer's log entry a region copies into
// its own log's note (a log field is at most 1 KiB).
const maxPeerActing = 900

// PeerQueryNote is the note of the asking side's log entry of a query:
// which of the issuing region's log entries the answer proved, and who that
// entry names as acting (PeerActing, cut to a bounded length). It is a
// commitment in the leaf, like every note; the oversight detector reads it
// back with ParsePeerQueryNote. Empty when the answer proved no entry.
func PeerQueryNote(q *PeerQuery) string {
	if q.LogIndex < 0 {
		return ""
	}
	s := "peer entry " + strconv.FormatInt(q.LogIndex, 10)
	if a := strings.TrimSpace(q.PeerActing); a != "" {
		a = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == utf8.RuneError {
				return -1
			}
			return r
		}, a)
		for len(a) > maxPeerActing {
			_, n := utf8.DecodeLastRuneInString(a)
			a = a[:len(a)-n]
		}
		s += "; acting: " + a
	}
	return s
}

// ParsePeerQueryNote reads back what PeerQueryNote wrote: the issuing
// region's log index and who it names as acting. ok is false for any other
// note.
func ParsePeerQueryNote(note string) (index int64, acting string, ok bool) {
	rest, found := strings.CutPrefix(note, "peer entry ")
	if !found {
		return -1, "", false
	}
	num, acting, _ := strings.Cut(rest, "; acting: ")
	index, err := strconv.ParseInt(num, 10, 64)
	if err != nil || index < 0 {
		return -1, "", false
	}
	return index, acting, true
}
