package healthcode

import (
	"testing"
	"time"
)

func TestParseTokenTTL(t *testing.T) {
	t.Parallel()
	got, err := ParseTokenTTL(" admin=12h, lab=7d ")
	if err != nil || got.For(RoleAdmin) != 12*time.Hour || got.For(RoleLab) != 7*Day || got.For(RoleCitizen) != 365*Day {
		t.Fatalf("ParseTokenTTL = %v, %v", got, err)
	}
	for _, bad := range []string{"admin", "admin=", "admin=0s", "admin=-1h", "admin=6000d", "wizard=1h", "admin=1x", "admin=1.5d", "system=1h"} {
		if _, err := ParseTokenTTL(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseTokenTTL(%q) = %v, want EINVALID", bad, err)
		}
	}
	if back, err := ParseTokenTTL(DefaultTokenTTL().String()); err != nil || back.String() != DefaultTokenTTL().String() {
		t.Errorf("the defaults do not round-trip: %v, %v", back, err)
	}
}

func TestTokenUsable(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		tok    Token
		detail string
	}{
		{"fresh", Token{Expires: t0.Add(time.Second)}, ""},
		{"at expiry", Token{Expires: t0}, "auth.expired_token"},
		{"revoked", Token{Expires: t0.Add(time.Hour), RevokedAt: t0.Add(-time.Minute)}, "auth.revoked_token"},
		{"made before the registry", Token{}, "auth.legacy_token"},
	} {
		if err := tc.tok.Usable(t0); ErrorDetail(err) != tc.detail || (tc.detail != "" && ErrorCode(err) != EUNAUTHORIZED) {
			t.Errorf("%s: Usable = %v, want %q", tc.name, err, tc.detail)
		}
	}
}

// FuzzParseTokenTTL: any setting parses or is refused with EINVALID, and
// what parses is within bounds.
func FuzzParseTokenTTL(f *testing.F) {
	for _, s := range []string{"admin=12h,lab=7d", "", "citizen=365d", "admin=", "=1h", "admin=1h,admin=2h", "lab=9999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ttl, err := ParseTokenTTL(s)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseTokenTTL(%q): %v is not EINVALID", s, err)
			}
			return
		}
		for r, d := range ttl {
			if d <= 0 || d > 5*365*Day {
				t.Fatalf("ParseTokenTTL(%q): %s lives %s", s, r, d)
			}
		}
	})
}
