package healthcode

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

// Venue is a place that shows a venue code (场所码): a shop, a station, a
// hospital. Its secret makes its live codes unforgeable.
type Venue struct {
	ID       string // public id, e.g. "v3kq7…"
	Name     string
	Address  string
	Region   string // GB/T 2260 code of the district it is in
	Category string
	Owner    string // the principal ID of whoever registered it
	Secret   []byte // 32 bytes, for the MAC of its codes; never stored in clear
	// PreviousSecret, until PreviousUntil, is the secret before the last
	// rotation: codes made with it (a printed poster) are still accepted.
	PreviousSecret []byte
	PreviousUntil  time.Time
	// SealedSecret is what the store keeps: the secrets sealed under the
	// region's wrapping key (Keys.SealVenue, Keys.OpenVenue).
	SealedSecret []byte
	Status       string // VenuePending, VenueActive or VenueSuspended
	// RegisteredAt and ApprovedAt/ApprovedBy record who let it show codes.
	RegisteredAt time.Time
	ApprovedAt   time.Time
	ApprovedBy   string
}

// Venue statuses.
const (
	VenuePending   = "pending"
	VenueActive    = "active"
	VenueSuspended = "suspended"
)

// Venue categories (a closed list, as the registration forms had).
var VenueCategories = []string{"retail", "restaurant", "transport", "hospital", "school", "office", "residential", "venue", "other"}

// Validate checks a venue's registration fields.
func (v *Venue) Validate() error {
	if strings.TrimSpace(v.Name) == "" || len(v.Name) > 200 {
		return Errorfd(EINVALID, "venue.name", "a venue needs a name of at most 200 bytes")
	}
	if strings.TrimSpace(v.Address) == "" || len(v.Address) > 400 {
		return Errorfd(EINVALID, "venue.address", "a venue needs an address of at most 400 bytes")
	}
	if err := ValidateRegion(v.Region); err != nil {
		return err
	}
	for _, c := range VenueCategories {
		if c == v.Category {
			return nil
		}
	}
	return Errorfd(EINVALID, "venue.category", "unknown venue category %q (want one of %s)", v.Category, strings.Join(VenueCategories, ", "))
}

// VenueSecretSize is the size of a venue's secret.
const VenueSecretSize = 32

// SealVenue sets v.SealedSecret: v's secret (and its previous one, with the
// time it lapses) sealed with AES-256-GCM under the region's wrapping key,
// bound to the venue's id, as person data keys are.
func (k *Keys) SealVenue(v *Venue) error {
	if len(v.Secret) != VenueSecretSize || (v.PreviousSecret != nil && len(v.PreviousSecret) != VenueSecretSize) {
		return Errorf(EINTERNAL, "venue %s: a secret is not %d bytes", v.ID, VenueSecretSize)
	}
	var until int64
	if v.PreviousSecret != nil {
		until = v.PreviousUntil.UnixNano()
	}
	plain := append([]byte{1}, v.Secret...)
	plain = binary.BigEndian.AppendUint64(plain, uint64(until))
	plain = append(plain, v.PreviousSecret...)
	sealed, err := Seal(k.Wrap, plain, []byte("venue-secret:"+v.ID))
	if err != nil {
		return err
	}
	v.SealedSecret = sealed
	return nil
}

// OpenVenue sets v.Secret (and PreviousSecret, PreviousUntil) from
// v.SealedSecret. A SealedSecret of exactly VenueSecretSize bytes is a
// secret an older node stored in clear: it is taken as it is (SealedInClear
// tells, so that the caller seals it).
func (k *Keys) OpenVenue(v *Venue) error {
	if v.SealedInClear() {
		v.Secret, v.PreviousSecret, v.PreviousUntil = v.SealedSecret, nil, time.Time{}
		return nil
	}
	plain, err := Open(k.Wrap, v.SealedSecret, []byte("venue-secret:"+v.ID))
	if err != nil || len(plain) < 1+VenueSecretSize+8 || plain[0] != 1 {
		return Errorf(EINTERNAL, "venue %s: its sealed secret does not open under this region's key", v.ID)
	}
	v.Secret = plain[1 : 1+VenueSecretSize]
	v.PreviousSecret, v.PreviousUntil = nil, time.Time{}
	if prev := plain[1+VenueSecretSize+8:]; len(prev) == VenueSecretSize {
		v.PreviousSecret = prev
		v.PreviousUntil = time.Unix(0, int64(binary.BigEndian.Uint64(plain[1+VenueSecretSize:]))).UTC()
	}
	return nil
}

// SealedInClear reports whether the stored secret is an older node's clear
// one.
func (v *Venue) SealedInClear() bool { return len(v.SealedSecret) == VenueSecretSize }

