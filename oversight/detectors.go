package oversight

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"healthcode"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// medianWithout is the median of xs without one occurrence of self: the
// peers' median, which the key itself does not drag up.
func medianWithout(xs []float64, self float64) float64 {
	out := make([]float64, 0, len(xs))
	dropped := false
	for _, x := range xs {
		if !dropped && x == self {
			dropped = true
			continue
		}
		out = append(out, x)
	}
	return median(out)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// burst raises an alert when one official, one unit, one requester–approver
// pair or one case restricts more distinct people within BurstWindow than
// BurstMinPeople, BurstFactor times its own mean per window over Baseline,
// and BurstFactor times its peers' median mean: many small actions add up
// here, however they were split.
type burst struct{}

func (burst) name() string { return healthcode.DetectBurst }

func keyKind(k string) string {
	kind, _, _ := strings.Cut(k, ":")
	return kind
}

func (b *burst) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	if len(p.actions) == 0 {
		return nil, nil
	}
	h := p.hist
	windows := float64(p.s.Baseline / p.s.BurstWindow)
	// Each key's people-events over the baseline before the newest action.
	latest := p.actions[len(p.actions)-1].At
	since := latest.Add(-p.s.Baseline)
	totals := map[string]float64{}
	for k, idx := range h.byKey {
		n := 0
		for _, i := range idx {
			if !h.actions[i].At.Before(since) {
				n += len(h.actions[i].People)
			}
		}
		totals[k] = float64(n)
	}
	peerKind := func(k string) string {
		kind := keyKind(k)
		if kind == "official" {
			if o := p.official(strings.TrimPrefix(k, "official:")); o != nil {
				return kind + "/" + string(o.Role)
			}
		}
		return kind
	}
	peers := map[string][]float64{}
	for k, t := range totals {
		pk := peerKind(k)
		peers[pk] = append(peers[pk], t/windows)
	}
	peerMedian := func(k string) float64 { return medianWithout(peers[peerKind(k)], totals[k]/windows) }

	done := map[string]bool{}
	var out []healthcode.Alert
	for _, a := range p.actions {
		for _, k := range a.keys() {
			if done[k] {
				continue
			}
			idx := h.byKey[k]
			// Distinct people in (t - window, t], and the key's own
			// people-events before the window.
			t := a.At
			start := t.Add(-p.s.BurstWindow)
			people := map[string]bool{}
			var inWindow []*action
			before := 0
			for _, i := range idx {
				x := &h.actions[i]
				switch {
				case x.At.After(t):
				case x.At.After(start):
					inWindow = append(inWindow, x)
					for _, s := range x.People {
						people[s] = true
					}
				case !x.At.Before(t.Add(-p.s.Baseline)):
					before += len(x.People)
				}
			}
			own := float64(before) / windows
			limit := max(float64(p.s.BurstMinPeople), p.s.BurstFactor*own, p.s.BurstFactor*peerMedian(k))
			if float64(len(people)) <= limit {
				continue
			}
			done[k] = true
			al := healthcode.Alert{Key: fmt.Sprintf("%s/%d", k, t.Truncate(p.s.BurstWindow).Unix()), FirstEffectAt: t}
			for s := range people {
				al.People = append(al.People, s)
			}
			var first time.Time
			for _, x := range inWindow {
				al.LogIndexes = append(al.LogIndexes, x.Index)
				if first.IsZero() || x.At.Before(first) {
					first = x.At
				}
				kind := keyKind(k)
				for j, o := range x.Officials {
					// An official's burst names that official; a unit's,
					// the unit's officials; a pair's and a case's, all.
					if kind == "official" && "official:"+o != k {
						continue
					}
					if kind == "unit" && "unit:"+x.Units[j] != k {
						continue
					}
					al.Officials = append(al.Officials, o)
					al.Units = append(al.Units, x.Units[j])
				}
			}
			what := map[string]string{"official": "official", "unit": "unit", "pair": "requester–approver pair", "case": "citing case"}[keyKind(k)]
			al.Summary = fmt.Sprintf("%s %s restricted %d people between %s and %s (bound %.0f: at least %d, %.0f× its own mean of %.1f per %s, %.0f× its peers' median of %.1f)",
				what, strings.SplitN(k, ":", 2)[1], len(people), first.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339), limit,
				p.s.BurstMinPeople, p.s.BurstFactor, own, p.s.BurstWindow, p.s.BurstFactor, peerMedian(k))
			out = append(out, al)
		}
	}
	return out, nil
}

// cohort raises an alert when many people restricted together share
// something that is rare in the population (registered or imported in one
// batch) and no case, tube or venue links most of them: co-movement with
// no health linkage. The attributes are those the node holds about a
// person without opening their sealed data.
type cohort struct{}

