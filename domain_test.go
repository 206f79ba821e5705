package healthcode_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"healthcode"
)

var t0 = time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)

func testVenue() *healthcode.Venue {
	return &healthcode.Venue{ID: "vtest", Name: "便利店", Address: "中原路1号", Region: "410102", Category: "retail",
		Secret: bytes.Repeat([]byte{7}, 32), Status: healthcode.VenueActive}
}

func TestVenueCodes(t *testing.T) {
	t.Parallel()
	v := testVenue()
	other := testVenue()
	other.Secret = bytes.Repeat([]byte{8}, 32)
	tests := []struct {
		name   string
		code   string
		at     time.Time
		want   healthcode.Presence
		reason string
	}{
		{"live, same slot", v.LiveCode(t0), t0, healthcode.PresenceVerified, ""},
		{"live, previous slot", v.LiveCode(t0), t0.Add(healthcode.VenueSlot), healthcode.PresenceVerified, ""},
		{"live, next slot (clock skew)", v.LiveCode(t0.Add(healthcode.VenueSlot)), t0, healthcode.PresenceVerified, ""},
		{"stale: a forwarded photo", v.LiveCode(t0), t0.Add(5 * time.Minute), healthcode.PresenceUnverified, ""},
		{"printed", v.StaticCode(), t0, healthcode.PresenceUnverified, ""},
		{"from the future", v.LiveCode(t0.Add(time.Hour)), t0, 0, "venue.code_future"},
		{"forged with another secret", other.LiveCode(t0), t0, 0, "venue.bad_mac"},
		{"printed, forged", other.StaticCode(), t0, 0, "venue.bad_mac"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := healthcode.ParseVenueCode(tt.code)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Check(v, tt.at)
			if healthcode.ErrorDetail(err) != tt.reason || (err == nil && got != tt.want) {
				t.Fatalf("Check = %v, %v; want %v, %q", got, err, tt.want, tt.reason)
			}
		})
	}
	for _, bad := range []string{"", "HCV1:", "HCV1:vtest", "HCV1:vtest.1", "HCV1:vtest.x.aaaaaaaaaaaaaaaa", "HCV1:vtest.-1.aaaaaaaaaaaaaaaa",
		"HCV1:.1.aaaaaaaaaaaaaaaa", "HCV1:vtest.1.short", "HCN1:vtest.1.aaaaaaaaaaaaaaaa", "HCV1:a.b.c.d"} {
		if _, err := healthcode.ParseVenueCode(bad); healthcode.ErrorDetail(err) != "venue.code_malformed" {
			t.Errorf("ParseVenueCode(%q) = %v, want venue.code_malformed", bad, err)
		}
	}
}

func FuzzParseVenueCode(f *testing.F) {
	v := testVenue()
	f.Add(v.LiveCode(t0))
	f.Add(v.StaticCode())
	f.Add("HCV1:vtest.1.aaaaaaaaaaaaaaaa")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := healthcode.ParseVenueCode(s)
		if err != nil {
			if healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		p, err := c.Check(v, t0)
		if err == nil && p == healthcode.PresenceVerified && s != v.LiveCode(t0) &&
			s != v.LiveCode(t0.Add(-healthcode.VenueSlot)) && s != v.LiveCode(t0.Add(healthcode.VenueSlot)) {
			t.Fatalf("%q verified presence without being one of the venue's live codes", s)
		}
	})
}