// VenueSlot is how long a live venue code lasts before the next one.
const VenueSlot = 30 * time.Second

// SlotValidity is when a check-in with the live code of slot can be made:
// from the start of the slot before it (one slot of clock skew) to the end
// of the slot after it (a code of the previous slot is still good).
func SlotValidity(slot int64) (from, to time.Time) {
	start := SlotStart(slot)
	return start.Add(-VenueSlot), start.Add(2 * VenueSlot)
}

// SlotStart is when the live code of slot was first shown.
func SlotStart(slot int64) time.Time { return time.Unix(slot*int64(VenueSlot/time.Second), 0).UTC() }

// DefaultSlotCapacity is how many people one venue's live code of one slot
// can prove present, unless the node is set otherwise. A live code is
// shown on a screen at the door for 30 seconds; more people scanning it
// than can pass a door in that time means it is being passed around (a
// photo or a stream of the screen sent to people elsewhere). Past the
// capacity none of that slot's check-ins prove presence, the ones before
// the crowd included, since nothing tells the people at the door from the
// others; they are kept, unverified, and oversight is told. A venue with
// more arrivals than that (a station, a stadium) shows a code per
// entrance.
const DefaultSlotCapacity = 60

// VenueCodePrefix starts every venue code.
const VenueCodePrefix = "HCV1:"

// staticSlot marks a printed code, valid at any time but proving nothing.
const staticSlot = "S"

var macEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func venueMAC(secret []byte, id, slot string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(slot))
	return strings.ToLower(macEncoding.EncodeToString(m.Sum(nil)[:10]))
}

// SlotOf returns the live-code slot of time t.
func SlotOf(t time.Time) int64 { return t.Unix() / int64(VenueSlot/time.Second) }

// LiveCode returns the venue's live code for the slot of t:
// "HCV1:<id>.<slot>.<mac>".
func (v *Venue) LiveCode(t time.Time) string {
	slot := strconv.FormatInt(SlotOf(t), 10)
	return VenueCodePrefix + v.ID + "." + slot + "." + venueMAC(v.Secret, v.ID, slot)
}

// StaticCode returns the venue's printed code: "HCV1:<id>.S.<mac>".
func (v *Venue) StaticCode() string {
	return VenueCodePrefix + v.ID + "." + staticSlot + "." + venueMAC(v.Secret, v.ID, staticSlot)
}

// VenueCode is a parsed venue code, not yet checked against its venue.
type VenueCode struct {
	Venue  string
	Static bool
	Slot   int64
	mac    string
	slot   string
}

// ParseVenueCode parses the text of a venue code. Returns EINVALID with
// detail "venue.code_malformed".
func ParseVenueCode(text string) (*VenueCode, error) {
	bad := Errorfd(EINVALID, "venue.code_malformed", "not a venue code")
	body, ok := strings.CutPrefix(strings.TrimSpace(text), VenueCodePrefix)
	if !ok || len(body) > 200 {
		return nil, bad
	}
	parts := strings.Split(body, ".")
	if len(parts) != 3 || parts[0] == "" || len(parts[2]) != 16 {
		return nil, bad
	}
	c := &VenueCode{Venue: parts[0], mac: parts[2], slot: parts[1]}
	if parts[1] == staticSlot {
		c.Static = true
	} else {
		n, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || n < 0 {
			return nil, bad
		}
		c.Slot = n
	}
	return c, nil
}

// Presence says what a check-in with a venue code proves.
type Presence int

const (
	// PresenceUnverified: a printed code, or a live code past its slot (a
	// photo someone forwarded). Recorded; never raises a colour by itself.
	PresenceUnverified Presence = iota
	// PresenceVerified: a live code of the current or the previous slot.
	PresenceVerified
)

// Check verifies the code's MAC with the venue's secret and says what a
// check-in with it at now proves. Returns EINVALID "venue.bad_mac" for a
// forged code and "venue.code_future" for a live code from a slot after
// now's (allowing one slot of clock skew).
func (c *VenueCode) Check(v *Venue, now time.Time) (Presence, error) {
	good := v.ID == c.Venue && len(v.Secret) == VenueSecretSize && hmac.Equal([]byte(venueMAC(v.Secret, v.ID, c.slot)), []byte(c.mac))
	if !good && v.ID == c.Venue && len(v.PreviousSecret) == VenueSecretSize && now.Before(v.PreviousUntil) {
		good = hmac.Equal([]byte(venueMAC(v.PreviousSecret, v.ID, c.slot)), []byte(c.mac))
	}
	if !good {
		return 0, Errorfd(EINVALID, "venue.bad_mac", "the venue code is forged or damaged")
	}
	if c.Static {
		return PresenceUnverified, nil
	}
	cur := SlotOf(now)
	switch {
	case c.Slot > cur+1:
		return 0, Errorfd(EINVALID, "venue.code_future", "the venue code is from the future")
	case c.Slot >= cur-1:
		return PresenceVerified, nil
	}
	return PresenceUnverified, nil
}