func (cohort) name() string { return healthcode.DetectCohort }

// attribute is a property a person has that is no health fact, with the
// query of how common it is.
type attribute struct {
	key   string
	label string
	count func(ctx context.Context, tx healthcode.ReadTx) (int64, error)
}

// attributesOf returns the attributes of a person the cohort detector
// groups by: today the minute of registration (one import batch).
func attributesOf(p *healthcode.Person) []attribute {
	m := p.CreatedAt.Truncate(time.Minute)
	return []attribute{{
		key:   "registered/" + m.Format(time.RFC3339),
		label: "registered in the same minute, " + m.Format(time.RFC3339),
		count: func(ctx context.Context, tx healthcode.ReadTx) (int64, error) {
			return tx.RegisteredBetween(ctx, m, m.Add(time.Minute))
		},
	}}
}

func (c *cohort) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	if len(p.restrictions) == 0 {
		return nil, nil
	}
	h := p.hist
	latest := p.restrictions[len(p.restrictions)-1].At
	start := latest.Add(-p.s.CohortWindow)
	when := map[string]restriction{}
	for _, r := range h.restrictions {
		if r.At.After(start) && !r.At.After(latest) {
			if _, ok := when[r.Subject]; !ok {
				when[r.Subject] = r
			}
		}
	}
	if len(when) < p.s.CohortMinPeople {
		return nil, nil
	}
	groups := map[string][]string{}
	attrs := map[string]attribute{}
	for s := range when {
		as, ok := h.attrs[s]
		if !ok {
			person, err := p.tx.Person(ctx, s)
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				continue
			} else if err != nil {
				return nil, err
			}
			as = attributesOf(person)
			h.attrs[s] = as
		}
		for _, a := range as {
			groups[a.key] = append(groups[a.key], s)
			attrs[a.key] = a
		}
	}
	total, err := p.tx.PeopleCount(ctx)
	if err != nil || total == 0 {
		return nil, err
	}
	var out []healthcode.Alert
	for key, members := range groups {
		if len(members) < p.s.CohortMinPeople {
			continue
		}
		pop, err := attrs[key].count(ctx, p.tx)
		if err != nil {
			return nil, err
		}
		if pop == 0 {
			continue
		}
		lift := (float64(len(members)) / float64(len(when))) / (float64(pop) / float64(total))
		if lift < p.s.CohortLift {
			continue
		}
		linked, link, err := p.healthLinked(members)
		if err != nil {
			return nil, err
		}
		if linked >= p.s.CohortLinked {
			continue // a cluster: one case, tube or venue links most of them
		}
		sort.Slice(members, func(i, j int) bool { return when[members[i]].At.Before(when[members[j]].At) })
		al := healthcode.Alert{Key: fmt.Sprintf("%s/%d", key, latest.Truncate(p.s.CohortWindow).Unix()),
			FirstEffectAt: when[members[p.s.CohortMinPeople-1]].At, People: members}
		inGroup := map[string]bool{}
		for _, s := range members {
			inGroup[s] = true
			al.LogIndexes = append(al.LogIndexes, when[s].Index)
		}
		for _, a := range h.actions {
			if a.At.After(start) && !a.At.After(latest) {
				for _, s := range a.People {
					if inGroup[s] {
						al.Officials = append(al.Officials, a.Officials...)
						al.Units = append(al.Units, a.Units...)
						break
					}
				}
			}
		}
		al.Summary = fmt.Sprintf("%d of the %d people restricted within %s were %s (%.0f× their share of the population); no case, tube or venue links more than %.0f%% of them (%s)",
			len(members), len(when), p.s.CohortWindow, attrs[key].label, lift, 100*linked, link)
		out = append(out, al)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// healthLinked returns the largest share of people that one case, tube or
// venue links (from their evidence), and which.
func (p *pass) healthLinked(people []string) (float64, string, error) {
	counts := map[string]int{}
	for _, s := range people {
		evs, err := p.tx.Evidence(p.ctx, s)
		if err != nil {
			return 0, "", err
		}
		keys := map[string]bool{}
		for _, ev := range evs {
			switch {
			case ev.Kind == healthcode.VenueExposure && ev.Verified:
				keys["venue "+ev.Venue] = true
			case ev.Kind.IsTest() && ev.Result == healthcode.Positive:
				if tube, ok := tubeOf(&ev); ok {
					keys["tube "+tube] = true
				}
			case strings.HasPrefix(ev.CaseRef, healthcode.CaseIDPrefix):
				keys["case "+ev.CaseRef] = true
			}
		}
		for k := range keys {
			counts[k]++
		}
	}
	best, which := 0, "none"
	for k, n := range counts {
		if n > best || (n == best && k < which) {
			best, which = n, k
		}
	}
	return float64(best) / float64(len(people)), which, nil
}

// presence raises alerts on check-ins that do not add up: one live venue
// code's slot scanned by many people long after it was shown (a photo
// passed around), or by more people while it was shown than can be at the
// door (the engine stored them unverified: crowded), and people checked in
// at venues of two prefectures within minutes.
type presence struct {
	venues map[string]*healthcode.Venue
}

func (presence) name() string { return healthcode.DetectPresence }

func (pr *presence) venue(ctx context.Context, tx healthcode.ReadTx, id string) *healthcode.Venue {
	if pr.venues == nil || len(pr.venues) > maxOfficialsCache {
		pr.venues = map[string]*healthcode.Venue{}
	}
	if v, ok := pr.venues[id]; ok {
		return v
	}
	v, err := tx.Venue(ctx, id)
	if err != nil {
		v = nil
	}
	pr.venues[id] = v
	return v
}

func (pr *presence) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	h := p.hist
	var out []healthcode.Alert
	var teleported []string
	var teleportFirst time.Time
	for _, c := range p.checkins {
		if c.Slot >= 0 && !c.Verified {
			shown := healthcode.SlotStart(c.Slot)
			// A live code scanned long after it was shown is a photo; one
			// scanned in time but unverified was crowded: more people
			// scanned its slot than can be at the door (the engine's slot
			// capacity), so it is being passed around as it is shown.
			stale, crowded := c.At.Sub(shown) > p.s.StaleAfter, c.At.Sub(shown) < 2*healthcode.VenueSlot
			if stale || crowded {
				k := fmt.Sprintf("%s/%d", c.Venue, c.Slot)
				sc := h.slots[k]
				if sc == nil {
					sc = &slotScans{people: map[string]time.Time{}, first: c.At}
					h.slots[k] = sc
				}
				if _, ok := sc.people[c.Subject]; !ok {
					sc.people[c.Subject] = c.At
				}
				if len(sc.people) >= p.s.PhotoMinPeople && !h.alertedSlot[k] {
					h.alertedSlot[k] = true
					al := healthcode.Alert{Key: "photo/" + k, FirstEffectAt: c.At}
					var last time.Time
					for s, t := range sc.people {
						al.People = append(al.People, s)
						if t.After(last) {
							last = t
						}
					}
					how := "long after it was shown: a photo of it is being passed around"
					if crowded {
						how = "while it was shown, past the venue's slot capacity: it is being passed around as it is shown"
					}
					al.Summary = fmt.Sprintf("the code venue %s showed at %s was scanned by %d people between %s and %s, %s (these check-ins prove no presence)",
						c.Venue, shown.UTC().Format(time.RFC3339), len(sc.people), sc.first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339), how)
					// A photo long after is of the code the owner showed; a
					// crowd is of a public screen passed around by others:
					// it names the people, not the venue's owner.
					if v := pr.venue(ctx, p.tx, c.Venue); v != nil && v.Owner != "" && !crowded {
						al.Officials = []string{v.Owner}
					}
					out = append(out, al)
				}
			}
		}
		prev, ok := h.lastCheckIn[c.Subject]
		if ok && prev.Venue != c.Venue && c.At.Sub(prev.At) < p.s.TeleportWithin && c.At.Sub(prev.At) >= 0 {
			a, b := pr.venue(ctx, p.tx, prev.Venue), pr.venue(ctx, p.tx, c.Venue)
			if a != nil && b != nil && len(a.Region) >= 4 && len(b.Region) >= 4 && a.Region[:4] != b.Region[:4] {
				teleported = append(teleported, c.Subject)
				if teleportFirst.IsZero() {
					teleportFirst = c.At
				}
			}
		}
		h.lastCheckIn[c.Subject] = c
	}
	if len(teleported) >= p.s.TeleportMinPeople {
		out = append(out, healthcode.Alert{Key: fmt.Sprintf("teleport/%d", teleportFirst.Truncate(p.s.TeleportWithin).Unix()), FirstEffectAt: teleportFirst,
			People: teleported, Summary: fmt.Sprintf("%d people checked in at venues of two different prefectures within %s: their codes are being used by others, or the venue codes shown are not where they claim",
				len(sortedUnique(teleported)), p.s.TeleportWithin)})
	}
	return out, nil
}

