package healthcode_test

import (
	"testing"
	"time"

	"healthcode"
)

func TestCheckInCursor(t *testing.T) {
	t.Parallel()
	c := healthcode.CheckInCursor{At: t0.Add(1234 * time.Nanosecond), ID: 42}
	got, err := healthcode.ParseCheckInCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, c)
	}
	if got, err := healthcode.ParseCheckInCursor(""); err != nil || !got.IsZero() {
		t.Fatalf("empty cursor: %+v, %v", got, err)
	}
	for _, bad := range []string{".", "1.", ".1", "1.0", "1.-3", "x.1", "1.1.1", "99999999999999999999.1", "1 .1"} {
		if _, err := healthcode.ParseCheckInCursor(bad); healthcode.ErrorDetail(err) != "trace.cursor" {
			t.Errorf("cursor %q: %v, want trace.cursor", bad, err)
		}
	}
}

// FuzzParseCheckInCursor: a cursor comes from a client; whatever it sends
// either is refused or round-trips.
func FuzzParseCheckInCursor(f *testing.F) {
	f.Add("1655193600000000000.17")
	f.Add("")
	f.Add("-1.1")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := healthcode.ParseCheckInCursor(s)
		if err != nil {
			if healthcode.ErrorDetail(err) != "trace.cursor" {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		back, err := healthcode.ParseCheckInCursor(c.String())
		if err != nil || back != c {
			t.Fatalf("%q parses to %+v, which does not round-trip: %+v %v", s, c, back, err)
		}
	})
}