// CheckIn is a citizen's presence at a venue. Check-ins are not logged one
// by one; a decision that rests on them logs their digest.
type CheckIn struct {
	ID       int64
	Venue    string
	Subject  string
	At       time.Time
	Slot     int64 // the code's slot; -1 for a printed code
	Verified bool
	// Repeat is set (never stored) when a check-in was answered with this
	// earlier one instead of adding a row (see CheckInPolicy.RepeatWindow).
	Repeat bool
	// Crowded is set (never stored) when a live code was scanned within its
	// slot but the slot was scanned by more people than can be present
	// (DefaultSlotCapacity): the check-in is stored unverified.
	Crowded bool
}

// CheckInPolicy bounds what one person's check-ins can add to the store, so
// that no one can bury a venue's real visitors under rows of their own.
type CheckInPolicy struct {
	// RepeatWindow: an unverified check-in (a printed code, a stale live
	// code) by someone who checked in at the same venue within this window
	// adds no row; it is answered with the earlier check-in.
	RepeatWindow time.Duration
	// PerHour and Burst: how many check-ins one person may make in an hour,
	// and at once. Above them the check-in is refused (ETOOMANY) with the
	// time to wait.
	PerHour float64
	Burst   int
}

// DefaultCheckInPolicy: one unverified check-in per venue per half hour; 60
// check-ins an hour, 20 at once (a day of errands, a bus route).
var DefaultCheckInPolicy = CheckInPolicy{RepeatWindow: 30 * time.Minute, PerHour: 60, Burst: 20}

// Validate checks a policy's settings.
func (p CheckInPolicy) Validate() error {
	if p.RepeatWindow < 0 || p.RepeatWindow > 24*time.Hour {
		return Errorfd(EINVALID, "checkin.policy", "the repeat window must be between 0 and 24h, not %s", p.RepeatWindow)
	}
	if p.PerHour <= 0 || p.PerHour > 3600 || p.Burst < 1 || p.Burst > 1000 {
		return Errorfd(EINVALID, "checkin.policy", "check-ins per hour must be in (0, 3600] and the burst in [1, 1000]")
	}
	return nil
}

// CheckInQuery selects check-ins with From <= At < To: at one venue, of some
// people, or both.
type CheckInQuery struct {
	Venue    string
	Subjects []string
	From, To time.Time
}

// CheckInCursor is where a page of check-ins ends: the next page starts
// after the check-in at At with ID (pages are ordered by At, then ID). The
// zero cursor starts at the beginning.
type CheckInCursor struct {
	At time.Time
	ID int64
}

// IsZero reports whether the cursor is the beginning.
func (c CheckInCursor) IsZero() bool { return c.ID == 0 && c.At.IsZero() }

