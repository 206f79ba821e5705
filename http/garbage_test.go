package http

import (
	"strings"
	"testing"

	"healthcode"
)

// TestGarbageNeverFails5xx sends every route malformed input — a broken
// body, junk path values and query parameters — as every role: the answer
// is never a 5xx, and a refused request changes nothing in the log.
func TestGarbageNeverFails5xx(t *testing.T) {
	f := newFixture(t)
	bodies := []struct{ ct, body string }{
		{"application/json", `{`},
		{"application/json", `{"kind":"nucleic_acid_test","observed_at":"yesterday"}`},
		{"application/json", `[1,2,3]`},
		{"application/json", strings.Repeat(`{"a":`, 1000)},
		{"application/x-www-form-urlencoded", "%zz=%zz&subjects=\x00"},
		{"text/plain", "\xff\xfe"},
	}
	junk := strings.NewReplacer("{$}", "", "{file}", "..%2F..%2Fetc%2Fpasswd", "{index}", "-1", "{id}", "99999999999999999999",
		"{version}", "%00", "{subject}", "%27%20OR%201%3D1", "{path...}", "9/x999/999.p/0")
	for _, rt := range f.srv.routes() {
		for _, role := range append([]healthcode.Role{""}, healthcode.Roles...) {
			for _, b := range bodies {
				path := junk.Replace(rt.Path) + "?from=x&to=y&purpose=%00&case=&size=-5&status=%27&lang=xx"
				before := f.logSize(t)
				a := f.do(t, rt.Method, path, f.tokens[role], b.ct, []byte(b.body))
				if a.status >= 500 {
					t.Errorf("%s %s as %q with %q: %d %s", rt.Method, path, role, b.body[:min(len(b.body), 20)], a.status, a.body)
				}
				if a.status >= 400 && f.logSize(t) != before {
					t.Errorf("%s %s as %q: refused (%d) but the log changed", rt.Method, path, role, a.status)
				}
			}
		}
	}
}