// unlinkedDesignation raises an alert for a designation approved although
// none of the cases it cites was at the venue or in the area (a verified
// check-in in its window): the engine refuses that at request, so an alert
// here means the data it checked has changed, or a path around it.
type unlinkedDesignation struct{}

func (unlinkedDesignation) name() string { return healthcode.DetectUnlinkedDesignation }

func (unlinkedDesignation) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	var out []healthcode.Alert
	for _, id := range p.designations {
		d := p.designation(id)
		if d == nil {
			continue
		}
		linked := false
		for _, cid := range d.Cases {
			ev, err := p.tx.EvidenceByID(ctx, cid)
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				continue
			} else if err != nil {
				return nil, err
			}
			cs, err := p.tx.CheckInsOf(ctx, ev.Subject, d.From, d.Until.Add(time.Second))
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if !c.Verified {
					continue
				}
				if d.Venue != "" && c.Venue == d.Venue {
					linked = true
				}
				if d.Area != "" {
					if v, err := p.tx.Venue(ctx, c.Venue); err == nil && healthcode.RegionContains(d.Area, v.Region) {
						linked = true
					}
				}
			}
		}
		if linked {
			continue
		}
		target := d.Venue
		if target == "" {
			target = "area " + d.Area
		}
		al := healthcode.Alert{Key: fmt.Sprintf("designation/%d", id), FirstEffectAt: d.ApprovedAt, Officials: []string{d.Requester.ID},
			Summary: fmt.Sprintf("designation %d of %s (%d exposures) cites cases none of which was there in its window", id, target, d.Exposures)}
		if d.Approver != nil {
			al.Officials = append(al.Officials, d.Approver.ID)
		}
		if d.LogIndex >= 0 {
			al.LogIndexes = []int64{d.LogIndex}
		}
		for _, a := range p.actions {
			if a.Designation == id {
				al.People = append(al.People, a.People...)
				al.LogIndexes = append(al.LogIndexes, a.Index)
			}
		}
		for _, o := range al.Officials {
			al.Units = append(al.Units, p.unitOf(o))
		}
		out = append(out, al)
	}
	return out, nil
}

