package http

import (
	"net/url"
	"strings"
	"testing"

	"healthcode"
)

// FuzzLogQuery: the log browser's query string is untrusted. Whatever it
// is, parseLogQuery returns a query the engine can run or an EINVALID, and
// never panics.
func FuzzLogQuery(f *testing.F) {
	for _, s := range []string{"", "type=override&official=o1&unit=u2", "from=2026-11-20T08:00&until=2026-11-21T08:00", "before=12",
		"before=-1", "type=bogus", "official=a%20b", "from=2026-13-40T99:99", "before=99999999999999999999", "type=review&before=1&from=&until="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, lb, err := parseLogQuery(v)
		if err != nil {
			if healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("%q: %v is not EINVALID", raw, err)
			}
			return
		}
		if lb == nil || q.Before < 0 || (q.Type != "" && !q.Type.Known()) || strings.ContainsAny(q.Official+q.Unit, " []") ||
			len(q.Official) > 128 || len(q.Unit) > 128 || q.Limit <= 0 || q.Limit > healthcode.MaxLogBrowse {
			t.Fatalf("%q gave a query the engine should not get: %+v", raw, q)
		}
	})
}
