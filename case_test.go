package healthcode_test

import (
	"strings"
	"testing"

	"healthcode"
)

func TestLinkValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind   healthcode.EvidenceKind
		link   healthcode.Link
		detail string
	}{
		{healthcode.CloseContact, healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: "vabc"}, ""},
		{healthcode.CloseContact, healthcode.Link{Kind: healthcode.LinkInterview}, ""},
		{healthcode.SecondaryContact, healthcode.Link{Kind: healthcode.LinkInterview, Via: "pabc"}, ""},
		{healthcode.Travel, healthcode.Link{Kind: healthcode.LinkCheckIn}, ""},
		{healthcode.QuarantineStart, healthcode.Link{Kind: healthcode.LinkRecord}, ""},
		{healthcode.NucleicAcidTest, healthcode.Link{}, ""},
		{healthcode.CloseContact, healthcode.Link{}, "link.none"},
		{healthcode.Travel, healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: "v"}, "link.kind"},
		{healthcode.CloseContact, healthcode.Link{Kind: healthcode.LinkSharedVenue}, "link.venue"},
		{healthcode.CloseContact, healthcode.Link{Kind: healthcode.LinkInterview, Venue: "v"}, "link.venue"},
		{healthcode.SecondaryContact, healthcode.Link{Kind: healthcode.LinkInterview}, "link.via"},
		{healthcode.CloseContact, healthcode.Link{Kind: healthcode.LinkInterview, Via: "p"}, "link.via"},
		{healthcode.QuarantineEnd, healthcode.Link{Kind: healthcode.LinkInterview}, "link.not_applicable"},
	} {
		err := c.link.Validate(c.kind)
		if healthcode.ErrorDetail(err) != c.detail || (c.detail != "" && healthcode.ErrorCode(err) != healthcode.EINVALID) {
			t.Errorf("%s %+v: %v, want %q", c.kind, c.link, err, c.detail)
		}
	}
}

// FuzzCaseReference feeds a reference and a link, as officials send them,
// to the checks of their form: never a panic, only EINVALID, and an
// accepted case id is the prefix and upper-case letters and digits.
func FuzzCaseReference(f *testing.F) {
	f.Add("C-7K2QABCDEF", "interview", "", "")
	f.Add("410100-C001", "shared_venue", "vabc", "")
	f.Add("none", "", "", "p")
	f.Add("C-", "checkin", "", "")
	f.Fuzz(func(t *testing.T, ref, kind, venue, via string) {
		if err := healthcode.ValidCaseID(ref); err == nil {
			rest := strings.TrimPrefix(ref, healthcode.CaseIDPrefix)
			if !strings.HasPrefix(ref, healthcode.CaseIDPrefix) || strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" || len(rest) < 4 {
				t.Fatalf("accepted %q", ref)
			}
		} else if healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Fatalf("error %v is not EINVALID", err)
		}
		l := healthcode.Link{Kind: kind, Venue: venue, Via: via}
		for _, k := range healthcode.EvidenceKinds {
			if err := l.Validate(k); err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
		}
	})
}