func TestRegionContains(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"410000", "410102", true}, {"410100", "410102", true}, {"410102", "410102", true},
		{"410100", "410202", false}, {"410102", "410103", false}, {"420000", "410102", false}, {"41", "410102", false},
	} {
		if got := healthcode.RegionContains(tt.a, tt.b); got != tt.want {
			t.Errorf("RegionContains(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestMaskName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"张三": "张*", "张小明": "张*明", "欧阳小明": "欧**明", "王": "*", "": ""} {
		if got := healthcode.MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateRegionAndIDNumber(t *testing.T) {
	t.Parallel()
	for code, ok := range map[string]bool{"410100": true, "110000": true, "4101": false, "41010a": false, "990000": false, "100000": false} {
		if err := healthcode.ValidateRegion(code); (err == nil) != ok {
			t.Errorf("ValidateRegion(%q) = %v", code, err)
		}
	}
	if !healthcode.ValidIDNumber("11010519491231002X") || healthcode.ValidIDNumber("110105194912310021") {
		t.Error("ID number check digit not checked")
	}
}

func TestPersonSealing(t *testing.T) {
	t.Parallel()
	k := &healthcode.Keys{Pseudonym: bytes.Repeat([]byte{1}, 32), IDLookup: bytes.Repeat([]byte{2}, 32), Wrap: bytes.Repeat([]byte{3}, 32)}
	p, err := k.NewPerson("410100", healthcode.PersonalData{Name: "张小明", IDNumber: "11010519491231002x", Phone: "13800000000"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pseudonym != k.Pseudonymize("410100", "11010519491231002X") {
		t.Error("the pseudonym depends on the case of the check character")
	}
	if bytes.Contains(p.Sealed, []byte("张小明")) || bytes.Contains(p.WrappedKey, p.DataKey) {
		t.Error("sealed data or wrapped key holds clear text")
	}
	dk, err := k.UnwrapKey(p.WrappedKey, p.Pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	q := &healthcode.Person{Pseudonym: p.Pseudonym, Sealed: p.Sealed, DataKey: dk}
	if err := q.Unseal(); err != nil || q.Personal.Name != "张小明" {
		t.Fatalf("Unseal = %v, %+v", err, q.Personal)
	}
	// Moved to another person's row, sealed data does not open.
	q.Pseudonym = "pother"
	if err := q.Unseal(); err == nil {
		t.Error("sealed data opened under another pseudonym")
	}
	if _, err := k.NewPerson("410100", healthcode.PersonalData{Name: " ", IDNumber: "1"}, t0); healthcode.ErrorDetail(err) != "person.name" {
		t.Errorf("a person without a name: %v", err)
	}
}

func TestOverrideValidate(t *testing.T) {
	t.Parallel()
	good := healthcode.Override{Subjects: []string{"p1"}, Colour: healthcode.Red, Reason: "lab_result_delayed", Basis: []int64{1}, Expires: t0.Add(24 * time.Hour)}
	if err := good.Validate(t0); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		mod    func(*healthcode.Override)
		detail string
	}{
		"free text": {func(o *healthcode.Override) { o.Reason = "political" }, "override.reason"},
		"no basis":  {func(o *healthcode.Override) { o.Basis = nil }, "override.no_case"},
		"no one":    {func(o *healthcode.Override) { o.Subjects = nil }, "override.subjects"},
		"for ever":  {func(o *healthcode.Override) { o.Expires = t0.Add(15 * 24 * time.Hour) }, "override.expiry"},
		"no colour": {func(o *healthcode.Override) { o.Colour = 0 }, "override.colour"},
		"judgement": {func(o *healthcode.Override) { o.Reason = "epidemiologist_judgement" }, "override.no_case"},
		"long note": {func(o *healthcode.Override) { o.Note = strings.Repeat("x", 3000) }, "override.note"},
	} {
		o := good
		tc.mod(&o)
		if err := o.Validate(t0); healthcode.ErrorDetail(err) != tc.detail {
			t.Errorf("%s: %v, want %s", name, err, tc.detail)
		}
	}
	green := good
	green.Colour, green.Basis = healthcode.Green, nil
	if err := green.Validate(t0); err != nil {
		t.Errorf("a correction toward green needs no basis: %v", err)
	}
}

// TestEveryRoleHasATokenLifetime: a role added to the list without a
// default lifetime would get tokens that expire as they are issued.
func TestEveryRoleHasATokenLifetime(t *testing.T) {
	for _, r := range healthcode.Roles {
		if d := healthcode.DefaultTokenTTL().For(r); d <= 0 {
			t.Errorf("role %s: default token lifetime %v", r, d)
		}
	}
}