// String encodes the cursor for a client: "<unix nanos>.<id>".
func (c CheckInCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.At.UnixNano(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseCheckInCursor parses what String returned ("" is the beginning).
// Returns EINVALID "trace.cursor" for anything else.
func ParseCheckInCursor(s string) (CheckInCursor, error) {
	if s == "" {
		return CheckInCursor{}, nil
	}
	bad := Errorfd(EINVALID, "trace.cursor", "malformed page cursor (pass back the \"next\" of the previous page)")
	at, id, ok := strings.Cut(s, ".")
	if !ok || len(s) > 48 {
		return CheckInCursor{}, bad
	}
	n, err1 := strconv.ParseInt(at, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || i <= 0 {
		return CheckInCursor{}, bad
	}
	return CheckInCursor{At: time.Unix(0, n).UTC(), ID: i}, nil
}

// TracePage is one page of a tracing answer. Total is how many check-ins
// (People: how many people) the whole query matches; Next, if not zero, is
// where the next page starts. A tracing answer is never cut silently: a
// client pages until Next is zero.
type TracePage struct {
	Presence []CheckIn
	Total    int64
	People   int64
	Next     CheckInCursor
}

// Tracing page sizes.
const (
	DefaultTracePage = 1000
	MaxTracePage     = 10_000
)

// RiskDesignation declares a venue or an area (GB/T 2260) a risk for a time
// window. It needs a closed-list reason, a link to a confirmed case or a
// positive lab result, a requester and a different approver, and an expiry
// (invariant 3).
type RiskDesignation struct {
	ID     int64
	Venue  string // a venue's public id, or
	Area   string // a GB/T 2260 code (every venue within it)
	Level  string // RiskHigh or RiskMedium
	Reason string // one of DesignationReasons
	// Cases are the evidence ids of the confirmed diagnoses or positive lab
	// results it rests on.
	Cases      []int64
	From       time.Time // the window of presence that counts
	Until      time.Time
	Expires    time.Time // when the designation itself lapses
	Status     string    // DesignationPending, DesignationApproved or DesignationRefused
	Requester  Principal
	Approver   *Principal
	CreatedAt  time.Time
	ApprovedAt time.Time
	LogIndex   int64
	// CoSigner is the auditor who co-signed it: needed before approval when
	// it would create more exposures than the node's bound.
	CoSigner   *Principal
	CoSignedAt time.Time
	// Exposures is how many venue exposures its approval created (-1 until
	// approved).
	Exposures int64
}

// DefaultDesignationCoSignAbove is how many exposures a designation may
// create before an auditor must co-sign it.
const DefaultDesignationCoSignAbove = 500

// Designation statuses.
const (
	DesignationPending  = "pending"
	DesignationApproved = "approved"
	DesignationRefused  = "refused"
)

// DesignationReasons is the closed list of epidemiological reasons for a
// risk designation.
var DesignationReasons = []string{"case_visited", "cluster", "environmental_positive", "community_transmission"}

// MaxDesignationWindow bounds a designation's window and life.
const MaxDesignationWindow = 14 * 24 * time.Hour

// Validate checks a designation request at now.
func (d *RiskDesignation) Validate(now time.Time) error {
	if (d.Venue == "") == (d.Area == "") {
		return Errorfd(EINVALID, "designation.target", "designate either a venue or an area")
	}
	if d.Area != "" {
		if err := ValidateRegion(d.Area); err != nil {
			return err
		}
	}
	if d.Level != RiskHigh && d.Level != RiskMedium {
		return Errorfd(EINVALID, "designation.level", "risk level must be high or medium, not %q", d.Level)
	}
	known := false
	for _, r := range DesignationReasons {
		known = known || r == d.Reason
	}
	if !known {
		return Errorfd(EINVALID, "designation.reason", "unknown reason %q (want one of %s)", d.Reason, strings.Join(DesignationReasons, ", "))
	}
	if len(d.Cases) == 0 {
		return Errorfd(EINVALID, "designation.no_case", "a risk designation must cite at least one confirmed case or positive lab result")
	}
	if len(d.Cases) > 50 {
		return Errorfd(EINVALID, "designation.cases", "cite at most 50 cases")
	}
	if d.From.Before(Epoch) || !d.Until.After(d.From) {
		return Errorfd(EINVALID, "designation.window", "the window must end after it starts")
	}
	if d.Until.Sub(d.From) > MaxDesignationWindow {
		return Errorfd(EINVALID, "designation.window", "the window may last at most 14 days")
	}
	if d.From.After(now.Add(MaxClockSkew)) {
		return Errorfd(EINVALID, "designation.window", "the window starts in the future")
	}
	if d.Expires.IsZero() || !d.Expires.After(now) || d.Expires.Sub(now) > MaxDesignationWindow {
		return Errorfd(EINVALID, "designation.expiry", "a designation needs an expiry within 14 days")
	}
	return nil
}

// Covers reports whether the designation concerns a venue in region: its
// own venue, or an area containing the venue's district.
func (d *RiskDesignation) Covers(venueID, region string) bool {
	if d.Venue != "" {
		return d.Venue == venueID
	}
	return RegionContains(d.Area, region)
}

// RegionContains reports whether GB/T 2260 division a contains division b: a
// province (xx0000) its cities and districts, a city (xxxx00) its districts,
// a district only itself.
func RegionContains(a, b string) bool {
	switch {
	case len(a) != 6 || len(b) != 6:
		return false
	case strings.HasSuffix(a, "0000"):
		return a[:2] == b[:2]
	case strings.HasSuffix(a, "00"):
		return a[:4] == b[:4]
	}
	return a == b
}

// AccessRecord is one read of personal data by an official: who, when,
// what, for which purpose and case (invariant 7).
type AccessRecord struct {
	ID      int64
	Time    time.Time
	Actor   Principal
	Purpose string
	CaseRef string
	What    string // e.g. "trace venue v… 2022-06-01T08:00Z–10:00Z"
	Subject string // the person whose data was read, if one
}

// AccessPurposes is the closed list of purposes for reading personal data.
var AccessPurposes = []string{"contact_tracing", "case_investigation", "appeal_review", "data_correction", "oversight"}

// ValidPurpose checks a purpose and case reference.
func ValidPurpose(purpose, caseRef string) error {
	for _, p := range AccessPurposes {
		if p == purpose {
			return ValidLine("access.case", caseRef, 128)
		}
	}
	return Errorfd(EINVALID, "access.purpose", "unknown purpose %q (want one of %s)", purpose, strings.Join(AccessPurposes, ", "))
}