// reads raises an alert when an official reads far more people's data
// within ReadsWindow than ReadsMinPeople and ReadsFactor times the median
// of the officials who read, or cites one case for more than
// CaseReadsMaxPeople people.
type reads struct{}

func (reads) name() string { return healthcode.DetectReads }

func (reads) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	if len(p.reads) == 0 {
		return nil, nil
	}
	latest := p.reads[len(p.reads)-1].At
	start := latest.Add(-p.s.ReadsWindow)
	per := map[string]map[string]bool{}
	perCase := map[[2]string]map[string]bool{}
	idx := map[string][]int64{}
	units := map[string]string{}
	for _, r := range p.hist.reads {
		if !r.At.After(start) || r.At.After(latest) {
			continue
		}
		if per[r.Official] == nil {
			per[r.Official] = map[string]bool{}
		}
		per[r.Official][r.Subject] = true
		units[r.Official] = r.Unit
		idx[r.Official] = append(idx[r.Official], r.Index)
		if r.Case != "" {
			k := [2]string{r.Official, r.Case}
			if perCase[k] == nil {
				perCase[k] = map[string]bool{}
			}
			perCase[k][r.Subject] = true
		}
	}
	var counts []float64
	for _, m := range per {
		counts = append(counts, float64(len(m)))
	}
	bucket := latest.Truncate(p.s.ReadsWindow).Unix()
	var out []healthcode.Alert
	for o, m := range per {
		med := medianWithout(counts, float64(len(m)))
		limit := max(float64(p.s.ReadsMinPeople), p.s.ReadsFactor*med)
		if float64(len(m)) <= limit {
			continue
		}
		al := healthcode.Alert{Key: fmt.Sprintf("official/%s/%d", o, bucket), FirstEffectAt: latest, Officials: []string{o}, Units: []string{units[o]},
			LogIndexes: idx[o], Summary: fmt.Sprintf("official %s read the data of %d people within %s (bound %.0f: at least %d, %.0f× the median reader's %.0f)",
				o, len(m), p.s.ReadsWindow, limit, p.s.ReadsMinPeople, p.s.ReadsFactor, med)}
		for s := range m {
			al.People = append(al.People, s)
		}
		out = append(out, al)
	}
	for k, m := range perCase {
		if len(m) <= p.s.CaseReadsMaxPeople {
			continue
		}
		al := healthcode.Alert{Key: fmt.Sprintf("case/%s/%s/%d", k[0], k[1], bucket), FirstEffectAt: latest, Officials: []string{k[0]},
			Units: []string{units[k[0]]}, LogIndexes: idx[k[0]],
			Summary: fmt.Sprintf("official %s cited case %s to read the data of %d people within %s (bound %d)", k[0], k[1], len(m), p.s.ReadsWindow, p.s.CaseReadsMaxPeople)}
		for s := range m {
			al.People = append(al.People, s)
		}
		out = append(out, al)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
