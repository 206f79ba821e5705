package http

import (
	"strings"
	"testing"

	"healthcode"
)

// TestCitizenPageLinksToOfflineCheck: the citizen page says how to check a
// colour offline, and its download link gives an export that `healthcode
// rules explain` reads (ReadExport).
func TestCitizenPageLinksToOfflineCheck(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[healthcode.RoleCitizen]
	a := browse(t, f, "GET", "/", map[string]string{"Accept-Language": "en"}, f.session(tok), "")
	if a.status != 200 {
		t.Fatalf("citizen page: %d", a.status)
	}
	for _, want := range []string{`<a href="/api/v1/me/export" download>Download my data</a>`, "<code>healthcode rules explain --export FILE</code>"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the citizen page lacks %q", want)
		}
	}
	x := browse(t, f, "GET", "/api/v1/me/export", nil, f.session(tok), "")
	if x.status != 200 {
		t.Fatalf("export with the session: %d %s", x.status, x.body)
	}
	exp, err := ReadExport(strings.NewReader(x.body))
	if err != nil {
		t.Fatalf("ReadExport: %v", err)
	}
	if _, cur, err := exp.Decisions(); err != nil || !cur.Colour.Valid() {
		t.Errorf("the export's code: %+v %v", cur, err)
	}
}
