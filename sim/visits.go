package sim

import (
	"time"

	"healthcode"
)

// streamVisits is the random stream of the city's check-ins (apart from the
// streams in perm.go, which fix the rest of the city).
const streamVisits uint64 = 0x76697369

// Visit is one check-in of a person of the city at one of n venues.
type Visit struct {
	Person int // index of the person (City.Person)
	Venue  int // index of the venue, 0 ≤ Venue < Visits.Venues
	At     time.Time
	// Live is set for a scan of the venue's live (rotating) code, which
	// proves presence; a scan of a printed code does not.
	Live bool
}

// Visits is the city's check-ins: Total of them at Venues venues over Span
// from From. They come in rounds of one check-in per person (City.Size per
// round, the last round possibly partial), each round in its own window of
// the span, so a person's check-ins never share a live-code slot. Each person
// frequents eight venues around a home venue; one scan in five is of a
// printed code. A check-in is computed from its number alone: any range of
// them can be generated on any core, the same every time.
type Visits struct {
	City   *City
	Venues int
	From   time.Time
	Span   time.Duration
	Total  int64
}

// window is the length of one round's window: the span divided by the
// rounds, whole live-code slots.
func (v Visits) window() time.Duration {
	n := int64(v.City.Size)
	rounds := max(1, (v.Total+n-1)/n)
	w := v.Span / time.Duration(rounds)
	return w - w%healthcode.VenueSlot
}

// At returns check-in k, 0 ≤ k < Total.
func (v Visits) At(k int64) Visit {
	n := int64(v.City.Size)
	round, p := k/n, k%n
	w := v.window()
	start := v.From.Truncate(healthcode.VenueSlot).Add(time.Duration(round) * w)
	h := mix64(v.City.Seed ^ streamVisits ^ mix64(uint64(k)))
	home := mix64(v.City.Seed^streamVisits^uint64(p)) % uint64(v.Venues)
	return Visit{
		Person: int(p),
		Venue:  int((home + (h>>32)%8) % uint64(v.Venues)),
		At:     start.Add(time.Duration(h % uint64(max(w, 1)))),
		Live:   (h>>40)%5 != 0,
	}
}
