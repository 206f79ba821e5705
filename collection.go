package healthcode

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxMixedTube is the most people one mixed tube may hold: the 2022 practice
// pooled 10 or 20 samples in one tube (10混1, 20混1).
const MaxMixedTube = 20

// MaxTubeID is the longest tube id (a barcode) in bytes.
const MaxTubeID = 64

// Collection is one sample taken from one person into a tube by a sampling
// site (采样登记). A test result is accepted only for a tube collected this
// way, by a sampler of another unit than the lab's: no lab can make anyone
// red on its own, and a lab never names a person.
type Collection struct {
	ID      int64  // assigned by the store
	Tube    string // the tube's id (its barcode)
	Mixed   bool   // a mixed (pooled) tube of up to MaxMixedTube people
	Subject string // the person's pseudonym
	Site    string // where the sample was taken: the sampling site's name or code
	// Collector is the sampler who took the sample, with their unit.
	Collector     string
	CollectorName string
	CollectorUnit string
	CollectedAt   time.Time
	RecordedAt    time.Time // set by the node
}

// Validate checks a collection's fields and refuses one dated after now.
func (c *Collection) Validate(now time.Time) error {
	if err := ValidateTubeID(c.Tube); err != nil {
		return err
	}
	if c.Subject == "" {
		return Errorfd(EINVALID, "collection.person", "a collection names the person sampled: their health code or ID number")
	}
	if c.Site == "" || len(c.Site) > 128 || !printable(c.Site) {
		return Errorfd(EINVALID, "collection.site", "a collection names its site, at most 128 bytes of printable text")
	}
	if c.CollectedAt.Before(Epoch) {
		return Errorfd(EINVALID, "collection.collected_at", "a collection needs the time the sample was taken, after %s", Epoch.Format("2006-01-02"))
	}
	if c.CollectedAt.After(now.Add(MaxClockSkew)) {
		return Errorfd(EINVALID, "collection.future_time", "the sample is dated %s, in the future", c.CollectedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// ValidateTubeID checks a tube id: 1 to MaxTubeID bytes of printable text.
func ValidateTubeID(id string) error {
	if id == "" || len(id) > MaxTubeID || !printable(id) {
		return Errorfd(EINVALID, "tube.id", "a tube id is 1 to %d bytes of printable text", MaxTubeID)
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// Digest returns a SHA-256 over the canonical content of c: what the log
// commits to when it records the collection.
func (c *Collection) Digest() string {
	h := sha256.New()
	var b [8]byte
	w := func(s string) {
		binary.BigEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	w("collection")
	w(c.Tube)
	w(strconv.FormatBool(c.Mixed))
	w(c.Subject)
	w(c.Site)
	w(c.Collector)
	w(c.CollectorUnit)
	w(c.CollectedAt.UTC().Format(time.RFC3339Nano))
	return hex.EncodeToString(h.Sum(nil))
}

// Tube is a sample tube as the node knows it: who collected into it, how
// many people it holds, and its result once a lab reported one.
type Tube struct {
	ID      string
	Mixed   bool
	Unit    string // the unit of the sampler who opened it
	Members int
	// The result, once reported: who reported it (a principal's ID), the
	// kind of test and the result. Empty while the tube awaits its result.
	ResultBy   string
	ResultKind EvidenceKind
	Result     string
	ResultAt   time.Time
}

// Resulted reports whether the tube has its result.
func (t *Tube) Resulted() bool { return t.Result != "" }

// TubeSamples is a tube with the collections into it (ReadTx.TubesOf).
type TubeSamples struct {
	Tube    Tube
	Members []Collection // in the order they were recorded
}

// CollectionRequest is one collection as a sampler sends it: the person by
// their scanned health code (verified with the node's keys) or by ID number.
type CollectionRequest struct {
	Line        int // position in a batch, for reports
	Code        string
	IDNumber    string
	Tube        string
	Mixed       bool
	Site        string
	CollectedAt time.Time
}

// CollectionOutcome says what became of one collection request.
type CollectionOutcome struct {
	Line         int
	Status       string // Accepted, Duplicate or Rejected
	CollectionID int64
	Err          error
}

// CodeVerifier verifies a health QR with the node's own keys.
type CodeVerifier interface {
	// VerifyCode returns what the code says; EINVALID if it does not verify
	// or is expired.
	VerifyCode(text string, now time.Time) (*HealthCode, error)
}

// CollectionService records sample collections.
type CollectionService interface {
	// Collect records a batch of collections by actor in one transaction;
	// see engine.Engine.Collect. Returns EFORBIDDEN unless actor is a
	// sampler.
	Collect(ctx context.Context, actor *Principal, items []CollectionRequest) ([]CollectionOutcome, error)
}
